package dev.ferry;

import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Round trips through rings small enough to wrap every few records, with the client's liveness checks running
 * meanwhile: a reply that lies past its reply lane's wrap (behind a padding record) must be found by the check
 * that drains the ring before failing calls whose request the server has consumed.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
final class IpcWrapTest
{
    @TempDir
    Path tmp;

    @Test
    void repliesBehindTheReplyLanesWrapAreNotTakenForLost()
    {
        final Path dir = tmp.resolve("ferry-wrap");
        final Kernel kernel = Kernel.builder().directory(dir).mode(Mode.DIRECT).slotBytes(1024).maxInFlight(1)
            .laneBytes(16 * 1024).build().start();
        try (Server server = Server.builder().directory(dir).service(0, (msg, len) -> len)
            .idleStrategy(BusySpinIdleStrategy::new).start())
        {
            final LaneClient client = Lanes.attach(dir, new BusySpinIdleStrategy());
            final UnsafeBuffer request = new UnsafeBuffer(new byte[1024]);
            final Completion[] last = new Completion[1];
            final long[] failed = new long[1];
            final String[] firstFailure = new String[1];
            final CompletionHandler handler = c ->
            {
                if (c.status() != Status.OK)
                {
                    failed[0]++;
                    if (firstFailure[0] == null)
                    {
                        firstFailure[0] = c.toString();
                    }
                }
            };
            // Each 1 KiB record is 1056 bytes: the 16 KiB reply lane wraps, with a padding record, every 15
            // replies. The client's checks run every millisecond: 1.5 s gives over a thousand.
            final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
            long calls = 0;
            while (System.nanoTime() - deadline < 0)
            {
                assertTrue(client.submit(0, request, 0, 1024) >= 0);
                client.flush();
                while (client.poll(handler, 1) == 0)
                {
                    Thread.onSpinWait();
                }
                calls++;
            }
            client.close();
            assertEquals(0, failed[0], calls + " calls, first failure: " + firstFailure[0]);
            assertEquals(0, client.lateReplies());
        }
        finally
        {
            kernel.close();
        }
    }
}
