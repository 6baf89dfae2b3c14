package dev.ferry.ipc;

import org.agrona.BitUtil;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.RecordDescriptor;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.lang.invoke.VarHandle;

/**
 * The producer side of an Agrona many-to-one ring buffer in shared memory: {@link #claim} and {@link #commit} are
 * Agrona's {@code ManyToOneRingBuffer.tryClaim} and {@code commit}, step for step and byte for byte (a CAS on the
 * tail claims the space, the record's length is written negative at once and made positive by the commit, a record
 * that would cross the ring's end leaves a padding record), so Agrona's readers, {@link RingReader} and this writer
 * share rings freely. Only the accesses differ: unchecked, since every index is the tail masked into the ring and a
 * message never longer than an eighth of it (checked per claim, as Agrona does), where Agrona's bounds-checked
 * buffer spent about 10% of a round trip's CPU on checks that cannot fail.
 *
 * <p>Threading: any number of producers, in any process, each with its own instance or sharing one; one consumer.
 */
final class RingWriter
{
    /** What {@link #claim} returns when the ring has no room. */
    static final int INSUFFICIENT_CAPACITY = RingBuffer.INSUFFICIENT_CAPACITY;

    private static final int HEADER = RecordDescriptor.HEADER_LENGTH;
    private static final int TYPE_OFFSET = RecordDescriptor.typeOffset(0);

    private final UnsafeBuffer buffer;
    private final byte[] array;
    private final long address;
    private final int capacity;
    private final int maxMessage;
    private final long tailAddress;
    private final long headCacheAddress;
    private final long headAddress;

    /**
     * @param ring the ring's data area followed by its trailer, as Agrona lays it out.
     * @throws IllegalArgumentException if the data area's capacity is not a power of two.
     */
    RingWriter(final UnsafeBuffer ring)
    {
        this.buffer = ring;
        this.capacity = RingBufferDescriptor.checkCapacity(ring.capacity(), 2 * HEADER);
        this.maxMessage = capacity >> 3;
        this.array = ring.byteArray();
        this.address = ring.addressOffset();
        this.tailAddress = address + capacity + RingBufferDescriptor.TAIL_POSITION_OFFSET;
        this.headCacheAddress = address + capacity + RingBufferDescriptor.HEAD_CACHE_POSITION_OFFSET;
        this.headAddress = address + capacity + RingBufferDescriptor.HEAD_POSITION_OFFSET;
    }

    /** @return the ring's buffer, data area and trailer. */
    UnsafeBuffer buffer()
    {
        return buffer;
    }

    /**
     * Claims room for a message of {@code length} bytes, records its negative length and its type.
     *
     * @param type   the record's type, above 0.
     * @param length the message's length in bytes.
     * @return where the message's bytes go (the index after the record header), or {@link #INSUFFICIENT_CAPACITY}.
     * @throws IllegalArgumentException if the message is longer than an eighth of the ring (Agrona's limit).
     */
    int claim(final int type, final int length)
    {
        final int recordLength = length + HEADER;
        final int required = BitUtil.align(recordLength, RecordDescriptor.ALIGNMENT);
        if (length < 0 || length > maxMessage)
        {
            throw new IllegalArgumentException("message of " + length + " bytes outside 0-" + maxMessage
                + ", an eighth of the " + capacity + "-byte ring");
        }
        final int mask = capacity - 1;
        long head = UnsafeApi.getLongVolatile(array, headCacheAddress);
        long tail;
        long newTail;
        int tailIndex;
        int padding;
        int writeIndex;
        do
        {
            tail = UnsafeApi.getLongVolatile(array, tailAddress);
            if (required > capacity - (int)(tail - head))
            {
                head = UnsafeApi.getLongVolatile(array, headAddress);
                if (required > capacity - (int)(tail - head))
                {
                    return INSUFFICIENT_CAPACITY;
                }
                UnsafeApi.putLongRelease(array, headCacheAddress, head);
            }
            newTail = tail + required;
            padding = 0;
            tailIndex = (int)tail & mask;
            writeIndex = tailIndex;
            final int toBufferEnd = capacity - tailIndex;
            if (required > toBufferEnd)
            {
                int headIndex = (int)head & mask;
                writeIndex = 0;
                if (required > headIndex)
                {
                    head = UnsafeApi.getLongVolatile(array, headAddress);
                    headIndex = (int)head & mask;
                    if (required > headIndex)
                    {
                        writeIndex = INSUFFICIENT_CAPACITY;
                        newTail = tail;
                    }
                    UnsafeApi.putLongRelease(array, headCacheAddress, head);
                }
                padding = toBufferEnd;
                newTail += padding;
            }
        }
        while (!UnsafeApi.compareAndSetLong(array, tailAddress, tail, newTail));

        if (padding != 0)
        {
            // tailIndex is 8-aligned inside the ring: the padding record's header fits before the end.
            UnsafeApi.putIntRelease(array, address + tailIndex, -padding);
            VarHandle.releaseFence();
            UnsafeApi.putInt(array, address + tailIndex + TYPE_OFFSET, RingBuffer.PADDING_MSG_TYPE_ID);
            UnsafeApi.putIntRelease(array, address + tailIndex, padding);
        }
        if (writeIndex == INSUFFICIENT_CAPACITY)
        {
            return INSUFFICIENT_CAPACITY;
        }
        UnsafeApi.putIntRelease(array, address + writeIndex, -recordLength);
        VarHandle.releaseFence();
        UnsafeApi.putInt(array, address + writeIndex + TYPE_OFFSET, type);
        return writeIndex + HEADER;
    }

    /**
     * Makes a claimed record visible to the reader.
     *
     * @param index what {@link #claim} returned.
     * @return false if the record was no longer claimed: the reader resynchronised the ring under it (corrupt shared
     * memory), so it is lost.
     */
    boolean commit(final int index)
    {
        final int recordIndex = index - HEADER;
        if (recordIndex < 0 || recordIndex > capacity - HEADER)
        {
            throw new IllegalArgumentException("invalid message index " + index);
        }
        final int length = UnsafeApi.getInt(array, address + recordIndex);
        if (length >= 0)
        {
            return false;
        }
        UnsafeApi.putIntRelease(array, address + recordIndex, -length);
        return true;
    }

    /** @return the producers' position: bytes claimed since the ring started. */
    long producerPosition()
    {
        return UnsafeApi.getLongVolatile(array, tailAddress);
    }

    /** @return the consumer's position: bytes released since the ring started. */
    long consumerPosition()
    {
        return UnsafeApi.getLongVolatile(array, headAddress);
    }
}
