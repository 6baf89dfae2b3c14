package dev.ferry.ipc;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link RingWriter} writes what Agrona's {@link ManyToOneRingBuffer} writes: records of every size, across many
 * wraps, interleaved with Agrona's own producer on one ring, read back in order by Agrona's reader; the same
 * positions, capacity limits and refusals.
 */
class RingWriterTest
{
    private static final int CAPACITY = 4096;

    private static UnsafeBuffer ring()
    {
        return new UnsafeBuffer(ByteBuffer.allocateDirect(CAPACITY + RingBufferDescriptor.TRAILER_LENGTH));
    }

    @Test
    void recordsInterleaveWithAgronasProducerAcrossWraps()
    {
        final UnsafeBuffer buffer = ring();
        final RingWriter ours = new RingWriter(buffer);
        final ManyToOneRingBuffer agrona = new ManyToOneRingBuffer(buffer);
        final List<String> read = new ArrayList<>();
        final List<String> written = new ArrayList<>();
        int sequence = 0;
        for (int round = 0; round < 2000; round++)
        {
            final int length = (round * 37) % (CAPACITY / 8 + 1);
            final boolean useOurs = round % 3 != 0;
            final int at = useOurs ? ours.claim(5, length) : agrona.tryClaim(5, length);
            if (at == RingBuffer.INSUFFICIENT_CAPACITY)
            {
                agrona.read((type, b, index, len) -> read.add(type + ":" + len + ":" + b.getByte(index)), 100);
                continue;
            }
            final byte mark = (byte)sequence++;
            buffer.setMemory(at, length, mark);
            if (useOurs)
            {
                assertTrue(ours.commit(at));
            }
            else
            {
                agrona.commit(at);
            }
            written.add(5 + ":" + length + ":" + (length == 0 ? "?" : mark));
        }
        while (agrona.consumerPosition() != agrona.producerPosition())
        {
            // A read that met only the padding at the ring's end reads nothing: go on until empty.
            agrona.read((type, b, index, len) -> read.add(type + ":" + len + ":" + b.getByte(index)), 100);
        }
        assertEquals(written.size(), read.size());
        for (int i = 0; i < written.size(); i++)
        {
            final String w = written.get(i);
            final String r = read.get(i);
            assertEquals(w.endsWith("?") ? w.substring(0, w.length() - 1) : w,
                w.endsWith("?") ? r.substring(0, r.lastIndexOf(':') + 1) : r, "record " + i);
        }
        assertEquals(agrona.producerPosition(), ours.producerPosition());
        assertEquals(agrona.consumerPosition(), ours.consumerPosition());
    }

    @Test
    void refusesWhatAgronaRefuses()
    {
        final UnsafeBuffer buffer = ring();
        final RingWriter ours = new RingWriter(buffer);
        assertThrows(IllegalArgumentException.class, () -> ours.claim(5, CAPACITY / 8 + 1));
        assertThrows(IllegalArgumentException.class, () -> ours.claim(5, -1));
        int claims = 0;
        int at;
        while ((at = ours.claim(5, CAPACITY / 8)) != RingWriter.INSUFFICIENT_CAPACITY)
        {
            assertTrue(ours.commit(at));
            claims++;
        }
        assertEquals(7, claims, "a full ring of 520-byte records holds 7");
        assertThrows(IllegalArgumentException.class,
            () -> new RingWriter(new UnsafeBuffer(new byte[1000 + RingBufferDescriptor.TRAILER_LENGTH])));
    }

    @Test
    void commitReportsARecordTheReaderResynchronisedAway()
    {
        final UnsafeBuffer buffer = ring();
        final RingWriter ours = new RingWriter(buffer);
        final int at = ours.claim(5, 16);
        buffer.setMemory(0, CAPACITY, (byte)0);
        assertFalse(ours.commit(at));
    }
}
