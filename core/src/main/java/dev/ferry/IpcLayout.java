package dev.ferry;

import org.agrona.BitUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;

/**
 * The versioned layout of a Ferry mapping, as docs/ipc-layout.md describes it: a header, a client table, a
 * server table, then the rings. Every offset is computed here from the header's capacities, and every capacity read
 * from a mapping is checked by {@link #read(UnsafeBuffer, long)} before anything is trusted.
 *
 * <p>Immutable; safe to share between threads.
 */
final class IpcLayout
{
    /** "FERRYIPC" in little-endian ASCII. */
    static final long MAGIC = 0x4350_4959_5252_4546L;
    static final int VERSION = 4;
    static final String FILE_NAME = "ferry.ipc";

    static final int PAGE = 4096;
    static final int CACHE_LINE = 64;
    static final int TRAILER = LaneDescriptor.TRAILER_LENGTH;
    static final int RECORD_HEADER = LaneDescriptor.RECORD_HEADER;

    // Header fields.
    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = 8;
    static final int MODE_OFFSET = 12;
    static final int MAX_CLIENTS_OFFSET = 16;
    static final int MAX_SERVICES_OFFSET = 20;
    static final int SLOT_BYTES_OFFSET = 24;
    static final int MAX_IN_FLIGHT_OFFSET = 28;
    static final int SQ_BYTES_OFFSET = 32;
    static final int CQ_BYTES_OFFSET = 36;
    static final int LANE_BYTES_OFFSET = 40;
    static final int FILE_LENGTH_OFFSET = 48;
    static final int KERNEL_PID_OFFSET = 56;
    static final int HEARTBEAT_INTERVAL_OFFSET = 64;
    static final int CLIENT_TIMEOUT_OFFSET = 72;
    static final int SERVER_TIMEOUT_OFFSET = 80;
    static final int KERNEL_TIMEOUT_OFFSET = 88;
    static final int KERNEL_STATE_OFFSET = 128;
    static final int KERNEL_HEARTBEAT_OFFSET = 136;
    static final int ATTACH_COUNT_OFFSET = 192;
    static final int HEADER_BYTES = PAGE;

    static final int MODE_DIRECT = 1;
    static final int MODE_MOVER = 2;

    static final int KERNEL_STARTING = 0;
    static final int KERNEL_RUNNING = 1;
    static final int KERNEL_CLOSING = 2;
    static final int KERNEL_CLOSED = 3;

    // Client and server table entries: two cache lines each.
    static final int ENTRY_BYTES = 128;
    static final int ENTRY_STATE_OFFSET = 0;
    static final int ENTRY_GENERATION_OFFSET = 4;
    static final int ENTRY_PID_OFFSET = 8;
    static final int ENTRY_HEARTBEAT_OFFSET = 16;
    static final int ENTRY_PASS_OFFSET = 64;
    static final int ENTRY_CORRUPT_EPOCH_OFFSET = 72;
    static final int ENTRY_CORRUPT_RECORDS_OFFSET = 80;

    static final int FREE = 0;
    static final int ATTACHING = 1;
    static final int ATTACHED = 2;
    static final int DETACHED = 3;
    static final int QUARANTINED = 4;

    // Records.
    static final int REQUEST_TYPE = 1;
    static final int REPLY_TYPE = 2;
    static final int MSG_HEADER = 24;
    static final int CALL_ID_OFFSET = 0;
    static final int REQ_CLIENT_OFFSET = 8;
    static final int REQ_GENERATION_OFFSET = 12;
    static final int REQ_SERVICE_OFFSET = 16;
    static final int REQ_SLOT_OFFSET = 20;
    static final int REP_GENERATION_OFFSET = 8;
    static final int REP_SERVICE_OFFSET = 12;
    static final int REP_SLOT_OFFSET = 16;
    static final int REP_STATUS_OFFSET = 20;

    // DIRECT mode's call records: the request lane of (client, service) is the call ring. A call's record holds a
    // whole slot; the server writes the reply over the request and flips the type REQUEST -> REPLYING -> REPLY.
    static final int REPLYING_TYPE = 3;
    static final int CALL_GENERATION_OFFSET = 8;
    static final int CALL_SLOT_OFFSET = 12;
    static final int CALL_LENGTH_OFFSET = 16;
    static final int CALL_STATUS_OFFSET = 20;

    static final int STATUS_OK = 0;
    static final int STATUS_FAILED = 1;
    static final int STATUS_CLOSED = 2;

    static final int MAX_CLIENTS_LIMIT = 4096;
    static final int MAX_SERVICES_LIMIT = 1024;
    static final int MAX_SLOT_BYTES = 1 << 20;
    static final int MAX_IN_FLIGHT_LIMIT = 1 << 16;
    static final int MAX_RING_BYTES = 1 << 28;
    static final long MAX_FILE_LENGTH = Integer.MAX_VALUE;
    /** The longest heartbeat interval or timeout a header may hold (about 146 years): no deadline overflows. */
    static final long MAX_TIMEOUT_NS = 1L << 62;

    final int mode;
    final int maxClients;
    final int maxServices;
    final int slotBytes;
    final int maxInFlight;
    final int sqBytes;
    final int cqBytes;
    final int laneBytes;
    final int clientTableOffset;
    final int serverTableOffset;
    final int ringsOffset;
    final long fileLength;

    IpcLayout(
        final int mode,
        final int maxClients,
        final int maxServices,
        final int slotBytes,
        final int maxInFlight,
        final int sqBytes,
        final int cqBytes,
        final int laneBytes)
    {
        this.mode = mode;
        this.maxClients = maxClients;
        this.maxServices = maxServices;
        this.slotBytes = slotBytes;
        this.maxInFlight = maxInFlight;
        this.sqBytes = sqBytes;
        this.cqBytes = cqBytes;
        this.laneBytes = laneBytes;
        this.clientTableOffset = HEADER_BYTES;
        // The counts may come from a hostile header that problem() has not checked yet: out of range, the offsets
        // are left at 0 and the length past the largest mapping (problem() refuses both), with no int overflow.
        // In range, every product below fits a long many times over.
        final boolean inRange = maxClients >= 0 && maxClients <= MAX_CLIENTS_LIMIT
            && maxServices >= 0 && maxServices <= MAX_SERVICES_LIMIT;
        this.serverTableOffset = inRange ? clientTableOffset + maxClients * ENTRY_BYTES : 0;
        this.ringsOffset = inRange ? BitUtil.align(serverTableOffset + maxServices * ENTRY_BYTES, PAGE) : 0;
        this.fileLength = inRange ? ringsOffset + (long)maxClients * clientBlock() : MAX_FILE_LENGTH + 1;
    }

    /**
     * Bytes of one client's rings: its SQ, its CQ, then a request lane (DIRECT: a call lane) and a reply lane (used in
     * MOVER mode) per service.
     */
    long clientBlock()
    {
        // In long: with maxServices at most its limit, any int capacities sum to far less than 2^63.
        return (long)sqBytes + TRAILER + cqBytes + TRAILER + 2L * maxServices * ((long)laneBytes + TRAILER);
    }

    /**
     * The layout for a kernel's settings: a client's rings and lanes sized so that each always holds all of its calls
     * in flight (the SQ and CQ only in MOVER mode, where the mover uses them), unless {@code laneBytes} says
     * otherwise.
     */
    static IpcLayout of(
        final int mode,
        final int maxClients,
        final int maxServices,
        final int slotBytes,
        final int maxInFlight,
        final int laneBytes)
    {
        final int record = recordBytes(slotBytes);
        final int perClient = holding(record, maxInFlight);
        final int ring = mode == MODE_MOVER ? perClient : minRing(record);
        final IpcLayout layout = new IpcLayout(mode, maxClients, maxServices, slotBytes, maxInFlight, ring, ring,
            laneBytes > 0 ? laneBytes : holding(laneRecordBytes(mode, slotBytes), maxInFlight));
        final String problem = layout.problem();
        if (problem != null)
        {
            throw new IllegalArgumentException(problem);
        }
        return layout;
    }

    /** The smallest ring holding every call in flight, and at least 8 records and 1024 bytes. */
    private static int holding(final int record, final int maxInFlight)
    {
        final long needed = Math.max(1024, Math.max(8L * record, (maxInFlight + 1L) * record));
        // Past the largest ring, a size that problem() refuses with its message.
        return needed > MAX_RING_BYTES ? MAX_RING_BYTES * 2 : BitUtil.findNextPositivePowerOfTwo((int)needed);
    }

    private static int minRing(final int record)
    {
        return BitUtil.findNextPositivePowerOfTwo(Math.max(1024, 8 * record));
    }

    /**
     * Writes a reply record's header (call id, client generation, service, slot, status) at a claim's index, the one
     * place servers and the mover lay it out. Unchecked writes: a claim lies inside its ring and holds at least
     * {@link #MSG_HEADER} bytes.
     */
    static void putReplyHeader(
        final UnsafeBuffer ring, final int claimed, final long callId, final int generation, final int service,
        final int slot, final int status)
    {
        RawMemory.putLong(ring, claimed + CALL_ID_OFFSET, callId);
        RawMemory.putInt(ring, claimed + REP_GENERATION_OFFSET, generation);
        RawMemory.putInt(ring, claimed + REP_SERVICE_OFFSET, service);
        RawMemory.putInt(ring, claimed + REP_SLOT_OFFSET, slot);
        RawMemory.putInt(ring, claimed + REP_STATUS_OFFSET, status);
    }

    /**
     * Writes and commits a reply record whose payload is a text saying why a call failed (cut to the slot, at a
     * character boundary): the one place the mover and the MOVER servers write such a reply.
     *
     * @return false if the ring had no room.
     */
    boolean putFailureReply(
        final LaneWriter ring, final long callId, final int generation, final int service, final int slot,
        final String why)
    {
        final byte[] text = why.getBytes(StandardCharsets.UTF_8);
        final int length = utf8Prefix(text, slotBytes);
        final int claimed = ring.claim(REPLY_TYPE, MSG_HEADER + length);
        if (claimed < 0)
        {
            return false;
        }
        final UnsafeBuffer b = ring.buffer();
        putReplyHeader(b, claimed, callId, generation, service, slot, STATUS_FAILED);
        b.putBytes(claimed + MSG_HEADER, text, 0, length);
        ring.commit(claimed);
        return true;
    }

    /**
     * @return how many of a UTF-8 text's bytes fit in {@code max}, cut before a character, not inside one: a failure's
     * text is cut to the slot.
     */
    static int utf8Prefix(final byte[] utf8, final int max)
    {
        if (utf8.length <= max)
        {
            return utf8.length;
        }
        int length = Math.max(0, max);
        // A continuation byte (10xxxxxx) at the cut belongs to the character before it.
        while (length > 0 && (utf8[length] & 0xC0) == 0x80)
        {
            length--;
        }
        return length;
    }

    /** Bytes one record of a full slot takes in a ring, alignment included. */
    static int recordBytes(final int slotBytes)
    {
        return BitUtil.align(RECORD_HEADER + MSG_HEADER + slotBytes, LaneDescriptor.ALIGNMENT);
    }

    /**
     * Bytes one DIRECT call record takes in its lane: a whole slot, rounded up to 64-byte cache lines so that every
     * record starts a line (a 32-byte call is then one line there and back).
     */
    static int callRecordBytes(final int slotBytes)
    {
        return BitUtil.align(RECORD_HEADER + MSG_HEADER + slotBytes, CACHE_LINE);
    }

    /** Bytes one record of a full slot takes in this layout's lanes: a call record in DIRECT mode. */
    int laneRecordBytes()
    {
        return laneRecordBytes(mode, slotBytes);
    }

    private static int laneRecordBytes(final int mode, final int slotBytes)
    {
        return mode == MODE_MOVER ? recordBytes(slotBytes) : callRecordBytes(slotBytes);
    }

    /**
     * Reads and checks a mapping's header.
     *
     * @param header     the mapping.
     * @param actualSize the file's size.
     * @return its layout.
     * @throws IllegalStateException naming what is wrong when the header is not a valid Ferry header.
     */
    static IpcLayout read(final UnsafeBuffer header, final long actualSize)
    {
        if (actualSize < HEADER_BYTES)
        {
            throw new IllegalStateException("file of " + actualSize + " bytes is too small for a Ferry header ("
                + HEADER_BYTES + " bytes); it is not a Ferry mapping or was truncated: remove it and restart the "
                + "kernel");
        }
        final long magic = header.getLongVolatile(MAGIC_OFFSET);
        if (magic != MAGIC)
        {
            throw new IllegalStateException("bad magic 0x" + Long.toHexString(magic) + " (expected 0x"
                + Long.toHexString(MAGIC) + "): not a Ferry mapping, or the kernel has not finished creating it");
        }
        final int version = header.getInt(VERSION_OFFSET);
        if (version != VERSION)
        {
            throw new IllegalStateException("layout version " + version + " but this Ferry reads version " + VERSION
                + "; run the kernel, servers and clients from the same Ferry release");
        }
        final IpcLayout layout = new IpcLayout(
            header.getInt(MODE_OFFSET),
            header.getInt(MAX_CLIENTS_OFFSET),
            header.getInt(MAX_SERVICES_OFFSET),
            header.getInt(SLOT_BYTES_OFFSET),
            header.getInt(MAX_IN_FLIGHT_OFFSET),
            header.getInt(SQ_BYTES_OFFSET),
            header.getInt(CQ_BYTES_OFFSET),
            header.getInt(LANE_BYTES_OFFSET));
        final String problem = layout.problem();
        if (problem != null)
        {
            throw new IllegalStateException("corrupt Ferry header: " + problem);
        }
        final String timeouts = timeoutProblem(header);
        if (timeouts != null)
        {
            throw new IllegalStateException("corrupt Ferry header: " + timeouts);
        }
        final long declared = header.getLong(FILE_LENGTH_OFFSET);
        if (declared != layout.fileLength || actualSize < layout.fileLength)
        {
            throw new IllegalStateException("Ferry header declares " + declared + " bytes, its capacities need "
                + layout.fileLength + " and the file has " + actualSize + "; the mapping is corrupt or truncated");
        }
        return layout;
    }

    private String problem()
    {
        if (mode != MODE_DIRECT && mode != MODE_MOVER)
        {
            return "mode " + mode + " is neither DIRECT (" + MODE_DIRECT + ") nor MOVER (" + MODE_MOVER + ")";
        }
        if (maxClients < 1 || maxClients > MAX_CLIENTS_LIMIT)
        {
            return "maxClients " + maxClients + " is outside 1-" + MAX_CLIENTS_LIMIT;
        }
        if (maxServices < 1 || maxServices > MAX_SERVICES_LIMIT)
        {
            return "services " + maxServices + " is outside 1-" + MAX_SERVICES_LIMIT;
        }
        if (slotBytes < 0 || slotBytes > MAX_SLOT_BYTES)
        {
            return "slotBytes " + slotBytes + " is outside 0-" + MAX_SLOT_BYTES;
        }
        if (maxInFlight < 1 || maxInFlight > MAX_IN_FLIGHT_LIMIT)
        {
            return "maxInFlight " + maxInFlight + " is outside 1-" + MAX_IN_FLIGHT_LIMIT;
        }
        final int record = recordBytes(slotBytes);
        if (!ringOk(sqBytes, record) || !ringOk(cqBytes, record) || !ringOk(laneBytes, laneRecordBytes()))
        {
            return "ring capacities " + sqBytes + "/" + cqBytes + "/" + laneBytes
                + " must be powers of two from 1024 to " + MAX_RING_BYTES + " holding at least eight records of "
                + record + " bytes (lanes: " + laneRecordBytes() + ")";
        }
        final long allInFlight = (long)(maxInFlight + 1) * record;
        if (mode == MODE_MOVER && (cqBytes < allInFlight || sqBytes < allInFlight))
        {
            return "submission or completion ring of " + sqBytes + "/" + cqBytes + " bytes cannot hold " + maxInFlight
                + " records of " + record + " bytes";
        }
        if (fileLength > MAX_FILE_LENGTH)
        {
            return "the mapping would need " + fileLength + " bytes, more than " + MAX_FILE_LENGTH
                + "; lower maxClients, services, slotBytes or maxInFlight";
        }
        return null;
    }

    /**
     * The liveness settings every process reads from the header: those {@link Timeouts} accepts, and none so large
     * that a deadline ({@code now + timeout}) or twice the interval overflows.
     */
    private static String timeoutProblem(final UnsafeBuffer header)
    {
        final long interval = header.getLong(HEARTBEAT_INTERVAL_OFFSET);
        final long client = header.getLong(CLIENT_TIMEOUT_OFFSET);
        final long server = header.getLong(SERVER_TIMEOUT_OFFSET);
        final long kernel = header.getLong(KERNEL_TIMEOUT_OFFSET);
        if (interval > MAX_TIMEOUT_NS / 2 || client > MAX_TIMEOUT_NS || server > MAX_TIMEOUT_NS
            || kernel > MAX_TIMEOUT_NS)
        {
            return "heartbeat interval " + interval + " ns or timeouts (client " + client + ", server " + server
                + ", kernel " + kernel + " ns) beyond " + MAX_TIMEOUT_NS + " ns";
        }
        try
        {
            new Timeouts(interval, client, server, kernel);
            return null;
        }
        catch (final IllegalArgumentException ex)
        {
            return ex.getMessage();
        }
    }

    private static boolean ringOk(final int bytes, final int record)
    {
        return bytes >= 1024 && bytes <= MAX_RING_BYTES && BitUtil.isPowerOfTwo(bytes) && bytes >= 8L * record;
    }

    void writeHeader(final UnsafeBuffer header, final long pid, final Timeouts timeouts)
    {
        header.putInt(VERSION_OFFSET, VERSION);
        header.putInt(MODE_OFFSET, mode);
        header.putInt(MAX_CLIENTS_OFFSET, maxClients);
        header.putInt(MAX_SERVICES_OFFSET, maxServices);
        header.putInt(SLOT_BYTES_OFFSET, slotBytes);
        header.putInt(MAX_IN_FLIGHT_OFFSET, maxInFlight);
        header.putInt(SQ_BYTES_OFFSET, sqBytes);
        header.putInt(CQ_BYTES_OFFSET, cqBytes);
        header.putInt(LANE_BYTES_OFFSET, laneBytes);
        header.putLong(FILE_LENGTH_OFFSET, fileLength);
        header.putLong(KERNEL_PID_OFFSET, pid);
        header.putLong(HEARTBEAT_INTERVAL_OFFSET, timeouts.heartbeatIntervalNs());
        header.putLong(CLIENT_TIMEOUT_OFFSET, timeouts.clientTimeoutNs());
        header.putLong(SERVER_TIMEOUT_OFFSET, timeouts.serverTimeoutNs());
        header.putLong(KERNEL_TIMEOUT_OFFSET, timeouts.kernelTimeoutNs());
        header.putLong(KERNEL_HEARTBEAT_OFFSET, System.nanoTime());
        header.putIntVolatile(KERNEL_STATE_OFFSET, KERNEL_STARTING);
        header.putLongVolatile(MAGIC_OFFSET, MAGIC);
    }

    int clientEntry(final int client)
    {
        return clientTableOffset + client * ENTRY_BYTES;
    }

    int serverEntry(final int service)
    {
        return serverTableOffset + service * ENTRY_BYTES;
    }

    long sqOffset(final int client)
    {
        return ringsOffset + (long)client * clientBlock();
    }

    long cqOffset(final int client)
    {
        return sqOffset(client) + sqBytes + TRAILER;
    }

    /**
     * The lane into which only client {@code client} (DIRECT) or the mover (MOVER) writes requests to service
     * {@code service}.
     */
    long requestLaneOffset(final int client, final int service)
    {
        return cqOffset(client) + cqBytes + TRAILER + 2L * service * (laneBytes + TRAILER);
    }

    /** The lane only the server of {@code service} writes its replies to client {@code client} into. */
    long replyLaneOffset(final int client, final int service)
    {
        return requestLaneOffset(client, service) + laneBytes + TRAILER;
    }

    /** True when the ring at {@code offset} of the mapping has its consumer position at its producer position. */
    static boolean ringEmpty(final UnsafeBuffer mapping, final long offset, final int capacity)
    {
        final int trailer = (int)offset + capacity;
        return mapping.getLongVolatile(trailer + LaneDescriptor.HEAD_OFFSET)
            == mapping.getLongVolatile(trailer + LaneDescriptor.TAIL_OFFSET);
    }

    /**
     * True when the server of the DIRECT call lane at {@code offset} has answered every call committed in it (its
     * published cursor reached the client's tail), or has halted the lane.
     */
    static boolean callsAnswered(final UnsafeBuffer mapping, final long offset, final int capacity)
    {
        final int trailer = (int)offset + capacity;
        return mapping.getLongVolatile(trailer + LaneDescriptor.SERVER_CURSOR_OFFSET)
            >= mapping.getLongVolatile(trailer + LaneDescriptor.TAIL_OFFSET)
            || mapping.getLongVolatile(trailer + LaneDescriptor.SERVER_HALTED_OFFSET)
            == mapping.getLongVolatile(trailer + LaneDescriptor.LANE_EPOCH_OFFSET) + 1;
    }

    /** The buffer of a ring at {@code offset} of the mapping, with data area {@code capacity} and its trailer. */
    static UnsafeBuffer ring(final UnsafeBuffer mapping, final long offset, final int capacity)
    {
        return new UnsafeBuffer(mapping, (int)offset, capacity + TRAILER);
    }

    boolean mover()
    {
        return mode == MODE_MOVER;
    }
}
