package dev.ferry;

import dev.ferry.CallFailedException;
import dev.ferry.CompletionHandler;
import dev.ferry.Status;
import org.agrona.BitUtil;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.RecordDescriptor;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.time.Duration;
import java.util.Objects;

/**
 * A caller in another process than the kernel: the cross-process twin of {@link dev.ferry.Client}, with the same
 * methods ({@link #submit}, {@link #flush()}, {@link #poll}, {@link #await}, {@link #call}, {@link #inFlight()},
 * {@link #close()}) and the same {@link #BACK_PRESSURE}, {@link CompletionHandler} and {@link dev.ferry.Completion}
 * types, so code differs from the in-process one only in how the client is obtained ({@link #attach(String)}).
 *
 * <p>It owns a slot of the kernel's client table and, in the mapping, a pair of lanes per service plus, in MOVER
 * mode, a submission ring and a completion ring for the mover's error replies. {@link #submit} stages a call
 * locally; {@link #flush()} writes the staged calls into the services' call lanes (DIRECT: each call a record the
 * server answers in place, writing the reply over the request) or the submission ring (MOVER: the mover forwards
 * them, and replies come back in reply lanes); {@link #poll} reads the lanes of the services it has calls in flight
 * to, handing each reply to the handler as a view of the lane (valid during the callback), allocating nothing on
 * the success path. {@link #call} writes its request from the caller's buffer straight into the lane's record, with
 * no staging copy.
 *
 * <p>Nothing is lost silently. Each call gets exactly one completion: OK with the reply, FAILED when the handler
 * threw ({@link RemoteFailureException} carries its text), when the server died or detached (within the kernel's
 * server timeout, 1 s by default), or when a record was corrupt; CLOSED when the kernel closed or died. A reply that
 * arrives after its call was failed is dropped and counted ({@link #lateReplies()}).
 *
 * <p>Threading: a client belongs to the thread that attached it; every method but the counters throws
 * {@link IllegalStateException} from another thread. Attach one client per calling thread.
 */
final class LaneClient implements Client, RingReader.RecordHandler
{
    /** A slot's deadline not yet fixed: the next deadline check fixes it (a call submitted by then). */
    private static final long NO_DEADLINE = Long.MIN_VALUE;

    private static final byte FREE = 0;
    private static final byte STAGED = 1;
    private static final byte IN_FLIGHT = 2;
    private static final byte FAILING = 3;
    private static final Status[] STATUSES = {Status.OK, Status.FAILED, Status.CLOSED};
    private static final int DEFER_LIMIT = 16 * 1024;

    private final Mapping mapping;
    private final IpcLayout layout;
    private final UnsafeBuffer header;
    private final Thread owner;
    private final int index;
    private final int generation;
    private final int entry;
    private final boolean moverMode;
    private final int slotBytes;
    private final int maxInFlight;
    private final int callMessageBytes;
    private final long serverTimeoutNs;
    private final long kernelTimeoutNs;
    private final long checkIntervalNs;
    private final IdleStrategy idle;
    // In-process kernels only: whom a flush wakes (null across processes), and the services this flush sent to.
    private final Wakeups wakeups;
    private final boolean[] wakeFlags;
    private final int[] wakeList;
    private int wakeCount;
    private final Object heartbeat;
    private final RingReader cqReader;
    private final LaneWriter sq;
    private final LaneWriter[] requestLanes;
    // Where replies are read, per service: in DIRECT mode the request lane itself (replies are written over their
    // requests), in MOVER mode the reply lane.
    private final RingReader[] replyLanes;
    // DIRECT mode, per service: the call lane's epoch, and whether this client asked its server to halt the lane.
    private final long[] laneEpochs;
    private final boolean[] laneBroken;
    // The service whose call lane is being read (DIRECT), else -1: picks the record format in onRecord.
    private int readingService = -1;
    private final int[] activeServices;
    private final boolean[] active;
    private int activeCount;
    private final LaneCompletion completion = new LaneCompletion();
    private final UnsafeBuffer wrapper = new UnsafeBuffer(new byte[0]);

    // Per slot.
    private final byte[] state;
    private final long[] callIds;
    private final int[] services;
    private final int[] serverGenerations;
    private final long[] sentPositions;
    private final boolean[] sync;
    private final UnsafeBuffer staging;
    private final int[] stagedLengths;
    private final Status[] failStatus;
    private final Throwable[] failures;
    // The deadline of each call (System.nanoTime), and how long it was given (for the message).
    private final long[] deadlines;
    private final long[] timeoutsNs;
    private final int[] freeSlots;
    private int freeCount;

    // Staged calls in submission order, and calls failed locally awaiting delivery.
    private final int[] stagedQueue;
    private int stagedHead;
    private int stagedCount;
    private final int[] failingQueue;
    private int failingHead;
    private int failingCount;

    // Per service: calls in flight in submission order (slot and call id), and the last corruption epoch seen.
    private final int[][] fifoSlots;
    private final long[][] fifoIds;
    private final int[] fifoHead;
    private final int[] fifoCount;
    private final long[] serverEpochs;
    // MOVER mode, per service: a server ring position past every call this client had sent (submission ring
    // position moverMarkSent) when the mover had forwarded them all, or -1.
    private final long[] moverMarks;
    private final long[] moverMarkSent;
    private long ownEpoch;

    private long nextId;
    private long delivered;
    private int inFlight;
    private int handlerCalls;
    private int emptyPolls;
    private long lastCheckNs;
    private boolean closed;
    private boolean heldBack;
    private String gone;
    private Status goneStatus;
    // True once this client's entry is no longer its own (reclaimed while the process was stopped, then maybe
    // reused): from then on it touches none of its former rings, which may belong to another client now.
    private boolean evicted;
    private final long ownedWord;
    private CompletionHandler currentHandler;

    private long lateReplies;
    private long corruptRecords;
    private long timedOut;
    private long callTimeoutNs = DEFAULT_CALL_TIMEOUT.toNanos();
    private long sweepIntervalNs;
    private long nextSweepNs;
    private int pollRounds;

    private boolean syncDone;
    private Status syncStatus;
    private Throwable syncFailure;
    private int syncLength;
    private MutableDirectBuffer syncReply;
    private int syncReplyOffset;

    // The call() in progress, sent from the caller's buffer instead of the staging area.
    private int directSlot = -1;
    private DirectBuffer directRequest;
    private int directOffset;

    private LaneClient(final Mapping mapping, final IdleStrategy idle, final Wakeups wakeups)
    {
        this.mapping = mapping;
        this.wakeups = wakeups;
        this.wakeFlags = new boolean[mapping.layout.maxServices];
        this.wakeList = new int[mapping.layout.maxServices];
        this.layout = mapping.layout;
        this.header = mapping.buffer;
        this.owner = Thread.currentThread();
        this.idle = idle;
        this.moverMode = layout.mover();
        this.slotBytes = layout.slotBytes;
        this.maxInFlight = layout.maxInFlight;
        this.callMessageBytes = IpcLayout.callRecordBytes(slotBytes) - IpcLayout.RECORD_HEADER;
        this.serverTimeoutNs = header.getLong(IpcLayout.SERVER_TIMEOUT_OFFSET);
        this.kernelTimeoutNs = header.getLong(IpcLayout.KERNEL_TIMEOUT_OFFSET);
        this.checkIntervalNs = Math.max(1_000_000L, header.getLong(IpcLayout.HEARTBEAT_INTERVAL_OFFSET) / 4);
        Server.checkKernel(mapping);

        int found = -1;
        int gen = 0;
        final long pid = ProcessHandle.current().pid();
        for (int c = 0; c < layout.maxClients && found < 0; c++)
        {
            final int claimed = EntryTable.claimByClient(header, layout.clientEntry(c), pid, System.nanoTime());
            if (claimed > 0)
            {
                found = c;
                gen = claimed;
            }
        }
        if (found < 0)
        {
            mapping.close();
            throw new IllegalStateException("all " + layout.maxClients + " client slots of the kernel at "
                + mapping.directory + " are taken; close some clients (a dead client's slot is reclaimed within the "
                + "client timeout) or build the kernel with a larger maxClients");
        }
        this.index = found;
        this.generation = gen;
        this.entry = layout.clientEntry(found);
        this.ownedWord = EntryTable.word(IpcLayout.ATTACHED, gen);
        // Stamped from now on, before the block is zeroed (which can be long), while the owner thread lives: a
        // client whose thread died without closing it is reclaimed.
        this.heartbeat = Heartbeats.register(header, entry + IpcLayout.ENTRY_HEARTBEAT_OFFSET,
            header.getLong(IpcLayout.HEARTBEAT_INTERVAL_OFFSET), owner::isAlive);
        this.ownEpoch = header.getLongVolatile(entry + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET);
        // Every ring of this client has one producer: the CQ the mover (its error replies), the SQ this client, a
        // request lane this client (DIRECT) or the mover (MOVER), a reply lane the service's server. A producer can
        // need at most one record per call in flight plus a padding record at the wrap; beyond one more record of
        // margin, up to 16 KiB of a reply ring may hold replies already read whose zeroing waits for the next poll.
        this.cqReader = new RingReader(IpcLayout.ring(header, layout.cqOffset(found), layout.cqBytes),
            IpcLayout.REPLY_TYPE, serverTimeoutNs,
            deferLimit(layout.cqBytes, maxInFlight, IpcLayout.recordBytes(slotBytes)));
        this.sq = moverMode ? new LaneWriter(IpcLayout.ring(header, layout.sqOffset(found), layout.sqBytes)) : null;
        this.requestLanes = new LaneWriter[layout.maxServices];
        this.replyLanes = new RingReader[layout.maxServices];
        this.activeServices = new int[layout.maxServices];
        this.active = new boolean[layout.maxServices];
        this.serverEpochs = new long[layout.maxServices];
        this.moverMarks = new long[layout.maxServices];
        this.moverMarkSent = new long[layout.maxServices];
        this.laneEpochs = new long[layout.maxServices];
        this.laneBroken = new boolean[layout.maxServices];
        java.util.Arrays.fill(moverMarks, -1);
        for (int s = 0; s < layout.maxServices; s++)
        {
            // Written to in DIRECT mode; in MOVER mode only its positions are read, to find lost calls.
            final UnsafeBuffer lane = IpcLayout.ring(header, layout.requestLaneOffset(found, s), layout.laneBytes);
            requestLanes[s] = new LaneWriter(lane);
            replyLanes[s] = moverMode
                ? new RingReader(IpcLayout.ring(header, layout.replyLaneOffset(found, s), layout.laneBytes),
                    IpcLayout.REPLY_TYPE, serverTimeoutNs, deferLimit(layout.laneBytes, maxInFlight,
                    IpcLayout.recordBytes(slotBytes)))
                : new RingReader(lane, IpcLayout.REPLY_TYPE, serverTimeoutNs,
                    deferLimit(layout.laneBytes, maxInFlight, layout.laneRecordBytes()))
                    .inPlace(IpcLayout.REQUEST_TYPE, IpcLayout.REPLYING_TYPE);
            serverEpochs[s] = header.getLongVolatile(layout.serverEntry(s) + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET);
        }
        this.state = new byte[maxInFlight];
        this.callIds = new long[maxInFlight];
        this.services = new int[maxInFlight];
        this.serverGenerations = new int[maxInFlight];
        this.sentPositions = new long[maxInFlight];
        this.sync = new boolean[maxInFlight];
        this.staging = new UnsafeBuffer(new byte[Math.max(1, maxInFlight * slotBytes)]);
        this.stagedLengths = new int[maxInFlight];
        this.failStatus = new Status[maxInFlight];
        this.failures = new Throwable[maxInFlight];
        this.deadlines = new long[maxInFlight];
        this.timeoutsNs = new long[maxInFlight];
        this.freeSlots = new int[maxInFlight];
        for (int i = maxInFlight - 1; i >= 0; i--)
        {
            freeSlots[freeCount++] = i;
        }
        this.stagedQueue = new int[maxInFlight];
        this.failingQueue = new int[maxInFlight];
        this.fifoSlots = new int[layout.maxServices][maxInFlight];
        this.fifoIds = new long[layout.maxServices][maxInFlight];
        this.fifoHead = new int[layout.maxServices];
        this.fifoCount = new int[layout.maxServices];
        // While the entry is ATTACHING no server nor mover touches these rings: start them clean, whatever a
        // previous occupant or a stray write left there.
        header.setMemory((int)layout.sqOffset(found), (int)layout.clientBlock(), (byte)0);
        if (!EntryTable.publish(header, entry, gen))
        {
            Heartbeats.unregister(heartbeat);
            mapping.close();
            throw new IllegalStateException("client entry " + found + " of the kernel at " + mapping.directory
                + " was reclaimed while this client attached (attaching took longer than the client timeout: was "
                + "this process suspended?); attach again");
        }
        // Servers rebuild their lists of lanes to scan when this count moves.
        header.getAndAddLong(IpcLayout.ATTACH_COUNT_OFFSET, 1);
        this.lastCheckNs = System.nanoTime();
        this.sweepIntervalNs = sweepInterval(callTimeoutNs);
        this.nextSweepNs = lastCheckNs;
    }

    /** Deadlines are checked this often: within an eighth of the timeout, at most as often as every 100 µs. */
    private long sweepInterval(final long timeoutNs)
    {
        return Math.max(100_000L, Math.min(checkIntervalNs, timeoutNs / 8));
    }

    private static int deferLimit(final int ringBytes, final int maxInFlight, final int recordBytes)
    {
        return (int)Math.min(DEFER_LIMIT, Math.max(0, ringBytes - (long)(maxInFlight + 2) * recordBytes));
    }

    /**
     * Attaches a client to a kernel's memory, owned by the calling thread.
     *
     * @param mapping the kernel's memory, this client's to close.
     * @param wakeups the in-process wake-up policy, or null across processes.
     */
    static LaneClient attach(final String name)
    {
        return (LaneClient)Client.attach(name);
    }

    static LaneClient attach(final java.nio.file.Path directory, final IdleStrategy idle)
    {
        return (LaneClient)Client.attach(directory, idle);
    }

    static LaneClient attach(final Mapping mapping, final IdleStrategy idle, final Wakeups wakeups)
    {
        final LaneClient client = new LaneClient(mapping, idle, wakeups);
        if (wakeups != null)
        {
            wakeups.client(client.index, client.owner);
        }
        return client;
    }

    /**
     * Stages a call without sending it. Nothing is allocated.
     *
     * @param serviceId the service, from 0 to the kernel's services - 1.
     * @param request   the request bytes, copied.
     * @param offset    where they start.
     * @param length    how many, at most the kernel's slot size.
     * @return the call's id (0, 1, 2, ...), or {@link #BACK_PRESSURE} when all slots are in flight.
     * @throws IllegalArgumentException for an unknown service, bytes outside {@code request}, or a request larger
     *                                  than a slot.
     * @throws IllegalStateException    after close, when the kernel closed or died, or from a thread not the owner.
     */
    public long submit(final int serviceId, final DirectBuffer request, final int offset, final int length)
    {
        final int slot = stage(serviceId, request, offset, length, true);
        if (slot < 0)
        {
            return BACK_PRESSURE;
        }
        handlerCalls++;
        return callIds[slot];
    }

    /**
     * {@link #submit(int, DirectBuffer, int, int)} for a whole byte array.
     *
     * @param serviceId the service.
     * @param request   the request bytes.
     * @return the call's id, or {@link #BACK_PRESSURE}.
     */
    public long submit(final int serviceId, final byte[] request)
    {
        Objects.requireNonNull(request, "request is null; use an empty array for a call without payload");
        wrapper.wrap(request);
        return submit(serviceId, wrapper, 0, request.length);
    }

    private int stage(
        final int serviceId, final DirectBuffer request, final int offset, final int length, final boolean copy)
    {
        checkOwner();
        checkOpen();
        if (serviceId < 0 || serviceId >= layout.maxServices)
        {
            throw new IllegalArgumentException("unknown service id " + serviceId + "; the kernel has services 0-"
                + (layout.maxServices - 1));
        }
        Objects.requireNonNull(request, "request buffer is null; pass an empty buffer for a call without payload");
        if (offset < 0 || length < 0 || (long)offset + length > request.capacity())
        {
            throw new IllegalArgumentException("request bytes [" + offset + ", " + ((long)offset + length)
                + ") fall outside the request buffer of capacity " + request.capacity());
        }
        if (length > slotBytes)
        {
            throw new IllegalArgumentException("request of " + length + " bytes exceeds the kernel's slot size of "
                + slotBytes + " bytes; build the Kernel with slotBytes(" + length + ") or more");
        }
        if (freeCount == 0)
        {
            return -1;
        }
        final int slot = freeSlots[--freeCount];
        state[slot] = STAGED;
        callIds[slot] = nextId++;
        services[slot] = serviceId;
        sync[slot] = false;
        stagedLengths[slot] = length;
        deadlines[slot] = NO_DEADLINE;
        timeoutsNs[slot] = callTimeoutNs;
        if (copy)
        {
            staging.putBytes(slot * slotBytes, request, offset, length);
        }
        stagedQueue[wrap(stagedHead + stagedCount++)] = slot;
        inFlight++;
        return slot;
    }

    /**
     * Sends every staged call, in order: into each service's request ring (DIRECT) or the submission ring (MOVER).
     * A full ring keeps the rest staged, in order; the next {@link #flush()} or {@link #poll} sends them on. A call
     * to a service no server is attached to completes at once with FAILED.
     *
     * @return calls sent by this flush.
     */
    public int flush()
    {
        try
        {
            return flushUnchecked();
        }
        catch (final InternalError ex)
        {
            throw mappingFault(ex);
        }
    }

    private int flushUnchecked()
    {
        checkOwner();
        checkNotClosed();
        checkOwnEntry();
        int sent = 0;
        heldBack = false;
        while (stagedCount > 0)
        {
            final int slot = stagedQueue[stagedHead];
            if (gone != null)
            {
                fail(slot, goneStatus, gone);
            }
            else
            {
                final int service = services[slot];
                final int serverEntry = layout.serverEntry(service);
                // The entry lies inside the mapping (the service id was checked at submit): unchecked reads.
                if (RawMemory.getIntVolatile(header, serverEntry + IpcLayout.ENTRY_STATE_OFFSET) != IpcLayout.ATTACHED)
                {
                    if (header.getIntVolatile(IpcLayout.KERNEL_STATE_OFFSET) != IpcLayout.KERNEL_RUNNING)
                    {
                        // Staged before the kernel closed, whose servers detached: not run, so CLOSED.
                        fail(slot, Status.CLOSED, "the Ferry IPC kernel at " + mapping.directory + " closed before "
                            + "the call was sent");
                    }
                    else
                    {
                        fail(slot, Status.FAILED, "service " + service + " has no server attached; start one with "
                            + "Server.builder()...service(" + service + ", handler).start()");
                    }
                }
                else if (laneBroken[service] && !tryResetLane(service))
                {
                    // The lane waits for its server to halt it before it is reset: held back, as by a full ring,
                    // unless the server stopped heartbeating (then nothing will halt it).
                    final long silence = System.nanoTime()
                        - header.getLongVolatile(serverEntry + IpcLayout.ENTRY_HEARTBEAT_OFFSET);
                    if (silence <= serverTimeoutNs)
                    {
                        heldBack = true;
                        break;
                    }
                    fail(slot, Status.FAILED, "the lane of client " + index + " to service " + service + " held a "
                        + "corrupt record, and its server (silent for " + silence / 1_000_000 + " ms) did not halt "
                        + "it so that it could be reset; retry once a server is attached again");
                }
                else if (!send(slot, service,
                    RawMemory.getInt(header, serverEntry + IpcLayout.ENTRY_GENERATION_OFFSET)))
                {
                    heldBack = true;
                    // The ring is full. With no call in flight there, what fills it is late replies (to calls that
                    // failed or timed out), which only a read of the lane frees: have the next poll read it.
                    if (!active[service])
                    {
                        active[service] = true;
                        activeServices[activeCount++] = service;
                    }
                    break;
                }
                else
                {
                    sent++;
                }
            }
            stagedHead = wrap(stagedHead + 1);
            stagedCount--;
        }
        if (wakeCount > 0)
        {
            wakeAll();
        }
        return sent;
    }

    /** Wakes, once per flush, the server of each service it sent to (or the mover). */
    private void wakeAll()
    {
        for (int i = 0; i < wakeCount; i++)
        {
            final int service = wakeList[i];
            wakeFlags[service] = false;
            if (moverMode)
            {
                wakeups.mover();
            }
            else
            {
                wakeups.server(service);
            }
        }
        wakeCount = 0;
    }

    private boolean send(final int slot, final int service, final int serverGeneration)
    {
        final LaneWriter ring = moverMode ? sq : requestLanes[service];
        final int length = stagedLengths[slot];
        // DIRECT: a call record holds a whole slot, room for any reply, written over the request.
        final int claimed = ring.claim(IpcLayout.REQUEST_TYPE,
            moverMode ? IpcLayout.MSG_HEADER + length : callMessageBytes);
        if (claimed < 0)
        {
            return false;
        }
        // The claim lies inside the ring and holds MSG_HEADER + length bytes: unchecked writes.
        final UnsafeBuffer b = ring.buffer();
        RawMemory.putLong(b, claimed + IpcLayout.CALL_ID_OFFSET, callIds[slot]);
        if (moverMode)
        {
            RawMemory.putInt(b, claimed + IpcLayout.REQ_CLIENT_OFFSET, index);
            RawMemory.putInt(b, claimed + IpcLayout.REQ_GENERATION_OFFSET, generation);
            RawMemory.putInt(b, claimed + IpcLayout.REQ_SERVICE_OFFSET, service);
            RawMemory.putInt(b, claimed + IpcLayout.REQ_SLOT_OFFSET, slot);
        }
        else
        {
            RawMemory.putInt(b, claimed + IpcLayout.CALL_GENERATION_OFFSET, generation);
            RawMemory.putInt(b, claimed + IpcLayout.CALL_SLOT_OFFSET, slot);
            RawMemory.putInt(b, claimed + IpcLayout.CALL_LENGTH_OFFSET, length);
            RawMemory.putInt(b, claimed + IpcLayout.CALL_STATUS_OFFSET, 0);
        }
        if (slot == directSlot)
        {
            b.putBytes(claimed + IpcLayout.MSG_HEADER, directRequest, directOffset, length);
        }
        else
        {
            RawMemory.copy(staging, slot * slotBytes, b, claimed + IpcLayout.MSG_HEADER, length);
        }
        ring.commit(claimed);
        final int wake = moverMode ? 0 : service;
        if (wakeups != null && !wakeFlags[wake])
        {
            wakeFlags[wake] = true;
            wakeList[wakeCount++] = wake;
        }
        sentPositions[slot] = ring.producerPosition();
        state[slot] = IN_FLIGHT;
        serverGenerations[slot] = serverGeneration;
        final int at = wrap(fifoHead[service] + fifoCount[service]++);
        fifoSlots[service][at] = slot;
        fifoIds[service][at] = callIds[slot];
        if (!active[service])
        {
            active[service] = true;
            activeServices[activeCount++] = service;
        }
        return true;
    }

    /** An index of the per-slot queues, {@code i} below {@code 2 * maxInFlight}, wrapped without a division. */
    private int wrap(final int i)
    {
        return i < maxInFlight ? i : i - maxInFlight;
    }

    private void fail(final int slot, final Status status, final String why)
    {
        state[slot] = FAILING;
        failStatus[slot] = status;
        failures[slot] = new RemoteFailureException(why);
        failingQueue[wrap(failingHead + failingCount++)] = slot;
    }

    /**
     * Hands up to {@code limit} completions to the handler, without waiting; sends on calls a full ring held back,
     * and checks (every few empty polls) that the kernel and the servers called are alive.
     *
     * @param handler receives each completion; valid only during its callback.
     * @param limit   most completions to hand over, at least 1.
     * @return completions handed over.
     */
    public int poll(final CompletionHandler handler, final int limit)
    {
        try
        {
            return pollUnchecked(handler, limit);
        }
        catch (final InternalError ex)
        {
            throw mappingFault(ex);
        }
    }

    private int pollUnchecked(final CompletionHandler handler, final int limit)
    {
        checkOwner();
        checkNotClosed();
        Objects.requireNonNull(handler, "completion handler is null");
        if (limit <= 0)
        {
            throw new IllegalArgumentException("limit is " + limit + "; it must be at least 1");
        }
        currentHandler = handler;
        try
        {
            return pollOnce(limit);
        }
        finally
        {
            currentHandler = null;
        }
    }

    private int pollOnce(final int limit)
    {
        if (heldBack || (gone != null && stagedCount > 0))
        {
            flushUnchecked();
        }
        final long before = delivered;
        deliverFailing(limit);
        if (checkOwnEntry())
        {
            deliverFailing(limit);
            return (int)(delivered - before);
        }
        readReplies(before, limit);
        if (inFlight > 0 && (++pollRounds & 63) == 0)
        {
            // Every 64th poll, busy or not, so that a call stuck behind a hung handler times out even while other
            // services answer: one clock read per 64 polls.
            final long now = System.nanoTime();
            if (now - nextSweepNs >= 0)
            {
                nextSweepNs = now + sweepIntervalNs;
                sweepDeadlines(now);
                deliverFailing(limit);
            }
        }
        if (delivered == before && inFlight > 0 && (++emptyPolls & 63) == 0)
        {
            final long now = System.nanoTime();
            if (now - lastCheckNs >= checkIntervalNs)
            {
                lastCheckNs = now;
                // Liveness checks drain the reply lanes before failing calls, so they may hand over a few more
                // completions than the limit.
                checkLiveness(now);
                deliverFailing(limit);
            }
        }
        return (int)(delivered - before);
    }

    /**
     * Fixes the deadline of every call submitted since the last sweep (the sweep stands in for the clock at submit,
     * which the hot path does not read: a call's deadline is fixed at most one sweep interval after its submit) and
     * times out every call whose deadline has passed.
     */
    private void sweepDeadlines(final long now)
    {
        for (int slot = 0; slot < maxInFlight; slot++)
        {
            final byte st = state[slot];
            if (st == STAGED || st == IN_FLIGHT)
            {
                final long deadline = deadlines[slot];
                if (deadline == NO_DEADLINE)
                {
                    deadlines[slot] = now + timeoutsNs[slot];
                }
                else if (now - deadline >= 0)
                {
                    timeOut(slot);
                }
            }
        }
    }

    /**
     * Ends a staged or in-flight call TIMED_OUT. Its record may stay in the lane: the slot is reused at once, and
     * the reply, if it comes, is dropped as late (its call id no longer matches the slot's).
     */
    private void timeOut(final int slot)
    {
        final long id = callIds[slot];
        final int service = services[slot];
        if (state[slot] == STAGED)
        {
            removeStaged(slot);
        }
        else
        {
            removeInFlight(service, slot, id);
        }
        timedOut++;
        fail(slot, Status.TIMED_OUT, "call " + id + " to service " + service + " timed out after "
            + timeoutsNs[slot] / 1_000_000 + " ms (its deadline) before its reply arrived; its handler may still "
            + "run or have run: a late reply is dropped");
    }

    private void removeStaged(final int slot)
    {
        int kept = 0;
        for (int i = 0; i < stagedCount; i++)
        {
            final int s = stagedQueue[wrap(stagedHead + i)];
            if (s != slot)
            {
                stagedQueue[wrap(stagedHead + kept++)] = s;
            }
        }
        stagedCount = kept;
    }

    private void removeInFlight(final int service, final int slot, final long id)
    {
        final int count = fifoCount[service];
        int kept = 0;
        for (int i = 0; i < count; i++)
        {
            final int from = wrap(fifoHead[service] + i);
            final int s = fifoSlots[service][from];
            final long sid = fifoIds[service][from];
            if (s != slot || sid != id)
            {
                final int to = wrap(fifoHead[service] + kept++);
                fifoSlots[service][to] = s;
                fifoIds[service][to] = sid;
            }
        }
        fifoCount[service] = kept;
    }

    /**
     * Reads the replies in the lanes of the services with calls in flight (DIRECT: their call lanes; MOVER: their
     * reply lanes, and the mover's CQ) until {@code limit} completions have been delivered since {@code before}. A
     * service leaves the list once it has no call in flight; a late reply left in its lane is read when it next has
     * one.
     */
    private void readReplies(final long before, final int limit)
    {
        if (moverMode && delivered - before < limit && cqReader.hasRecord())
        {
            cqReader.read(this, limit - (int)(delivered - before));
        }
        for (int i = 0; i < activeCount && delivered - before < limit; )
        {
            final int s = activeServices[i];
            final RingReader lane = replyLanes[s];
            if (lane.hasRecord())
            {
                readingService = moverMode ? -1 : s;
                lane.read(this, limit - (int)(delivered - before));
                readingService = -1;
            }
            if (fifoCount[s] == 0)
            {
                active[s] = false;
                activeServices[i] = activeServices[--activeCount];
            }
            else
            {
                i++;
            }
        }
    }

    /**
     * Reads every reply already committed (past the lanes' wraps too), before calls are failed for want of one.
     */
    private void drainReplies()
    {
        if (moverMode)
        {
            cqReader.readAcrossWrap(this, maxInFlight);
        }
        for (int i = 0; i < activeCount; i++)
        {
            final int s = activeServices[i];
            readingService = moverMode ? -1 : s;
            replyLanes[s].readAcrossWrap(this, maxInFlight);
            readingService = -1;
        }
    }

    private int deliverFailing(final int limit)
    {
        int n = 0;
        while (failingCount > 0 && n < limit)
        {
            final int slot = failingQueue[failingHead];
            failingHead = wrap(failingHead + 1);
            failingCount--;
            completion.failed(callIds[slot], services[slot], failStatus[slot], failures[slot]);
            failures[slot] = null;
            deliver(slot);
            n++;
        }
        return n;
    }

    private void deliver(final int slot)
    {
        delivered++;
        inFlight--;
        state[slot] = FREE;
        freeSlots[freeCount++] = slot;
        if (sync[slot])
        {
            sync[slot] = false;
            syncDone = true;
            syncStatus = completion.status;
            syncFailure = completion.failure;
            syncLength = completion.length;
            if (syncStatus == Status.OK && syncReply != null)
            {
                if (syncLength > syncReply.capacity() - syncReplyOffset)
                {
                    syncStatus = Status.FAILED;
                    syncFailure = new IllegalArgumentException("reply of " + syncLength
                        + " bytes does not fit the reply buffer of " + syncReply.capacity() + " bytes from offset "
                        + syncReplyOffset);
                }
                else
                {
                    syncReply.putBytes(syncReplyOffset, completion.view, 0, syncLength);
                }
            }
            return;
        }
        handlerCalls--;
        final CompletionHandler handler = currentHandler;
        if (handler == null)
        {
            throw new IllegalStateException("completion of call " + completion.id + " arrived with no handler");
        }
        handler.onCompletion(completion);
    }

    @Override
    public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
    {
        if (readingService >= 0)
        {
            return onCallRecord(readingService, buffer, index, length);
        }
        if (length < IpcLayout.MSG_HEADER)
        {
            corruptCompletionRing("a " + length + "-byte reply record, shorter than its header");
            return RingReader.CORRUPT;
        }
        // RingReader checked that [index, index + length) lies inside the ring, and length covers the header.
        final long callId = RawMemory.getLong(buffer, index + IpcLayout.CALL_ID_OFFSET);
        final int gen = RawMemory.getInt(buffer, index + IpcLayout.REP_GENERATION_OFFSET);
        final int slot = RawMemory.getInt(buffer, index + IpcLayout.REP_SLOT_OFFSET);
        final int service = RawMemory.getInt(buffer, index + IpcLayout.REP_SERVICE_OFFSET);
        final int status = RawMemory.getInt(buffer, index + IpcLayout.REP_STATUS_OFFSET);
        final int payload = length - IpcLayout.MSG_HEADER;
        if (gen != generation)
        {
            if (gen >= 0 && gen < generation)
            {
                lateReplies++;
            }
            else
            {
                corruptCompletionRing("a reply for client generation " + gen + " (this one is " + generation + ")");
                return RingReader.CORRUPT;
            }
            return RingReader.CONSUMED;
        }
        if (slot < 0 || slot >= maxInFlight || callId < 0 || callId >= nextId)
        {
            corruptCompletionRing("a reply to slot " + slot + ", call " + callId);
            return RingReader.CORRUPT;
        }
        if (state[slot] != IN_FLIGHT || callIds[slot] != callId)
        {
            lateReplies++;
            return RingReader.CONSUMED;
        }
        if (service != services[slot] || status < 0 || status >= STATUSES.length || payload < 0
            || payload > slotBytes || payload > length - IpcLayout.MSG_HEADER)
        {
            completeCorrupt(slot, callId, "service " + service + ", status " + status + ", length " + payload);
            return RingReader.CONSUMED;
        }
        complete(slot, callId, status, buffer, index + IpcLayout.MSG_HEADER, payload);
        return RingReader.CONSUMED;
    }

    /**
     * Completes a call in flight with the reply at {@code at} (status checked), after failing the calls before it
     * to the same service that were lost.
     */
    private void complete(
        final int slot, final long callId, final int status, final UnsafeBuffer buffer, final int at, final int length)
    {
        final int service = services[slot];
        popUntil(service, slot, callId);
        if (status == IpcLayout.STATUS_OK)
        {
            completion.ok(callId, service, buffer, at, length);
        }
        else
        {
            completion.failed(callId, service, STATUSES[status], new RemoteFailureException(
                buffer.getStringWithoutLengthUtf8(at, length)));
        }
        deliver(slot);
    }

    /** Completes a call in flight FAILED: its reply record named it, but the rest of the record made no sense. */
    private void completeCorrupt(final int slot, final long callId, final String fields)
    {
        corruptRecords++;
        final int service = services[slot];
        popUntil(service, slot, callId);
        completion.failed(callId, service, Status.FAILED, new RemoteFailureException("corrupt reply record to call "
            + callId + ": " + fields));
        deliver(slot);
    }

    /**
     * DIRECT mode: a call record of this client's lane to {@code service}, its reply written over the request.
     */
    private int onCallRecord(final int service, final UnsafeBuffer buffer, final int index, final int length)
    {
        if (length < IpcLayout.MSG_HEADER)
        {
            return RingReader.CORRUPT;
        }
        // RingReader checked that [index, index + length) lies inside the ring, and length covers the header.
        final long callId = RawMemory.getLong(buffer, index + IpcLayout.CALL_ID_OFFSET);
        final int gen = RawMemory.getInt(buffer, index + IpcLayout.CALL_GENERATION_OFFSET);
        final int slot = RawMemory.getInt(buffer, index + IpcLayout.CALL_SLOT_OFFSET);
        final int payload = RawMemory.getInt(buffer, index + IpcLayout.CALL_LENGTH_OFFSET);
        final int status = RawMemory.getInt(buffer, index + IpcLayout.CALL_STATUS_OFFSET);
        // Only this client (this generation: the lane was zeroed when it attached) writes call records here.
        if (gen != generation || slot < 0 || slot >= maxInFlight || callId < 0 || callId >= nextId)
        {
            return RingReader.CORRUPT;
        }
        if (state[slot] != IN_FLIGHT || callIds[slot] != callId)
        {
            lateReplies++;
            return RingReader.CONSUMED;
        }
        if (services[slot] != service || status < 0 || status >= STATUSES.length || payload < 0
            || payload > slotBytes || payload > length - IpcLayout.MSG_HEADER)
        {
            completeCorrupt(slot, callId, "in the lane to service " + service + " (sent to " + services[slot]
                + "), status " + status + ", length " + payload);
            return RingReader.CONSUMED;
        }
        // Written: the headers, the request (by this client) and the reply; the rest of the slot is still zero.
        replyLanes[service].dirty(
            IpcLayout.RECORD_HEADER + IpcLayout.MSG_HEADER + Math.max(payload, stagedLengths[slot]));
        complete(slot, callId, status, buffer, index + IpcLayout.MSG_HEADER, payload);
        return RingReader.CONSUMED;
    }

    /**
     * DIRECT mode: this client found its lane to {@code service} corrupt, or out of step with its server. Its calls
     * in flight there fail; the server is asked to halt the lane so that the client can reset it.
     */
    private void breakLane(final int service, final String why)
    {
        corruptRecords++;
        failService(service, Status.FAILED, "the lane of client " + index + " to service " + service + " held a "
            + "corrupt record (" + why + "); every call in flight on it fails, since its reply may have been that "
            + "record");
        if (!laneBroken[service])
        {
            laneBroken[service] = true;
            final UnsafeBuffer lane = requestLanes[service].buffer();
            lane.putLongVolatile(layout.laneBytes + IpcLayout.HALT_REQUEST_OFFSET, laneEpochs[service] + 1);
        }
        tryResetLane(service);
    }

    /**
     * DIRECT mode: once the lane's server has halted it (it no longer reads or writes the lane), zeroes the lane,
     * moves its positions past everything seen and bumps its epoch, so that the server resumes at the new head.
     *
     * @return true if the lane is usable (reset now, or was not broken).
     */
    private boolean tryResetLane(final int service)
    {
        final UnsafeBuffer lane = requestLanes[service].buffer();
        final int capacity = layout.laneBytes;
        final long epoch = laneEpochs[service];
        if (lane.getLongVolatile(capacity + IpcLayout.SERVER_HALTED_OFFSET) != epoch + 1)
        {
            return !laneBroken[service];
        }
        // Every call still in flight on the lane is lost with it.
        if (!laneBroken[service])
        {
            corruptRecords++;
        }
        failService(service, Status.FAILED, "the server of service " + service + " found a corrupt record in the "
            + "lane of client " + index + "; every call in flight on it fails, since its reply may have been that "
            + "record");
        CallLane.reset(lane, capacity, epoch);
        laneEpochs[service] = epoch + 1;
        laneBroken[service] = false;
        replyLanes[service].unfreeze();
        return true;
    }

    /**
     * Removes a call from its service's in-flight order; the calls before it were lost (their requests or replies
     * were corrupt), since a server answers each client in order: they fail now.
     */
    private void popUntil(final int service, final int slot, final long callId)
    {
        while (fifoCount[service] > 0)
        {
            final int at = fifoHead[service];
            final int s = fifoSlots[service][at];
            final long id = fifoIds[service][at];
            fifoHead[service] = wrap(at + 1);
            fifoCount[service]--;
            if (s == slot && id == callId)
            {
                return;
            }
            if (state[s] == IN_FLIGHT && callIds[s] == id)
            {
                corruptRecords++;
                fail(s, Status.FAILED, "call " + id + " to service " + service + " was lost (a corrupt record): "
                    + "call " + callId + ", submitted after it, was answered first");
            }
        }
    }

    private void corruptCompletionRing(final String what)
    {
        corruptRecords++;
        failAllInFlight(Status.FAILED, "a reply ring of client " + index + " held a corrupt record (" + what
            + "); every call in flight fails, since its reply may have been that record");
    }

    @Override
    public void onResync(final String why)
    {
        if (readingService >= 0)
        {
            breakLane(readingService, why);
        }
        else
        {
            corruptCompletionRing(why);
        }
    }

    private void failAllInFlight(final Status status, final String why)
    {
        for (int s = 0; s < layout.maxServices; s++)
        {
            failService(s, status, why);
        }
    }

    private void failService(final int service, final Status status, final String why)
    {
        while (fifoCount[service] > 0)
        {
            final int at = fifoHead[service];
            final int s = fifoSlots[service][at];
            final long id = fifoIds[service][at];
            fifoHead[service] = wrap(at + 1);
            fifoCount[service]--;
            if (state[s] == IN_FLIGHT && callIds[s] == id)
            {
                fail(s, status, why);
            }
        }
    }

    private void checkLiveness(final long now)
    {
        if (gone == null)
        {
            final int kernelState = header.getIntVolatile(IpcLayout.KERNEL_STATE_OFFSET);
            final long kernelSilence = now - header.getLongVolatile(IpcLayout.KERNEL_HEARTBEAT_OFFSET);
            if (kernelState == IpcLayout.KERNEL_CLOSED)
            {
                goneStatus = Status.CLOSED;
                gone = "the Ferry IPC kernel at " + mapping.directory + " closed";
            }
            else if (kernelSilence > kernelTimeoutNs)
            {
                goneStatus = Status.CLOSED;
                gone = "the Ferry IPC kernel at " + mapping.directory + " (pid "
                    + header.getLong(IpcLayout.KERNEL_PID_OFFSET) + ") has not heartbeaten for "
                    + kernelSilence / 1_000_000 + " ms: it died or hangs. Restart it and attach a new client";
            }
            else if (checkOwnEntry())
            {
                return;
            }
            if (gone != null)
            {
                drainReplies();
                failAllInFlight(goneStatus, gone);
                return;
            }
        }
        else
        {
            return;
        }
        final long epoch = header.getLongVolatile(entry + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET);
        if (epoch != ownEpoch)
        {
            ownEpoch = epoch;
            drainReplies();
            corruptRecords++;
            failAllInFlight(Status.FAILED, "the kernel's mover found corrupt records in the submission ring of client "
                + index + "; calls in flight then fail, since they may have been among them");
        }
        for (int s = 0; s < layout.maxServices; s++)
        {
            if (!moverMode && (laneBroken[s] || fifoCount[s] > 0)
                && requestLanes[s].buffer().getLongVolatile(layout.laneBytes + IpcLayout.SERVER_HALTED_OFFSET)
                == laneEpochs[s] + 1)
            {
                // The server halted the lane (a corrupt record, or this client asked): replies before it first.
                drainReplies();
                tryResetLane(s);
            }
            if (fifoCount[s] == 0)
            {
                continue;
            }
            final int e = layout.serverEntry(s);
            final int serverState = header.getIntVolatile(e + IpcLayout.ENTRY_STATE_OFFSET);
            final int serverGen = header.getInt(e + IpcLayout.ENTRY_GENERATION_OFFSET);
            final long silence = now - header.getLongVolatile(e + IpcLayout.ENTRY_HEARTBEAT_OFFSET);
            final long serverEpoch = header.getLongVolatile(e + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET);
            if (serverState != IpcLayout.ATTACHED || silence > serverTimeoutNs)
            {
                drainReplies();
                failService(s, Status.FAILED, "the server of service " + s + " (pid "
                    + header.getLong(e + IpcLayout.ENTRY_PID_OFFSET) + ") "
                    + (serverState == IpcLayout.ATTACHED ? "has not heartbeaten for " + silence / 1_000_000 + " ms"
                    : "detached") + " before answering; the call may or may not have run. Retry once a server is "
                    + "attached again");
            }
            else if (serverEpoch != serverEpochs[s])
            {
                serverEpochs[s] = serverEpoch;
                drainReplies();
                corruptRecords++;
                failService(s, Status.FAILED, "the server of service " + s + " found corrupt records in its request "
                    + "ring; calls in flight to it fail, since they may have been among them");
            }
            else
            {
                failOlderGenerations(s, serverGen);
                if (fifoCount[s] > 0)
                {
                    if (moverMode)
                    {
                        failMovedUnanswered(s);
                    }
                    else
                    {
                        failPassedUnanswered(s);
                    }
                }
            }
        }
    }

    /**
     * DIRECT mode: a server publishes its cursor only after writing, in place, the replies of the calls it passed,
     * so once the cursor passed a call, its reply is in the lane. Read the cursor, drain the lanes (past their wraps
     * too), and if a call the cursor passed is still in flight, the lane is out of step (a corrupt record made this
     * client's reader and the server walk it differently): break it.
     */
    private void failPassedUnanswered(final int service)
    {
        final UnsafeBuffer lane = requestLanes[service].buffer();
        final long passed = lane.getLongVolatile(layout.laneBytes + IpcLayout.SERVER_CURSOR_OFFSET);
        drainReplies();
        final int count = fifoCount[service];
        for (int i = 0; i < count; i++)
        {
            final int at = wrap(fifoHead[service] + i);
            final int s = fifoSlots[service][at];
            if (state[s] == IN_FLIGHT && callIds[s] == fifoIds[service][at] && sentPositions[s] <= passed)
            {
                breakLane(service, "the server passed call " + callIds[s] + " but its reply could not be read");
                return;
            }
        }
    }

    /**
     * MOVER mode's {@link #failPassedUnanswered}. The mover advances the submission ring's consumer position only
     * after publishing what it read into the request lanes (or answering it itself), so once that position reaches
     * this client's producer position, every call sent so far is in a request lane or answered. Mark then the
     * lane's producer position; once the server's consumer position passes the mark, the replies to all of those
     * calls are in the reply lane or the completion ring, or were lost (a corrupt record met on the way, a record of
     * a type the server could not take). Drain them and fail what is left.
     */
    private void failMovedUnanswered(final int service)
    {
        final long mark = moverMarks[service];
        if (mark >= 0 && requestLanes[service].consumerPosition() >= mark)
        {
            final long sentBefore = moverMarkSent[service];
            moverMarks[service] = -1;
            drainReplies();
            failLostBefore(service, sentBefore);
        }
        if (moverMarks[service] < 0)
        {
            final long sent = sq.producerPosition();
            if (sq.consumerPosition() == sent)
            {
                moverMarkSent[service] = sent;
                moverMarks[service] = requestLanes[service].producerPosition();
            }
        }
    }

    /**
     * Fails the latest call in flight to {@code service} that was sent at or before {@code position}, and (since a
     * server answers each client in order) the ones before it.
     */
    private void failLostBefore(final int service, final long position)
    {
        int lost = -1;
        final int count = fifoCount[service];
        for (int i = 0; i < count; i++)
        {
            final int at = wrap(fifoHead[service] + i);
            final int s = fifoSlots[service][at];
            if (state[s] == IN_FLIGHT && callIds[s] == fifoIds[service][at] && sentPositions[s] <= position)
            {
                lost = s;
            }
        }
        if (lost >= 0)
        {
            corruptRecords++;
            final long id = callIds[lost];
            popUntil(service, lost, id);
            fail(lost, Status.FAILED, "call " + id + " to service " + service + " was read by its server but no "
                + "reply came back (a corrupt record)");
        }
    }

    /** Calls sent to a server generation that has since been replaced were lost with it. */
    private void failOlderGenerations(final int service, final int currentGeneration)
    {
        final int count = fifoCount[service];
        for (int i = 0; i < count; i++)
        {
            final int s = fifoSlots[service][wrap(fifoHead[service] + i)];
            if (state[s] == IN_FLIGHT && serverGenerations[s] != currentGeneration)
            {
                failService(service, Status.FAILED, "the server of service " + service + " was replaced (a new one "
                    + "attached) before answering; the call may or may not have run");
                return;
            }
        }
    }

    /**
     * Flushes staged calls, then waits, polling with the idle strategy, until at least one completion has been
     * handed to the handler.
     *
     * @param handler receives each completion.
     * @param limit   most completions to hand over, at least 1.
     * @return completions handed over, at least 1.
     * @throws IllegalStateException when no call is in flight, since none could ever complete.
     */
    public int await(final CompletionHandler handler, final int limit)
    {
        try
        {
            return awaitUnchecked(handler, limit);
        }
        catch (final InternalError ex)
        {
            throw mappingFault(ex);
        }
    }

    private int awaitUnchecked(final CompletionHandler handler, final int limit)
    {
        checkOwner();
        checkNotClosed();
        if (inFlight == 0)
        {
            throw new IllegalStateException("client " + index + " has no call in flight to await");
        }
        flushUnchecked();
        idle.reset();
        int n;
        boolean checked = false;
        while ((n = pollUnchecked(handler, limit)) == 0)
        {
            if (!checked)
            {
                // About to wait: refuse to wait for this thread's own service (it would wait for itself).
                checked = true;
                for (int i = 0; i < activeCount; i++)
                {
                    checkNotReentrant(activeServices[i]);
                }
            }
            idle.idle(0);
        }
        idle.reset();
        return n;
    }

    /**
     * Calls a service and waits for the reply, for at most the client's {@link #callTimeout()}. Calls made with
     * {@link #submit} must not be in flight.
     *
     * @param serviceId   the service.
     * @param request     the request bytes.
     * @param offset      where they start.
     * @param length      how many.
     * @param reply       where to copy the reply.
     * @param replyOffset from where in {@code reply}.
     * @return the reply's length.
     * @throws CallFailedException   if the call did not end OK: handler threw, server or kernel died, corrupt record,
     *                               deadline passed ({@link Status#TIMED_OUT}).
     * @throws IllegalStateException if this thread is the server of {@code serviceId} (a handler calling its own
     *                               service would wait for itself), after close, or from a thread not the owner.
     */
    public int call(
        final int serviceId,
        final DirectBuffer request,
        final int offset,
        final int length,
        final MutableDirectBuffer reply,
        final int replyOffset)
    {
        return call(serviceId, request, offset, length, reply, replyOffset, NO_DEADLINE);
    }

    /**
     * {@link #call(int, DirectBuffer, int, int, MutableDirectBuffer, int)} with a deadline of its own.
     *
     * @param serviceId   the service.
     * @param request     the request bytes.
     * @param offset      where they start.
     * @param length      how many.
     * @param reply       where to copy the reply.
     * @param replyOffset from where in {@code reply}.
     * @param timeout     how long to wait for the reply, positive; then the call ends {@link Status#TIMED_OUT}.
     * @return the reply's length.
     */
    public int call(
        final int serviceId,
        final DirectBuffer request,
        final int offset,
        final int length,
        final MutableDirectBuffer reply,
        final int replyOffset,
        final Duration timeout)
    {
        return call(serviceId, request, offset, length, reply, replyOffset, checkTimeout(timeout));
    }

    private int call(
        final int serviceId,
        final DirectBuffer request,
        final int offset,
        final int length,
        final MutableDirectBuffer reply,
        final int replyOffset,
        final long timeoutNs)
    {
        try
        {
            return callUnchecked(serviceId, request, offset, length, reply, replyOffset, timeoutNs);
        }
        catch (final InternalError ex)
        {
            final IllegalStateException fault = mappingFault(ex);
            // The call ended with the mapping (CLOSED): hand it over here, so the client owes no completion.
            deliverFailing(maxInFlight);
            syncReply = null;
            throw fault;
        }
    }

    private int callUnchecked(
        final int serviceId,
        final DirectBuffer request,
        final int offset,
        final int length,
        final MutableDirectBuffer reply,
        final int replyOffset,
        final long timeoutNs)
    {
        checkOwner();
        checkNotClosed();
        Objects.requireNonNull(reply, "reply buffer is null");
        if (handlerCalls > 0)
        {
            throw new IllegalStateException(handlerCalls + " calls made with submit() are in flight on client "
                + index + "; poll their completions with a CompletionHandler before call()");
        }
        if (Server.servesOnThisThread(mapping, serviceId))
        {
            throw reentrant(serviceId);
        }
        int slot;
        while ((slot = stage(serviceId, request, offset, length, false)) < 0)
        {
            if (pollOnce(maxInFlight) == 0)
            {
                idle.idle(0);
            }
        }
        if (timeoutNs != NO_DEADLINE)
        {
            // A deadline of its own: the clock is read now, since the caller asked for one.
            timeoutsNs[slot] = timeoutNs;
            deadlines[slot] = System.nanoTime() + timeoutNs;
        }
        // The caller's bytes stay put until this method returns, so the request is written from them straight into
        // the ring record, without the staging copy that submit() needs.
        directSlot = slot;
        directRequest = request;
        directOffset = offset;
        sync[slot] = true;
        final long id = callIds[slot];
        syncReply = reply;
        syncReplyOffset = replyOffset;
        syncDone = false;
        try
        {
            flushUnchecked();
            idle.reset();
            int empty = 0;
            while (!syncDone)
            {
                if (pollOnce(maxInFlight) == 0)
                {
                    if ((++empty & 63) == 0 && callIds[slot] == id && (state[slot] == STAGED
                        || state[slot] == IN_FLIGHT))
                    {
                        // Waiting anyway: the clock is cheap here. The sweep in poll fixes a default deadline.
                        final long deadline = deadlines[slot];
                        if (deadline != NO_DEADLINE && System.nanoTime() - deadline >= 0)
                        {
                            timeOut(slot);
                            continue;
                        }
                    }
                    idle.idle(0);
                }
            }
        }
        finally
        {
            if (state[slot] == STAGED && callIds[slot] == id)
            {
                // Left staged by an exception: a later flush sends it from the staging area.
                staging.putBytes(slot * slotBytes, request, offset, length);
            }
            syncReply = null;
            directSlot = -1;
            directRequest = null;
        }
        idle.reset();
        if (syncStatus != Status.OK)
        {
            throw new CallFailedException(id, serviceId, syncStatus, syncFailure);
        }
        return syncLength;
    }

    /**
     * Sets the deadline of the calls submitted from now on (by {@link #submit} or {@link #call} without a timeout
     * of its own): a call whose reply has not arrived by then completes {@link Status#TIMED_OUT}. Deadlines are
     * checked as the client polls, so a call may outlive its timeout by up to an eighth of it (and at most a quarter
     * of the kernel's heartbeat interval).
     *
     * @param timeout positive.
     * @return this client.
     */
    @Override
    public LaneClient callTimeout(final Duration timeout)
    {
        checkOwner();
        callTimeoutNs = checkTimeout(timeout);
        sweepIntervalNs = sweepInterval(callTimeoutNs);
        return this;
    }

    /**
     * @return the deadline given to calls without one of their own; {@link #DEFAULT_CALL_TIMEOUT} unless set.
     */
    public Duration callTimeout()
    {
        return Duration.ofNanos(callTimeoutNs);
    }

    static long checkTimeout(final Duration timeout)
    {
        Objects.requireNonNull(timeout, "timeout is null");
        if (timeout.isNegative() || timeout.isZero())
        {
            throw new IllegalArgumentException("call timeout " + timeout + " must be positive");
        }
        // Saturate: a deadline far beyond any run is as good as none, and must not overflow nanoTime arithmetic.
        return timeout.compareTo(Duration.ofDays(365)) > 0 ? Duration.ofDays(365).toNanos() : timeout.toNanos();
    }

    private void checkNotReentrant(final int serviceId)
    {
        if (Server.servesOnThisThread(mapping, serviceId))
        {
            throw reentrant(serviceId);
        }
    }

    private IllegalStateException reentrant(final int serviceId)
    {
        return new IllegalStateException("re-entrant call: the handler of service " + serviceId + " called service "
            + serviceId + " of its own kernel (" + mapping.directory + ") from its server thread; it would wait for "
            + "itself. Call another service, submit without waiting, or hand the work to another thread");
    }

    /**
     * @return calls submitted and not yet handed back, staged ones included.
     */
    public int inFlight()
    {
        checkOwner();
        return inFlight;
    }

    /**
     * @return calls staged and not yet sent.
     */
    public int staged()
    {
        checkOwner();
        return stagedCount;
    }

    /**
     * @return slots free for new calls.
     */
    public int freeSlots()
    {
        checkOwner();
        return freeCount;
    }

    /**
     * @return this client's index in the kernel's client table.
     */
    public int id()
    {
        return index;
    }

    /**
     * @return this client's generation in its table entry (one more each time the entry is reused).
     */
    public int generation()
    {
        return generation;
    }

    /**
     * @return replies that arrived after their call had already been failed, dropped.
     */
    public long lateReplies()
    {
        return lateReplies;
    }

    /**
     * @return calls that ended {@link Status#TIMED_OUT}.
     */
    public long timedOutCalls()
    {
        return timedOut;
    }

    /**
     * @return corrupt records this client met or was told of; each made calls fail, none was delivered as a reply.
     */
    public long corruptRecords()
    {
        return corruptRecords;
    }

    /**
     * @return the thread that owns this client.
     */
    public Thread owner()
    {
        return owner;
    }

    /**
     * Detaches from the kernel; the kernel reclaims the rings.
     *
     * @throws IllegalStateException if calls are in flight: poll their completions first.
     */
    @Override
    public void close()
    {
        checkOwner();
        if (closed)
        {
            return;
        }
        if (inFlight > 0)
        {
            throw new IllegalStateException("client " + index + " has " + inFlight
                + " calls in flight; poll or await their completions before closing it");
        }
        closed = true;
        Heartbeats.unregister(heartbeat);
        if (!evicted)
        {
            // One compare-and-swap of (state, generation): never detaches an entry reclaimed and taken by another
            // client.
            try
            {
                EntryTable.detach(header, entry, generation);
            }
            catch (final InternalError ex)
            {
                // The mapping faulted (truncated): nothing to detach; the kernel reclaims the entry when it can.
            }
        }
        mapping.close();
    }

    private void checkOwner()
    {
        final Thread current = Thread.currentThread();
        if (current != owner)
        {
            throw new IllegalStateException("IPC client " + index + " belongs to thread '" + owner.getName()
                + "' but was used from '" + current.getName() + "'; a client is single-threaded: attach one per "
                + "thread");
        }
    }

    /**
     * One read of this client's entry (a line only the heartbeat stamper and the kernel write, so mostly a cache
     * hit), before every flush and poll: a client whose entry was reclaimed (its process stopped past the client
     * timeout) must not write or read rings that may be another client's now. It fails its calls CLOSED without
     * reading them. A process stopped between this read and its next write can still write one batch there: that
     * window is the residue the fault model names.
     *
     * @return true if the entry is no longer this client's.
     */
    private boolean checkOwnEntry()
    {
        if (evicted)
        {
            return true;
        }
        if (RawMemory.getLongVolatile(header, entry + IpcLayout.ENTRY_STATE_OFFSET) == ownedWord)
        {
            return false;
        }
        evict("client " + index + " was detached by the kernel (its heartbeat stopped for longer than the client "
            + "timeout: was this process suspended?); attach a new client");
        return true;
    }

    /**
     * From now on this client touches none of its rings (they may be another client's, or gone): every call in
     * flight or staged fails CLOSED with {@code why}, handed over by the next polls, without reading a ring.
     */
    private void evict(final String why)
    {
        evicted = true;
        goneStatus = Status.CLOSED;
        gone = why;
        failAllInFlight(goneStatus, gone);
        while (stagedCount > 0)
        {
            final int slot = stagedQueue[stagedHead];
            stagedHead = wrap(stagedHead + 1);
            stagedCount--;
            fail(slot, goneStatus, gone);
        }
        heldBack = false;
    }

    /**
     * A fault touching the mapping (its file was truncated under it: the JVM turns the SIGBUS into an
     * {@link InternalError}): this client touches the mapping no more, fails its calls CLOSED (handed over by the next
     * polls) and says what happened.
     */
    private IllegalStateException mappingFault(final InternalError fault)
    {
        if (!evicted)
        {
            evict("the Ferry IPC mapping at " + mapping.directory + " faulted (its file was truncated or damaged: "
                + fault.getMessage() + "); restart the kernel and attach a new client");
        }
        return new IllegalStateException(gone, fault);
    }

    private void checkNotClosed()
    {
        if (closed)
        {
            throw new IllegalStateException("IPC client " + index + " is closed; attach a new one");
        }
    }

    private void checkOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("IPC client " + index + " is closed; attach a new one");
        }
        if (gone != null)
        {
            throw new IllegalStateException(gone);
        }
        final int kernelState = header.getIntVolatile(IpcLayout.KERNEL_STATE_OFFSET);
        if (kernelState != IpcLayout.KERNEL_RUNNING)
        {
            throw new IllegalStateException("the Ferry IPC kernel at " + mapping.directory + " is "
                + (kernelState == IpcLayout.KERNEL_CLOSING ? "closing" : "closed")
                + "; calls can no longer be submitted. Calls in flight still complete (OK or CLOSED): poll them");
        }
    }

    /** Diagnostics, racy when read from another thread than the owner's. */
    String debugState()
    {
        final StringBuilder b = new StringBuilder("inFlight=" + inFlight + " staged=" + stagedCount + " heldBack="
            + heldBack + " failing=" + failingCount + " free=" + freeCount + " late=" + lateReplies + " corrupt="
            + corruptRecords + " gone=" + gone);
        for (int s = 0; s < layout.maxServices; s++)
        {
            b.append(" fifo[").append(s).append("]=").append(fifoCount[s]);
            b.append(" consumed=").append(requestLanes[s].consumerPosition()).append(" produced=")
                .append(requestLanes[s].producerPosition());
            if (moverMode)
            {
                b.append(" mark=").append(moverMarks[s]);
            }
        }
        for (int i = 0; i < maxInFlight; i++)
        {
            if (state[i] != FREE)
            {
                b.append(" slot").append(i).append(":state=").append(state[i]).append(",id=").append(callIds[i])
                    .append(",pos=").append(sentPositions[i]);
            }
        }
        return b.toString();
    }

    @Override
    public String toString()
    {
        return "LaneClient{id=" + index + ", generation=" + generation + ", " + mapping.directory + "}";
    }
}
