package dev.ferry;

import org.agrona.BitUtil;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The producer side of a single-producer ring (a <em>lane</em>) in shared memory, laid out as Agrona's ring buffers
 * are: records and padding exactly as Agrona's {@code ManyToOneRingBuffer} writes them, and a reader that zeroes
 * what it consumed before it releases it (Agrona's many-to-one reader, or {@link RingReader}), so everything from the
 * tail up to a lap past the head is zero. With one producer the tail needs no compare-and-swap: it is advanced with a
 * release store. A claim does not store the record's length negated first: the header stays zero until
 * {@link #commit} stores the length (release), so a reader polling the header sees it change once per record.
 *
 * <p>Why the reader zeroes rather than the producer (as Agrona's one-to-one producer does, zeroing the header after
 * each record it writes): measured here between two processes, 32-byte round trips were 10-15% faster this way. The
 * line a reader polls next is then one it cleaned itself, in its own cache, instead of one the producer has just
 * dirtied; for 1 KiB messages the zeroing costs more than that gains (see the README's ipc-bench section).
 *
 * <p>Accesses are unchecked: every index is the tail masked into the ring (an unaligned tail, which only a corrupt
 * trailer holds, refuses the claim), and a message is never longer than an eighth of the ring (checked per claim, as
 * Agrona does).
 *
 * <p>Threading: exactly one producer thread, in one process, for the ring (the instance holds the pending claim);
 * one consumer.
 */
final class LaneWriter
{
    /** What {@link #claim} returns when the ring has no room. */
    static final int INSUFFICIENT_CAPACITY = -2;

    private static final int HEADER = LaneDescriptor.RECORD_HEADER;
    private static final int TYPE_OFFSET = LaneDescriptor.TYPE_OFFSET;
    private static final int NONE = Integer.MIN_VALUE;

    private final UnsafeBuffer buffer;
    private final byte[] array;
    private final long address;
    private final int capacity;
    private final int maxMessage;
    private final long tailAddress;
    private final long headCacheAddress;
    private final long headAddress;
    private final long lastClaimAddress;
    /** Where the pending claim's message starts; {@link #NONE} when nothing is claimed. */
    private int pendingIndex = NONE;
    private int pendingLength;

    /**
     * @param ring the ring's data area followed by its trailer, as Agrona lays it out.
     * @throws IllegalArgumentException if the data area's capacity is not a power of two.
     */
    LaneWriter(final UnsafeBuffer ring)
    {
        this.buffer = ring;
        this.capacity = LaneDescriptor.checkCapacity(ring.capacity() - LaneDescriptor.TRAILER_LENGTH);
        this.maxMessage = capacity >> 3;
        this.array = ring.byteArray();
        this.address = ring.addressOffset();
        this.tailAddress = address + capacity + LaneDescriptor.TAIL_OFFSET;
        this.headCacheAddress = address + capacity + LaneDescriptor.HEAD_CACHE_OFFSET;
        this.headAddress = address + capacity + LaneDescriptor.HEAD_OFFSET;
        this.lastClaimAddress = address + capacity + LaneDescriptor.LAST_CLAIM_OFFSET;
    }

    /** @return the ring's buffer, data area and trailer. */
    UnsafeBuffer buffer()
    {
        return buffer;
    }

    /**
     * Claims room for a message of {@code length} bytes and writes the record's type; the length is written by
     * {@link #commit}. A record that would cross the ring's end is preceded by a padding record to the end.
     *
     * @param type   the record's type, above 0.
     * @param length the message's length in bytes.
     * @return where the message's bytes go (the index after the record header), or {@link #INSUFFICIENT_CAPACITY}.
     * @throws IllegalArgumentException if the message is longer than an eighth of the ring (Agrona's limit).
     */
    int claim(final int type, final int length)
    {
        if (type < 1)
        {
            throw new IllegalArgumentException("record type " + type + " must be at least 1");
        }
        if (length < 0 || length > maxMessage)
        {
            throw new IllegalArgumentException("message of " + length + " bytes outside 0-" + maxMessage
                + ", an eighth of the " + capacity + "-byte ring");
        }
        final int recordLength = length + HEADER;
        final int aligned = BitUtil.align(recordLength, LaneDescriptor.ALIGNMENT);
        final int mask = capacity - 1;
        long head = UnsafeApi.getLong(array, headCacheAddress);
        final long tail = UnsafeApi.getLong(array, tailAddress);
        if ((tail & (LaneDescriptor.ALIGNMENT - 1)) != 0)
        {
            // Only a corrupt trailer: its reader resynchronises the ring (an aligned tail) or has it reset.
            return INSUFFICIENT_CAPACITY;
        }
        if (aligned > capacity - (int)(tail - head))
        {
            head = UnsafeApi.getLongVolatile(array, headAddress);
            if (aligned > capacity - (int)(tail - head))
            {
                return INSUFFICIENT_CAPACITY;
            }
            UnsafeApi.putLong(array, headCacheAddress, head);
        }
        final int tailIndex = (int)tail & mask;
        final int toBufferEnd = capacity - tailIndex;
        int writeIndex = tailIndex;
        long newTail = tail + aligned;
        int padding = 0;
        if (aligned > toBufferEnd)
        {
            writeIndex = 0;
            int headIndex = (int)head & mask;
            if (aligned > headIndex)
            {
                head = UnsafeApi.getLongVolatile(array, headAddress);
                headIndex = (int)head & mask;
                UnsafeApi.putLong(array, headCacheAddress, head);
                if (aligned > headIndex)
                {
                    // Agrona pads to the end even when the record cannot follow yet; so does this, so the space at
                    // the end is not lost to a later, smaller record and both producers stay interchangeable.
                    writeIndex = INSUFFICIENT_CAPACITY;
                    newTail = tail;
                }
            }
            padding = toBufferEnd;
            newTail += padding;
        }
        UnsafeApi.putLong(array, lastClaimAddress, tail);
        UnsafeApi.putLongRelease(array, tailAddress, newTail);
        if (padding != 0)
        {
            UnsafeApi.putInt(array, address + tailIndex + TYPE_OFFSET, LaneDescriptor.PADDING_TYPE);
            UnsafeApi.putIntRelease(array, address + tailIndex, padding);
        }
        if (writeIndex == INSUFFICIENT_CAPACITY)
        {
            return INSUFFICIENT_CAPACITY;
        }
        return pending(writeIndex, recordLength, type);
    }

    private int pending(final int recordIndex, final int recordLength, final int type)
    {
        UnsafeApi.putInt(array, address + recordIndex + TYPE_OFFSET, type);
        pendingIndex = recordIndex + HEADER;
        pendingLength = recordLength;
        return pendingIndex;
    }

    /**
     * Makes the claimed record visible to the reader: stores its length (release).
     *
     * @param index what {@link #claim} returned.
     * @throws IllegalStateException if {@code index} is not the pending claim.
     */
    void commit(final int index)
    {
        if (index != pendingIndex || pendingIndex == NONE)
        {
            throw new IllegalStateException("commit of index " + index + " but "
                + (pendingIndex == NONE ? "nothing is claimed" : "the pending claim is at " + pendingIndex));
        }
        pendingIndex = NONE;
        UnsafeApi.putIntRelease(array, address + index - HEADER, pendingLength);
    }

    /**
     * Claims, copies and commits a message.
     *
     * @return false if the ring had no room.
     * @throws IllegalArgumentException if the source bytes lie outside {@code src}, or the message is too long.
     */
    boolean write(final int type, final UnsafeBuffer src, final int srcIndex, final int length)
    {
        if (srcIndex < 0 || length < 0 || length > src.capacity() - srcIndex)
        {
            throw new IllegalArgumentException("source bytes [" + srcIndex + ", " + ((long)srcIndex + length)
                + ") fall outside a buffer of " + src.capacity());
        }
        final int claimed = claim(type, length);
        if (claimed < 0)
        {
            return false;
        }
        RawMemory.copy(src, srcIndex, buffer, claimed, length);
        commit(claimed);
        return true;
    }

    /**
     * @param length a message's length, at most an eighth of the ring.
     * @return true if a claim of that length would succeed now. Only the producer can make the answer false again,
     * so a producer that checks first and claims later (after running a handler, say) is sure of the room.
     */
    boolean hasRoomFor(final int length)
    {
        final int required = BitUtil.align(length + HEADER, LaneDescriptor.ALIGNMENT);
        final long tail = UnsafeApi.getLong(array, tailAddress);
        if ((tail & (LaneDescriptor.ALIGNMENT - 1)) != 0)
        {
            return false;
        }
        final int tailIndex = (int)tail & (capacity - 1);
        final int toBufferEnd = capacity - tailIndex;
        // Crossing the end costs the padding too.
        final int needed = required > toBufferEnd ? required + toBufferEnd : required;
        long head = UnsafeApi.getLong(array, headCacheAddress);
        if (needed > capacity - (int)(tail - head))
        {
            head = UnsafeApi.getLongVolatile(array, headAddress);
            UnsafeApi.putLong(array, headCacheAddress, head);
        }
        return needed <= capacity - (int)(tail - head);
    }

    /**
     * For a new producer taking over a lane whose previous producer may have died between a claim and its commit
     * (a server replaced after a crash): pads over whatever lies claimed but uncommitted between the last committed
     * record and the tail, so that the reader is not stuck behind it. The search starts at the previous producer's
     * last claim (or the consumer's position, if that is further) and follows committed records only, never the
     * records the reader has consumed: those it zeroes before it releases them, and a zeroed length looks like an
     * uncommitted one. The reader may go on reading meanwhile; it never passes an uncommitted header.
     *
     * @return bytes padded over, 0 if none, -1 if the positions or records make no sense (left for the reader to
     * resynchronise).
     */
    int padUncommitted()
    {
        final long head = UnsafeApi.getLongVolatile(array, headAddress);
        final long tail = UnsafeApi.getLongVolatile(array, tailAddress);
        final long lastClaim = UnsafeApi.getLong(array, lastClaimAddress);
        final int mask = capacity - 1;
        // Compared, not subtracted first: a difference of hostile positions could overflow into range.
        if (head < 0 || tail < head || tail - head > capacity
            || ((head | tail) & (LaneDescriptor.ALIGNMENT - 1)) != 0)
        {
            return -1;
        }
        long position = lastClaim > head && lastClaim <= tail && (lastClaim & (LaneDescriptor.ALIGNMENT - 1)) == 0
            ? lastClaim : head;
        while (position < tail)
        {
            final int index = (int)position & mask;
            final int length = UnsafeApi.getIntVolatile(array, address + index);
            if (length <= 0)
            {
                final int gap = (int)(tail - position);
                final int toEnd = capacity - index;
                if (gap > toEnd)
                {
                    // A padding to the ring's end never published, then a record at the start: pad both, the
                    // start first, so the reader finds it padded when it gets there.
                    UnsafeApi.putInt(array, address + TYPE_OFFSET, LaneDescriptor.PADDING_TYPE);
                    UnsafeApi.putIntRelease(array, address, gap - toEnd);
                    UnsafeApi.putInt(array, address + index + TYPE_OFFSET, LaneDescriptor.PADDING_TYPE);
                    UnsafeApi.putIntRelease(array, address + index, toEnd);
                }
                else
                {
                    UnsafeApi.putInt(array, address + index + TYPE_OFFSET, LaneDescriptor.PADDING_TYPE);
                    UnsafeApi.putIntRelease(array, address + index, gap);
                }
                return gap;
            }
            // Checked before it is aligned, against what is left of the ring and before the tail (both multiples of
            // 8): the aligned length can overflow neither, nor pass them. At least a header: the walk advances.
            if (length < HEADER || length > capacity - index || length > tail - position)
            {
                return -1;
            }
            position += BitUtil.align(length, LaneDescriptor.ALIGNMENT);
        }
        return 0;
    }

    /** @return the producer's position: bytes claimed since the ring started. */
    long producerPosition()
    {
        return UnsafeApi.getLongVolatile(array, tailAddress);
    }

    /** @return the consumer's position: bytes consumed since the ring started. */
    long consumerPosition()
    {
        return UnsafeApi.getLongVolatile(array, headAddress);
    }
}
