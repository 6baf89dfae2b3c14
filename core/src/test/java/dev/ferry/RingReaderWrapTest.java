package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A read that reaches the ring's end hands over the records at its start in the same read: a reader that found only
 * the padding before the wrap, and then parked, waited out its park for a record already committed (BLOCKING mode
 * lost a wake-up at every wrap of a call lane, whose in-place reader shares this read).
 */
class RingReaderWrapTest
{
    private static final int CAPACITY = 1024;
    private static final int TYPE = 7;

    @Test
    void oneReadCrossesThePaddingAtTheEnd()
    {
        final UnsafeBuffer ring = new UnsafeBuffer(ByteBuffer.allocateDirect(CAPACITY + LaneDescriptor.TRAILER_LENGTH));
        final LaneWriter writer = new LaneWriter(ring);
        final RingReader reader = new RingReader(ring, TYPE, Long.MAX_VALUE);
        final List<Integer> seen = new ArrayList<>();
        final RingReader.RecordHandler handler = new RingReader.RecordHandler()
        {
            @Override
            public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
            {
                seen.add(buffer.getInt(index));
                return RingReader.CONSUMED;
            }

            @Override
            public void onResync(final String why)
            {
                throw new AssertionError(why);
            }
        };
        final UnsafeBuffer message = new UnsafeBuffer(new byte[120]);
        int next = 0;
        // Records of 128 bytes: seven fill the ring up to 128 bytes before its end; each is read at once.
        for (; next < 7; next++)
        {
            message.putInt(0, next);
            assertTrue(writer.write(TYPE, message, 0, 120));
            assertEquals(1, reader.read(handler, 16));
        }
        // A record of 136 bytes does not fit the 128 left: padding to the end, the record at the start.
        final UnsafeBuffer longer = new UnsafeBuffer(new byte[128]);
        longer.putInt(0, next);
        assertTrue(writer.write(TYPE, longer, 0, 128));
        assertEquals(1, reader.read(handler, 16), "the padding and the record past the wrap in one read");
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), seen);
    }
}
