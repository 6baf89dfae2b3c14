package dev.ferry;

import org.agrona.BitUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;

/**
 * The consumer side of an Agrona ring buffer in shared memory, written so that nothing read from the mapping is
 * trusted: positions, record lengths and types are checked before use, a record is read only inside
 * {@code [head, tail)} and inside the ring, and a corrupt ring is resynchronised (its unread bytes skipped and
 * zeroed, the head moved to the tail) instead of throwing. A record left uncommitted for longer than the stuck
 * timeout (a producer that died mid-write) is unblocked as Agrona does, or skipped.
 *
 * <p>A DIRECT client reads its call lanes with one ({@link #inPlace}): there the record at the head may be a call
 * still waiting for its answer (a <em>pending</em> type), where the read stops; and a corrupt lane is not
 * resynchronised by the reader, since its server may still be writing replies in it: the reader <em>freezes</em>
 * (reads nothing) until its owner has had the lane halted and reset, then {@link #unfreeze()}.
 *
 * <p>Threading: one consumer thread per ring, as with Agrona's ring buffers; producers in any process.
 */
final class RingReader
{
    static final int CONSUMED = 0;
    static final int STOP = 1;
    static final int CORRUPT = 2;

    /** Receives the records of one read. */
    interface RecordHandler
    {
        /**
         * @param buffer the ring's buffer.
         * @param index  where the record's message starts.
         * @param length the message's length, within the ring.
         * @return {@link #CONSUMED}; {@link #STOP} to leave it for the next read; {@link #CORRUPT} when its fields
         * make no sense, so that the ring is resynchronised (the record may be garbage past the producers' tail).
         */
        int onRecord(UnsafeBuffer buffer, int index, int length);

        /** The ring was resynchronised: records between the old head and the tail were skipped. */
        void onResync(String why);
    }

    private final UnsafeBuffer buffer;
    private final int capacity;
    private final int mask;
    private final int headPositionIndex;
    private final int tailPositionIndex;
    private final int expectedType;
    private final long stuckTimeoutNs;
    private final ManyToOneRingBuffer unblocker;
    private final int deferLimit;
    private int pendingTypes;
    private boolean freezeOnCorruption;
    // In-place readers: the spans of the records read but not yet released that need zeroing.
    private static final int MAX_SPANS = 64;
    private int[] spanIndex;
    private int[] spanBytes;
    private int spanCount;
    private int dirty;
    private boolean frozen;
    private int deferred;
    private long deferredHead;
    private long stuckSinceNs;
    private long stuckPosition = -1;
    private int emptyReads;
    private int claimedReads;
    private boolean stuckCheckPending;
    private long resyncs;
    private long badRecords;

    RingReader(final UnsafeBuffer ring, final int expectedType, final long stuckTimeoutNs)
    {
        this(ring, expectedType, stuckTimeoutNs, 0);
    }

    /**
     * @param deferLimit most bytes of read records whose zeroing and release (the head's advance) may wait for the
     *                   next {@link #read} or {@link #hasRecord()}, 0 for none. The producers see that much less
     *                   room meanwhile: only for a ring with that much to spare beyond what its producers can need.
     */
    RingReader(final UnsafeBuffer ring, final int expectedType, final long stuckTimeoutNs, final int deferLimit)
    {
        this.deferLimit = Math.max(0, deferLimit);
        this.buffer = ring;
        this.capacity = ring.capacity() - LaneDescriptor.TRAILER_LENGTH;
        this.mask = capacity - 1;
        this.headPositionIndex = capacity + LaneDescriptor.HEAD_OFFSET;
        this.tailPositionIndex = capacity + LaneDescriptor.TAIL_OFFSET;
        this.expectedType = expectedType;
        this.stuckTimeoutNs = stuckTimeoutNs;
        this.unblocker = new ManyToOneRingBuffer(ring);
    }

    /**
     * Makes this the reader of a call lane whose replies are written in place: a record of a type in
     * {@code pendingTypes} (types 1-31) ends a read and stays; corruption freezes the reader instead of resynchronising
     * the ring. Call before the first read.
     *
     * @return this reader.
     */
    RingReader inPlace(final int... pendingTypes)
    {
        for (final int type : pendingTypes)
        {
            if (type < 1 || type > 31)
            {
                throw new IllegalArgumentException("pending type " + type + " outside 1-31");
            }
            this.pendingTypes |= 1 << type;
        }
        this.freezeOnCorruption = true;
        this.spanIndex = new int[MAX_SPANS];
        this.spanBytes = new int[MAX_SPANS];
        return this;
    }

    /** @return true while a corrupt ring waits for its owner's reset ({@link #inPlace} readers only). */
    boolean frozen()
    {
        return frozen;
    }

    /** The owner has reset the ring (zeroed, positions moved): read again from its head. */
    void unfreeze()
    {
        frozen = false;
        deferred = 0;
        spanCount = 0;
        stuckPosition = -1;
    }

    /**
     * Reads up to {@code limit} records of the expected type.
     *
     * @return records handed to the handler.
     */
    int read(final RecordHandler handler, final int limit)
    {
        if (frozen)
        {
            return 0;
        }
        if (deferred > 0)
        {
            releaseDeferred();
        }
        // The fast path reads no producer position: a committed record's positive length is the signal, as in
        // Agrona's own reader, so the tail's cache line stays with the producers. The tail is read to validate only
        // when something looks wrong or, now and then, when the ring looks empty (to spot a stuck record).
        final long head = RawMemory.getLong(buffer, headPositionIndex);
        final int headIndex = (int)head & mask;
        final int contiguous = capacity - headIndex;
        if ((head & (LaneDescriptor.ALIGNMENT - 1)) != 0)
        {
            resync(handler, head, buffer.getLongVolatile(tailPositionIndex), "head position " + head
                + " is not aligned to " + LaneDescriptor.ALIGNMENT);
            return 0;
        }
        int bytesRead = 0;
        int count = 0;
        try
        {
            while (bytesRead < contiguous && count < limit)
            {
                final int recordIndex = headIndex + bytesRead;
                // Inside the ring: recordIndex is below the capacity and 8-aligned, so its 8-byte header fits.
                final int length = RawMemory.getIntVolatile(buffer, recordIndex);
                if (length <= 0)
                {
                    // A negative length is a record being written now: reading the producers' tail and the clock
                    // each time would pull the tail's cache line away from the writer. Both are checked only
                    // every 16 such reads, or every 1024 empty ones.
                    if (bytesRead == 0 && (length < 0 ? (++claimedReads & 15) == 0 : checkDue(true)))
                    {
                        checkStuck(handler, head);
                    }
                    break;
                }
                stuckPosition = -1;
                // Checked before it is aligned: what is left (contiguous - bytesRead) is a multiple of 8, so a
                // length within it aligns to no more than that, and cannot overflow.
                if (length < LaneDescriptor.RECORD_HEADER || length > contiguous - bytesRead)
                {
                    final long skipFrom = head + bytesRead;
                    buffer.setMemory(headIndex, bytesRead, (byte)0);
                    bytesRead = 0;
                    resync(handler, skipFrom, buffer.getLongVolatile(tailPositionIndex), "record length " + length
                        + " at position " + skipFrom + " does not fit the " + (contiguous - (skipFrom - head))
                        + " bytes left in the ring");
                    return count;
                }
                // In a call lane the type is the signal (the server flips it when the reply is written): acquire.
                final int type = pendingTypes == 0 ? RawMemory.getInt(buffer, recordIndex + LaneDescriptor.TYPE_OFFSET)
                    : RawMemory.getIntVolatile(buffer, recordIndex + LaneDescriptor.TYPE_OFFSET);
                if (type > 0 && type < 32 && ((pendingTypes >>> type) & 1) != 0)
                {
                    break;
                }
                if (type == LaneDescriptor.PADDING_TYPE && pendingTypes != 0 && !answeredAtStart())
                {
                    // A call lane's server may not have walked past this padding yet: it would find it zeroed.
                    break;
                }
                if (type != expectedType && type != LaneDescriptor.PADDING_TYPE && freezeOnCorruption)
                {
                    // In a call lane nobody writes other types: a record the client cannot use.
                    badRecords++;
                    final long at = head + bytesRead;
                    buffer.setMemory(headIndex, bytesRead, (byte)0);
                    bytesRead = 0;
                    resync(handler, at, buffer.getLongVolatile(tailPositionIndex), "record type " + type
                        + " at position " + at);
                    return count;
                }
                final int aligned = BitUtil.align(length, LaneDescriptor.ALIGNMENT);
                bytesRead += aligned;
                if (type == LaneDescriptor.PADDING_TYPE)
                {
                    // A producer writes only a padding record's header.
                    addSpan(recordIndex, LaneDescriptor.RECORD_HEADER, aligned);
                    if (spanCount == MAX_SPANS)
                    {
                        break;
                    }
                    continue;
                }
                if (type != expectedType)
                {
                    badRecords++;
                    addSpan(recordIndex, aligned, aligned);
                    if (spanCount == MAX_SPANS)
                    {
                        break;
                    }
                    continue;
                }
                dirty = aligned;
                final int outcome = handler.onRecord(buffer, recordIndex + LaneDescriptor.RECORD_HEADER,
                    length - LaneDescriptor.RECORD_HEADER);
                if (outcome == STOP)
                {
                    bytesRead -= aligned;
                    break;
                }
                addSpan(recordIndex, dirty, aligned);
                if (outcome == CORRUPT)
                {
                    final long at = head + bytesRead - aligned;
                    buffer.setMemory(headIndex, bytesRead, (byte)0);
                    bytesRead = 0;
                    resync(handler, at, buffer.getLongVolatile(tailPositionIndex), "corrupt record at position " + at);
                    return count;
                }
                count++;
                if (spanCount == MAX_SPANS)
                {
                    break;
                }
            }
        }
        finally
        {
            if (bytesRead > 0)
            {
                if (bytesRead <= deferLimit)
                {
                    // Zeroed and released on the next look at the ring, off the path from this read to the
                    // caller's next write: the zeroing stores would otherwise hold up its next locked instruction.
                    deferred = bytesRead;
                    deferredHead = head;
                }
                else
                {
                    zeroAndAdvance(head, bytesRead, bytesRead);
                }
            }
        }
        // Stopped at the ring's end (a padding record, or records up to it): the next record is at the start. Read
        // on from there now, or a reader that then waits (parks) would wait for a record already committed.
        if (bytesRead == contiguous && count < limit)
        {
            return count + read(handler, limit - count);
        }
        return count;
    }

    private void releaseDeferred()
    {
        final int bytes = deferred;
        deferred = 0;
        // The head this reader read the records at, not one read again from shared memory: the bytes to zero must
        // stay the ones checked to lie inside the ring.
        zeroAndAdvance(deferredHead, bytes, bytes);
    }

    /**
     * {@link #read} that goes on from the ring's start when the first read stopped at the ring's end: a record past
     * a wrap (behind a padding record) is read too. For a reader that must see everything committed so far, such as
     * a client that is about to fail the calls whose replies it cannot find.
     *
     * @return records handed to the handler.
     */
    int readAcrossWrap(final RecordHandler handler, final int limit)
    {
        final int n = read(handler, limit);
        return n < limit ? n + read(handler, limit - n) : n;
    }

    /**
     * Nothing committed at the head: fine if the producers have claimed nothing beyond it; if they have, a producer
     * is mid-write, or died mid-write, or the bytes were overwritten. Past the stuck timeout, let Agrona pad over the
     * record or, if it cannot, skip everything unread.
     */
    private void checkStuck(final RecordHandler handler, final long head)
    {
        final long tail = buffer.getLongVolatile(tailPositionIndex);
        final long available = tail - head;
        if (available == 0)
        {
            stuckPosition = -1;
            return;
        }
        if (available < 0 || available > capacity)
        {
            resync(handler, head, tail, "positions out of range: head " + head + ", tail " + tail + ", capacity "
                + capacity);
            return;
        }
        if (stuck(head))
        {
            final int headIndex = (int)head & mask;
            final int length = buffer.getIntVolatile(headIndex);
            if (length < 0 && (length < -(capacity - headIndex) || length > -LaneDescriptor.RECORD_HEADER))
            {
                // Agrona would pad over it with -length bytes, which do not fit (or, for Integer.MIN_VALUE, stay
                // negative, and the ring would stay stuck).
                resync(handler, head, tail, "record length " + length + " at position " + head + " stayed "
                    + "uncommitted for longer than " + stuckTimeoutNs + " ns");
            }
            else if (unblocker.unblock())
            {
                badRecords++;
                stuckPosition = -1;
            }
            else
            {
                resync(handler, head, tail, "record at position " + head + " stayed uncommitted for longer than "
                    + stuckTimeoutNs + " ns");
            }
        }
    }

    /**
     * In-place readers, at a padding record: true once the record after it, at the ring's start, is committed and
     * answered, so the server has walked past the padding (it serves in order). Anything else at the start (zero,
     * a call not answered yet) leaves the padding for a later read.
     */
    private boolean answeredAtStart()
    {
        if (RawMemory.getIntVolatile(buffer, 0) <= 0)
        {
            return false;
        }
        final int type = RawMemory.getIntVolatile(buffer, LaneDescriptor.TYPE_OFFSET);
        return type == expectedType;
    }

    /**
     * In-place readers: notes the bytes of a consumed record that were written (the rest of a call record, a whole
     * slot, is still zero), to be zeroed with the record's release.
     */
    private void addSpan(final int recordIndex, final int bytes, final int aligned)
    {
        if (spanIndex != null)
        {
            spanIndex[spanCount] = recordIndex;
            spanBytes[spanCount++] = BitUtil.align(Math.min(Math.max(bytes, LaneDescriptor.RECORD_HEADER), aligned),
                LaneDescriptor.ALIGNMENT);
        }
    }

    /**
     * During {@link RecordHandler#onRecord} of an in-place reader: only the first {@code bytes} of the record (header
     * included) were written, and need zeroing when it is released. Without it, the whole record is zeroed.
     */
    void dirty(final int bytes)
    {
        dirty = bytes;
    }

    private void zeroAndAdvance(final long head, final int zeroBytes, final int advance)
    {
        if (advance > 0 && spanIndex != null)
        {
            for (int i = 0; i < spanCount; i++)
            {
                zero(spanIndex[i], spanBytes[i]);
            }
            spanCount = 0;
            RawMemory.putLongRelease(buffer, headPositionIndex, head + advance);
        }
        else if (advance > 0)
        {
            zero((int)head & mask, zeroBytes);
            RawMemory.putLongRelease(buffer, headPositionIndex, head + advance);
        }
    }

    private void zero(final int from, final int bytes)
    {
        if (bytes <= 256)
        {
            // A few stores beat Unsafe.setMemory's call for the usual one or two small records.
            for (int i = 0; i < bytes; i += 8)
            {
                RawMemory.putLong(buffer, from + i, 0L);
            }
        }
        else
        {
            buffer.setMemory(from, bytes, (byte)0);
        }
    }

    private boolean stuck(final long position)
    {
        final long now = System.nanoTime();
        if (stuckPosition != position)
        {
            stuckPosition = position;
            stuckSinceNs = now;
            return false;
        }
        return now - stuckSinceNs > stuckTimeoutNs;
    }

    private void resync(final RecordHandler handler, final long head, final long tail, final String why)
    {
        // Zero the whole data area, not only [head, tail): garbage may also lie past the tail, where producers have
        // not written yet, and would be read as records once the head got there.
        resyncs++;
        stuckPosition = -1;
        deferred = 0;
        spanCount = 0;
        if (freezeOnCorruption)
        {
            frozen = true;
            handler.onResync(why + " (head " + head + ", tail " + tail + ")");
            return;
        }
        buffer.setMemory(0, capacity, (byte)0);
        final long newHead = BitUtil.align(tail, LaneDescriptor.ALIGNMENT);
        if (newHead != tail)
        {
            buffer.putLongVolatile(tailPositionIndex, newHead);
        }
        buffer.putLongOrdered(headPositionIndex, newHead);
        handler.onResync(why + " (head " + head + ", tail " + tail + ")");
    }

    /**
     * The busy-poll test: one read of the length word at the head, without the producers' tail. True when a record
     * is there (committed, being written, or garbage that {@link #read} will deal with), or when the periodic check
     * for a stuck record is due, so that a poller that calls {@link #read} only when this is true still runs it.
     */
    boolean hasRecord()
    {
        if (frozen)
        {
            return false;
        }
        if (deferred > 0)
        {
            releaseDeferred();
        }
        final long head = RawMemory.getLong(buffer, headPositionIndex);
        final int index = (int)head & mask & ~(LaneDescriptor.ALIGNMENT - 1);
        if (RawMemory.getIntVolatile(buffer, index) == 0)
        {
            return checkDue(false);
        }
        if (pendingTypes == 0)
        {
            return true;
        }
        // A call lane: the record at the head may be a call still waiting for its reply.
        final int type = RawMemory.getIntVolatile(buffer, index + LaneDescriptor.TYPE_OFFSET);
        return type <= 0 || type >= 32 || ((pendingTypes >>> type) & 1) == 0;
    }

    /**
     * Counts an empty look at the head; every 1024th makes the stuck check due. {@link #hasRecord()} leaves a due
     * check pending for the {@link #read} it triggers, which consumes it.
     */
    private boolean checkDue(final boolean consume)
    {
        if (stuckCheckPending)
        {
            stuckCheckPending = !consume;
            return true;
        }
        if ((++emptyReads & 1023) == 0)
        {
            stuckCheckPending = !consume;
            return true;
        }
        return false;
    }

    /** Consumer and producer positions equal: nothing unread. */
    boolean isEmpty()
    {
        return buffer.getLongVolatile(headPositionIndex) == buffer.getLongVolatile(tailPositionIndex);
    }

    /**
     * Consumes every committed record without handing it over (zeroing it and releasing it, as a read does), up to
     * the first record not committed yet: a producer may be writing it now, and skipping past it would leave its
     * commit behind the head. Returns the bytes skipped.
     */
    long skipAll()
    {
        if (deferred > 0)
        {
            releaseDeferred();
        }
        final long from = buffer.getLongVolatile(headPositionIndex);
        long before;
        do
        {
            // Each read stops at the ring's end or at a record not committed yet.
            before = buffer.getLongVolatile(headPositionIndex);
            read(DISCARD, Integer.MAX_VALUE);
            if (deferred > 0)
            {
                releaseDeferred();
            }
        }
        while (buffer.getLongVolatile(headPositionIndex) != before);
        return buffer.getLongVolatile(headPositionIndex) - from;
    }

    private static final RecordHandler DISCARD = new RecordHandler()
    {
        @Override
        public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
        {
            return CONSUMED;
        }

        @Override
        public void onResync(final String why)
        {
        }
    };

    /** Puts the ring back to empty, positions at 0: only when no producer nor consumer can touch it. */
    void reset()
    {
        buffer.setMemory(0, buffer.capacity(), (byte)0);
        stuckPosition = -1;
        deferred = 0;
    }

    long resyncs()
    {
        return resyncs;
    }

    long badRecords()
    {
        return badRecords;
    }
}
