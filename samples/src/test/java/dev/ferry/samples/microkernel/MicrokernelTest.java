package dev.ferry.samples.microkernel;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class MicrokernelTest
{
    @Test
    void allThreeKernelsLeaveTheSameDiskAndPrintTheirRows()
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final Microkernel.Result result =
            Microkernel.run(16, 3, 2, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        final String out = bytes.toString(StandardCharsets.UTF_8);

        assertEquals(3, result.rows().size(), out);
        final long syscalls = 16L * 3 * (2 + 2 * 2);
        final long ferryCalls = 16L * 3 * (2 + 4 * 2);
        for (final Microkernel.Row row : result.rows())
        {
            assertEquals(syscalls, row.syscalls(), row.name());
            assertEquals(ferryCalls, row.ferryCalls(), row.name());
            assertTrue(row.cpuNs() > 0, row.name() + " measured no CPU time");
            assertArrayEquals(result.rows().get(0).disk(), row.disk(), row.name());
            assertTrue(out.contains(row.name()), out);
        }
        assertEquals(1, result.rows().get(0).threads(), "INLINE runs on the caller only");
        assertEquals(3, result.rows().get(1).threads(), "BLOCKING: caller and two servers");
        assertEquals(4, result.rows().get(2).threads(), "MOVER: caller, two servers, one mover");
        assertTrue(result.rows().get(2).meanBatch() > 1, "the MOVER run should publish batches");
        assertTrue(result.disksEqual(), out);
        assertTrue(out.contains("disk states equal across all three: yes"), out);
    }

    @Test
    void theDiskHoldsWhatTheProcessesWrote()
    {
        final Microkernel.Result result = Microkernel.run(2, 1, 1, new PrintStream(new ByteArrayOutputStream()));
        final byte[] disk = result.rows().get(0).disk();
        // Process 1, session 0, round 0 writes (1 * 31 + i) at the start of its file, which begins at block 4.
        for (int i = 0; i < 16; i++)
        {
            assertEquals((byte)(31 + i), disk[4 * 64 + i], "byte " + i);
        }
        assertEquals(0, disk[4 * 64 + 16]);
    }
}
