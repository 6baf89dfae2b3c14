package dev.ferry;

import org.agrona.BitUtil;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;

/**
 * The server's side of one DIRECT-mode call lane: the request lane of one client to the server's service, in which
 * each call's reply is written over its request (layout version 3). The client produces the records (one whole slot
 * each, committed as {@link LaneWriter} commits) and, later, consumes the replies from the lane's head, zeroing and
 * releasing them; the server reads between the two with a cursor of its own, which it publishes in the trailer
 * ({@link IpcLayout#SERVER_CURSOR_OFFSET}) for a server that replaces it and for the client's check for lost calls.
 *
 * <p>A call record goes REQUEST → REPLYING → REPLY: the server marks the record REPLYING before the handler runs
 * (the handler works in place, its buffer the record's slot: request in, reply written over it), then writes the
 * reply's length and status and stores REPLY (release), which is the client's signal. A server that finds a
 * REPLYING record (its predecessor died while running that call or writing its reply) answers it FAILED: the call
 * may have run, and its request may be half overwritten.
 *
 * <p>Nothing read from the lane is trusted. A record that cannot be walked past (a length that does not fit, a type
 * that is none of the above) <em>halts</em> the lane: the server stops reading it and stores the lane's epoch + 1 at
 * {@link IpcLayout#SERVER_HALTED_OFFSET}. The lane's client, which both writes and consumes the records, then fails
 * its calls in flight on the lane, zeroes it, moves its positions past everything seen, and bumps the epoch at
 * {@link IpcLayout#LANE_EPOCH_OFFSET}; the server resumes at the new head. A client that finds corruption itself asks
 * for the same by storing epoch + 1 at {@link IpcLayout#HALT_REQUEST_OFFSET}. Only the halted server never touches
 * the data area, so the reset races with nothing.
 *
 * <p>The cursor never passes the client's tail. A committed request is served without reading the tail (the client
 * stores the tail before it commits, and the tail's line would cost a transfer per call); any other record (a reply,
 * one being written, padding) may be a lap old, in a full lane, so it is walked only if it lies before the tail (read
 * then, with acquire): a cursor at the tail stops there, one past it halts the lane. Every length is checked against
 * what is left of the ring before it is aligned, so no arithmetic on it can overflow.
 *
 * <p>Threading: the server's agent thread only (and the thread that attaches the server, before it starts).
 */
final class CallLane
{
    /** Serves one call whose record passed the lane's checks. */
    interface Calls
    {
        /**
         * @param lane         the lane's buffer.
         * @param record       where the record starts (its 8-byte header); the record lies inside the ring.
         * @param recordLength the record's length, header included, at least {@link #MIN_RECORD}.
         */
        void onCall(UnsafeBuffer lane, int record, int recordLength);

        /** A record the lane could not walk past: the lane halts until its client resets it. */
        void onHalt(String why);
    }

    /** The shortest call record: the record header and the call header. */
    static final int MIN_RECORD = IpcLayout.RECORD_HEADER + IpcLayout.MSG_HEADER;
    private static final int TYPE_OFFSET = LaneDescriptor.TYPE_OFFSET;
    private static final int MSG = IpcLayout.RECORD_HEADER;
    private static final int PADDING = LaneDescriptor.PADDING_TYPE;
    /** How long a takeover walk waits, at a zeroed header, for a consuming client to store its head: a few µs. */
    private static final int TAKEOVER_SPINS = 1024;

    private final UnsafeBuffer buffer;
    private final int slotBytes;
    private final int capacity;
    private final int mask;
    private final int headIndex;
    private final int tailIndex;
    private final int cursorIndex;
    private final int haltedIndex;
    private final int epochIndex;
    private final int haltRequestIndex;

    private long cursor;
    // After a takeover: calls before this position were left by the predecessor and are answered FAILED, never run,
    // even if the walk had to stop short of them (a reply the client was consuming) and serve() reaches them later.
    private long leftUntil;
    private int leftService;
    private long epoch;
    private boolean halted;
    private int boundGeneration;
    private int emptyReads;

    /**
     * @param ring      the lane's data area followed by its trailer.
     * @param slotBytes the mapping's slot size: the longest reply.
     */
    CallLane(final UnsafeBuffer ring, final int slotBytes)
    {
        this.buffer = ring;
        this.slotBytes = slotBytes;
        this.capacity = ring.capacity() - LaneDescriptor.TRAILER_LENGTH;
        this.mask = capacity - 1;
        this.headIndex = capacity + LaneDescriptor.HEAD_OFFSET;
        this.tailIndex = capacity + LaneDescriptor.TAIL_OFFSET;
        this.cursorIndex = capacity + LaneDescriptor.SERVER_CURSOR_OFFSET;
        this.haltedIndex = capacity + LaneDescriptor.SERVER_HALTED_OFFSET;
        this.epochIndex = capacity + LaneDescriptor.LANE_EPOCH_OFFSET;
        this.haltRequestIndex = capacity + LaneDescriptor.HALT_REQUEST_OFFSET;
    }

    /** @return the client generation this lane was last bound to, 0 if none. */
    int boundGeneration()
    {
        return boundGeneration;
    }

    /**
     * Starts reading the lane of a client generation no server has served: at its head, nothing answered there yet.
     */
    void bind(final int generation)
    {
        boundGeneration = generation;
        leftUntil = 0;
        epoch = buffer.getLongVolatile(epochIndex);
        halted = false;
        emptyReads = 0;
        cursor = buffer.getLongVolatile(headIndex);
        if (cursor < 0 || (cursor & (LaneDescriptor.ALIGNMENT - 1)) != 0)
        {
            cursor = 0;
            halt("head position out of range");
        }
        else if (buffer.getLongVolatile(haltRequestIndex) == epoch + 1
            || buffer.getLongVolatile(haltedIndex) == epoch + 1)
        {
            // The client asked for a halt, or the lane is still halted (by a predecessor) awaiting the client's
            // reset: stay off it until the reset.
            halt(null);
        }
        publishCursor();
    }

    /**
     * Takes the lane over from a server that died or was replaced: starts past what it answered (its published
     * cursor, or the head if the client has consumed further) and answers FAILED, in place, every call it left
     * unread (its caller fails it anyway when it sees the server replaced: the call must not run now) and every reply
     * it died writing. Stops at the first record not committed: the client may be writing it now.
     *
     * @return calls answered FAILED.
     */
    int takeOver(final int generation, final int service)
    {
        bind(generation);
        if (halted)
        {
            return 0;
        }
        final long published = buffer.getLongVolatile(cursorIndex);
        final long head = buffer.getLongVolatile(headIndex);
        final long tail = buffer.getLongVolatile(tailIndex);
        long at = Math.max(published, head);
        if (head < 0 || tail < head || tail - head > capacity || at > tail
            || ((at | tail) & (LaneDescriptor.ALIGNMENT - 1)) != 0)
        {
            cursor = head < 0 || (head & (LaneDescriptor.ALIGNMENT - 1)) != 0 ? 0 : head;
            halt("positions out of range: head " + head + ", tail " + tail + ", server cursor " + published);
            return 0;
        }
        // Everything before this tail was committed before the takeover: its own client's, left by the predecessor.
        leftUntil = tail;
        leftService = service;
        int failed = 0;
        // At most tail - head <= capacity bytes, each step at least one 8-byte header.
        while (at < tail)
        {
            final int index = (int)at & mask;
            final int length = buffer.getIntVolatile(index);
            if (length <= 0)
            {
                // Not committed yet (the client may be writing it now: stop), or a reply the client consumed and
                // zeroed while this walk went on (go on from its head, which it stores just after the zeroing: wait
                // for it a little; a head that never comes is left to the idle check of the positions).
                final long head2 = awaitHeadPast(at, tail);
                if (head2 < 0)
                {
                    break;
                }
                at = head2;
                continue;
            }
            final int type = buffer.getInt(index + TYPE_OFFSET);
            // Checked before it is aligned, against what is left of the ring and before the tail (both multiples of
            // 8): the aligned length cannot overflow, nor pass either.
            if (length < (type == PADDING ? LaneDescriptor.RECORD_HEADER : MIN_RECORD) || length > capacity - index
                || length > tail - at)
            {
                final long head2 = awaitHeadPast(at, tail);
                if (head2 >= 0)
                {
                    // A reply the client was consuming, read half zeroed.
                    at = head2;
                    continue;
                }
                cursor = at;
                halt("record length " + length + " at position " + at + " (tail " + tail + ")");
                return failed;
            }
            final int aligned = BitUtil.align(length, LaneDescriptor.ALIGNMENT);
            if (type == IpcLayout.REQUEST_TYPE)
            {
                fail(buffer, index, length, slotBytes, leftBehind(service));
                failed++;
            }
            else if (type == IpcLayout.REPLYING_TYPE)
            {
                fail(buffer, index, length, slotBytes, "the server of service " + service + " died running this "
                    + "call or writing its reply: the call may have run, its reply is lost");
                failed++;
            }
            else if (type != IpcLayout.REPLY_TYPE && type != PADDING)
            {
                final long head2 = awaitHeadPast(at, tail);
                if (head2 >= 0)
                {
                    at = head2;
                    continue;
                }
                cursor = at;
                halt("record type " + type + " at position " + at);
                return failed;
            }
            at += aligned;
        }
        cursor = at;
        publishCursor();
        return failed;
    }

    private static String leftBehind(final int service)
    {
        return "the server of service " + service + " was replaced before it ran this call: it did not run";
    }

    /**
     * During a takeover walk: the client's head when it has consumed past {@code at} (a sane position, at most the
     * tail the walk read), else -1. The client consumes only answered records, so everything before its head was
     * answered and needs no walk.
     */
    private long headPast(final long at, final long tail)
    {
        final long head = buffer.getLongVolatile(headIndex);
        return head > at && head <= tail && (head & (LaneDescriptor.ALIGNMENT - 1)) == 0 ? head : -1;
    }

    /**
     * {@link #headPast}, waiting a few µs for it: a client consuming a reply zeroes it, then stores its head. A client
     * descheduled in between for longer leaves the walk to stop (a zero header) or halt (a half-zeroed record).
     */
    private long awaitHeadPast(final long at, final long tail)
    {
        long head = headPast(at, tail);
        for (int spins = 0; head < 0 && spins < TAKEOVER_SPINS; spins++)
        {
            Thread.onSpinWait();
            head = headPast(at, tail);
        }
        return head;
    }

    /**
     * The busy-poll test: true when the record at the cursor shows a length, or the lane is halted, or its client
     * asked for a halt, or the periodic check of the positions is due. One read of a word the client writes per
     * call and one of a word it writes only after a corrupt record.
     */
    boolean hasWork()
    {
        return halted || RawMemory.getIntVolatile(buffer, (int)cursor & mask) != 0
            || RawMemory.getLong(buffer, haltRequestIndex) == epoch + 1 || (++emptyReads & 1023) == 0;
    }

    /**
     * Serves up to {@code limit} calls, in order, each answered in place.
     *
     * @return calls served (a REPLYING record answered FAILED counts).
     */
    int serve(final Calls calls, final int limit)
    {
        if (halted)
        {
            final long e = buffer.getLongVolatile(epochIndex);
            if (e == epoch)
            {
                return 0;
            }
            // The client reset the lane: everything before its head is gone, nothing after it answered.
            epoch = e;
            final long head = buffer.getLongVolatile(headIndex);
            if (head < 0 || (head & (LaneDescriptor.ALIGNMENT - 1)) != 0)
            {
                halt(calls, "head position " + head + " out of range after a reset");
                return 0;
            }
            halted = false;
            cursor = head;
            publishCursor();
        }
        if (RawMemory.getLong(buffer, haltRequestIndex) == epoch + 1)
        {
            halt(null);
            return 0;
        }
        final long start = cursor;
        // The client's tail, read only off the request path; a lower bound of the real one (it only grows).
        long tail = start;
        int n = 0;
        while (n < limit)
        {
            final int index = (int)cursor & mask;
            // Inside the ring: index is the cursor masked, 8-aligned (all lengths are aligned when added).
            final int length = RawMemory.getIntVolatile(buffer, index);
            if (length == 0)
            {
                if (cursor == start && (emptyReads & 1023) == 0)
                {
                    checkPositions(calls);
                }
                break;
            }
            final int type = RawMemory.getInt(buffer, index + TYPE_OFFSET);
            // The length is checked before it is aligned: index is 8-aligned and the capacity a power of two, so a
            // length up to capacity - index aligns to no more than that, and cannot overflow.
            if (type == IpcLayout.REQUEST_TYPE && length >= MIN_RECORD && length <= capacity - index)
            {
                if (cursor < leftUntil)
                {
                    fail(buffer, index, length, slotBytes, leftBehind(leftService));
                }
                else
                {
                    calls.onCall(buffer, index, length);
                }
                n++;
                cursor += BitUtil.align(length, LaneDescriptor.ALIGNMENT);
                continue;
            }
            if (length < (type == PADDING ? LaneDescriptor.RECORD_HEADER : MIN_RECORD) || length > capacity - index)
            {
                halt(calls, "record length " + length + " at position " + cursor);
                break;
            }
            if (type != IpcLayout.REPLY_TYPE && type != IpcLayout.REPLYING_TYPE && type != PADDING)
            {
                halt(calls, "record type " + type + " at position " + cursor);
                break;
            }
            final int aligned = BitUtil.align(length, LaneDescriptor.ALIGNMENT);
            if (aligned > tail - cursor)
            {
                // Not a request: the record may be a lap old (a full lane, everything answered), so it is walked
                // only if it lies before the client's tail.
                tail = buffer.getLongVolatile(tailIndex);
                if (cursor >= tail)
                {
                    if (cursor > tail)
                    {
                        halt(calls, "server cursor " + cursor + " past the client's tail " + tail);
                    }
                    break;
                }
                if (aligned > tail - cursor)
                {
                    halt(calls, "record length " + length + " at position " + cursor + " reaches past the client's "
                        + "tail " + tail);
                    break;
                }
            }
            if (cursor + aligned - start > capacity)
            {
                // At most a lap of records that are not calls per look, whatever the client does to its tail.
                break;
            }
            if (type == IpcLayout.REPLYING_TYPE)
            {
                fail(buffer, index, length, slotBytes, "an earlier server of this service died running this call or "
                    + "writing its reply: the call may have run, its reply is lost");
                n++;
            }
            cursor += aligned;
        }
        if (cursor != start)
        {
            publishCursor();
        }
        return n;
    }

    /** Now and then, on an empty look: a cursor outside the client's positions means records were garbage. */
    private void checkPositions(final Calls calls)
    {
        final long head = buffer.getLongVolatile(headIndex);
        final long tail = buffer.getLongVolatile(tailIndex);
        if (cursor < head && head <= tail && (head & (LaneDescriptor.ALIGNMENT - 1)) == 0)
        {
            // The client consumed past the cursor: everything before its head was answered (a takeover walk that
            // stopped at a reply the client was consuming leaves the cursor there). Go on from the head.
            cursor = head;
            publishCursor();
        }
        else if (cursor < head || cursor > tail)
        {
            halt(calls, "server cursor " + cursor + " outside the client's head " + head + " and tail " + tail);
        }
    }

    private void halt(final Calls calls, final String why)
    {
        calls.onHalt(why + " of the lane of client generation " + boundGeneration);
        halt(why);
    }

    private void halt(final String why)
    {
        halted = true;
        publishCursor();
        buffer.putLongVolatile(haltedIndex, epoch + 1);
    }

    /** @return true when the lane was halted (by this server) and waits for its client's reset. */
    boolean halted()
    {
        return halted;
    }

    /**
     * From any thread: true when the published cursor has reached the client's tail (every committed call answered),
     * or the lane is halted.
     */
    boolean drained()
    {
        return IpcLayout.callsAnswered(buffer, 0, capacity);
    }

    /** @return the cursor: the position of the next record to serve. */
    long cursor()
    {
        return cursor;
    }

    private void publishCursor()
    {
        buffer.putLongOrdered(cursorIndex, cursor);
    }

    /**
     * The client's reset of a lane its server halted ({@code halted == epoch + 1}): zeroes the whole data area, sets
     * tail, head cache, claim start and head one position past every position seen (the largest of head, tail and
     * server cursor, 8-aligned; a position below 0 or from 2^62, which no lane reaches, is garbage and ignored, so
     * the alignment cannot overflow), then stores epoch + 1 (release), the server's signal to resume at the new head.
     * The halted server touches nothing but the epoch, so the reset races with nothing. Lane's client only.
     *
     * @return the new head, or -1 when the lane is not halted at {@code epoch} (nothing was touched).
     */
    static long reset(final UnsafeBuffer lane, final int capacity, final long epoch)
    {
        if (lane.getLongVolatile(capacity + LaneDescriptor.SERVER_HALTED_OFFSET) != epoch + 1)
        {
            return -1;
        }
        final long head = lane.getLongVolatile(capacity + LaneDescriptor.HEAD_OFFSET);
        final long tail = lane.getLongVolatile(capacity + LaneDescriptor.TAIL_OFFSET);
        final long cursor = lane.getLongVolatile(capacity + LaneDescriptor.SERVER_CURSOR_OFFSET);
        final long position = BitUtil.align(
            Math.max(sanePosition(head), Math.max(sanePosition(tail), sanePosition(cursor))),
            LaneDescriptor.ALIGNMENT);
        lane.setMemory(0, capacity, (byte)0);
        lane.putLong(capacity + LaneDescriptor.TAIL_OFFSET, position);
        lane.putLong(capacity + LaneDescriptor.HEAD_CACHE_OFFSET, position);
        lane.putLong(capacity + LaneDescriptor.LAST_CLAIM_OFFSET, position);
        lane.putLongVolatile(capacity + LaneDescriptor.HEAD_OFFSET, position);
        lane.putLongVolatile(capacity + LaneDescriptor.LANE_EPOCH_OFFSET, epoch + 1);
        return position;
    }

    private static long sanePosition(final long position)
    {
        return position >= 0 && position < 1L << 62 ? position : 0;
    }

    /**
     * Answers a call FAILED in place, with {@code why} in UTF-8, cut to what the record and a slot hold.
     */
    static void fail(
        final UnsafeBuffer lane, final int record, final int recordLength, final int slotBytes, final String why)
    {
        final byte[] bytes = why.getBytes(StandardCharsets.UTF_8);
        // A reply never exceeds the slot (a record is a slot rounded up to whole cache lines).
        final int length = IpcLayout.utf8Prefix(bytes, Math.min(slotBytes, recordLength - MIN_RECORD));
        beginReply(lane, record, IpcLayout.STATUS_FAILED, length);
        lane.putBytes(record + MSG + IpcLayout.MSG_HEADER, bytes, 0, length);
        UnsafeApi.putIntRelease(lane.byteArray(), lane.addressOffset() + record + TYPE_OFFSET, IpcLayout.REPLY_TYPE);
    }

    private static void beginReply(final UnsafeBuffer lane, final int record, final int status, final int length)
    {
        markReplying(lane, record);
        RawMemory.putInt(lane, record + MSG + IpcLayout.CALL_LENGTH_OFFSET, length);
        RawMemory.putInt(lane, record + MSG + IpcLayout.CALL_STATUS_OFFSET, status);
    }

    /**
     * Marks a call record REPLYING: from here on its request may be overwritten (a handler working in place, or a
     * reply being written), so a server taking over answers it FAILED rather than run it.
     */
    static void markReplying(final UnsafeBuffer lane, final int record)
    {
        RawMemory.putInt(lane, record + TYPE_OFFSET, IpcLayout.REPLYING_TYPE);
        // REPLYING must be visible before any byte of the request is overwritten.
        UnsafeApi.storeStoreFence();
    }

    /**
     * Completes a reply a handler wrote in place, {@code length} bytes after the call header (checked by the caller
     * against the record and the slot): writes its length and status OK, then stores REPLY (release).
     */
    static void replied(final UnsafeBuffer lane, final int record, final int length)
    {
        RawMemory.putInt(lane, record + MSG + IpcLayout.CALL_LENGTH_OFFSET, length);
        RawMemory.putInt(lane, record + MSG + IpcLayout.CALL_STATUS_OFFSET, IpcLayout.STATUS_OK);
        UnsafeApi.putIntRelease(lane.byteArray(), lane.addressOffset() + record + TYPE_OFFSET, IpcLayout.REPLY_TYPE);
    }
}
