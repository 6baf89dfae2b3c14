package dev.ferry;

import dev.ferry.Memories.Memory;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The counters that remain count what happened, readable while the kernel runs: the kernel's attached clients and
 * forwarded requests (MOVER), and nothing reclaimed, corrupt, late or timed out in a clean run. (The per-agent call
 * and batch counters of the old in-process stack are gone; deadlines and late replies are counted in
 * {@link DeadlineTest}.)
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CountersTest
{
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void countersAddUp(final Memory memory, final Mode mode)
    {
        try (Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k")).service(0, (m, l) -> l).build()
            .start())
        {
            assertEquals(0, kernel.attachedClients());
            final Client client = kernel.newClient();
            // INLINE clients run handlers on their own threads and take no entry in the client table.
            assertEquals(mode == Mode.INLINE ? 0 : 1, kernel.attachedClients());
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            for (int batch = 0; batch < 10; batch++)
            {
                for (int i = 0; i < 32; i++)
                {
                    client.submit(0, request, 0, 8);
                }
                client.flush();
                while (client.inFlight() > 0)
                {
                    client.await(c -> assertEquals(Status.OK, c.status()), 64);
                }
            }
            // The mover counts a request after publishing it: the reply may come back before the count lands.
            final long expected = mode == Mode.MOVER ? 320 : 0;
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (kernel.forwarded() < expected && System.nanoTime() - deadline < 0)
            {
                Thread.yield();
            }
            assertEquals(expected, kernel.forwarded());
            assertEquals(0, client.lateReplies());
            assertEquals(0, client.timedOutCalls());
            client.close();
            assertEquals(0, kernel.attachedClients(), "a closed client is detached at once");
            assertEquals(0, kernel.reclaimedClients(), "a client that detached was not reclaimed as dead");
            assertEquals(0, kernel.corruptRecords());
            assertNull(kernel.failure());
        }
    }
}
