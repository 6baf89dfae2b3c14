package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@link IpcLayout#read} against hostile headers: every capacity, count and timeout at its boundaries and at values
 * whose arithmetic overflows, file lengths that disagree: each is refused with an {@link IllegalStateException}
 * naming the problem, never accepted and never failing with another exception; a valid header reads back as written.
 */
final class IpcLayoutReadTest
{
    private static final long[] HOSTILE_INTS = {
        0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE - 7, 0x7FFFFFF9, 1023, 1025, 3 << 10,
        1 << 29, 1 << 30};
    private static final long[] HOSTILE_TIMEOUTS = {0, -1, Long.MIN_VALUE, Long.MAX_VALUE,
        IpcLayout.MAX_TIMEOUT_NS + 1, 999_999};

    private final UnsafeBuffer header = new UnsafeBuffer(ByteBuffer.allocateDirect(IpcLayout.HEADER_BYTES));
    private final List<String> failures = new ArrayList<>();

    private IpcLayout valid()
    {
        header.setMemory(0, header.capacity(), (byte)0);
        final IpcLayout layout = IpcLayout.of(IpcLayout.MODE_DIRECT, 4, 2, 64, 8, 0);
        layout.writeHeader(header, 1, Timeouts.DEFAULTS);
        return layout;
    }

    @Test
    void aValidHeaderReadsBack()
    {
        final IpcLayout layout = valid();
        final IpcLayout read = IpcLayout.read(header, layout.fileLength);
        assertEquals(layout.fileLength, read.fileLength);
        assertEquals(layout.laneBytes, read.laneBytes);
    }

    @Test
    void everyHostileFieldIsRefused()
    {
        final int[] intFields = {
            IpcLayout.MODE_OFFSET, IpcLayout.MAX_CLIENTS_OFFSET, IpcLayout.MAX_SERVICES_OFFSET,
            IpcLayout.SLOT_BYTES_OFFSET, IpcLayout.MAX_IN_FLIGHT_OFFSET, IpcLayout.SQ_BYTES_OFFSET,
            IpcLayout.CQ_BYTES_OFFSET, IpcLayout.LANE_BYTES_OFFSET};
        for (final int field : intFields)
        {
            final boolean ring = field >= IpcLayout.SQ_BYTES_OFFSET;
            for (final long value : HOSTILE_INTS)
            {
                if (!ring && (value >= 0 && value <= 3 << 10))
                {
                    // A valid count or slot size.
                    continue;
                }
                final IpcLayout layout = valid();
                header.putInt(field, (int)value);
                // The declared length is made to agree with what the bad capacity would give: only the check of
                // the field itself can refuse it.
                header.putLong(IpcLayout.FILE_LENGTH_OFFSET, layoutLength(layout, field, (int)value));
                expectRefused("int field at " + field + " = " + value, Long.MAX_VALUE);
            }
        }
        for (final int field : new int[] {IpcLayout.HEARTBEAT_INTERVAL_OFFSET, IpcLayout.CLIENT_TIMEOUT_OFFSET,
            IpcLayout.SERVER_TIMEOUT_OFFSET, IpcLayout.KERNEL_TIMEOUT_OFFSET})
        {
            for (final long value : HOSTILE_TIMEOUTS)
            {
                final IpcLayout layout = valid();
                header.putLong(field, value);
                expectRefused("timeout field at " + field + " = " + value, layout.fileLength);
            }
        }
        for (final long declared : new long[] {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, Integer.MAX_VALUE + 1L})
        {
            final IpcLayout layout = valid();
            header.putLong(IpcLayout.FILE_LENGTH_OFFSET, declared);
            expectRefused("declared file length " + declared, Long.MAX_VALUE);
            valid();
            expectRefused("file shorter than declared", layout.fileLength - 1);
        }
        // The largest counts with the largest rings: a length past 2 GiB, computed without overflow.
        valid();
        header.putInt(IpcLayout.MAX_CLIENTS_OFFSET, IpcLayout.MAX_CLIENTS_LIMIT);
        header.putInt(IpcLayout.MAX_SERVICES_OFFSET, IpcLayout.MAX_SERVICES_LIMIT);
        header.putInt(IpcLayout.LANE_BYTES_OFFSET, IpcLayout.MAX_RING_BYTES);
        header.putLong(IpcLayout.FILE_LENGTH_OFFSET, Long.MAX_VALUE);
        expectRefused("the largest mapping", Long.MAX_VALUE);
        if (!failures.isEmpty())
        {
            fail(failures.size() + " headers not refused as they should be:\n" + String.join("\n", failures));
        }
    }

    private long layoutLength(final IpcLayout layout, final int field, final int value)
    {
        final int[] v = {layout.mode, layout.maxClients, layout.maxServices, layout.slotBytes, layout.maxInFlight,
            layout.sqBytes, layout.cqBytes, layout.laneBytes};
        v[(field - IpcLayout.MODE_OFFSET) / 4] = value;
        return new IpcLayout(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]).fileLength;
    }

    private void expectRefused(final String what, final long actualSize)
    {
        try
        {
            IpcLayout.read(header, actualSize);
            // A value that happens to be valid (a ring capacity of 1 << 29 is not; 3 << 10 is not a power of two).
            failures.add(what + ": accepted");
        }
        catch (final IllegalStateException expected)
        {
            // Refused, with a message.
        }
        catch (final RuntimeException ex)
        {
            failures.add(what + ": " + ex);
        }
    }
}
