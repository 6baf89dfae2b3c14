package dev.ferry;

import dev.ferry.counters.AgentCounters;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Counters per agent count what happened, readable while the kernel runs. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CountersTest
{
    @ParameterizedTest
    @EnumSource(Mode.class)
    void countersAddUp(final Mode mode)
    {
        try (Kernel kernel = Kernel.builder().mode(mode).service(0, (m, l) -> l).build().start())
        {
            final Client client = kernel.newClient();
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
                    client.await(c -> { }, 64);
                }
            }
            final List<AgentCounters> all = kernel.counters();
            final AgentCounters clientCounters = all.get(all.size() - 1);
            assertEquals("client-0", clientCounters.name());
            assertEquals(320, clientCounters.calls());
            assertEquals(10, clientCounters.batches());
            assertEquals(32.0, clientCounters.snapshot().meanBatchSize());
            if (mode != Mode.INLINE)
            {
                final AgentCounters server = all.get(0);
                assertEquals("server-0", server.name());
                // The server counts a batch after posting its completions, so the client may see its last reply
                // before the count lands: give the last update time to land (the assertion still fails if it never
                // does).
                awaitCount(server::calls, 320);
                assertEquals(320, server.calls());
                // A server batch holds at most serverBatch (64) calls, and may take the start of the next flush
                // with the end of the last one, so 320 calls make from 5 to 320 batches.
                assertTrue(server.batches() >= 5 && server.batches() <= 320, "batches " + server.batches());
                assertTrue(server.snapshot().toString().contains("calls=320"));
            }
            if (mode == Mode.MOVER)
            {
                final AgentCounters mover = all.get(1);
                assertEquals("mover-0", mover.name());
                awaitCount(mover::calls, 320);
                awaitCount(mover::completions, 320);
                assertEquals(320, mover.calls());
                assertEquals(320, mover.completions());
                assertTrue(mover.emptyPolls() > 0);
            }
        }
    }

    private static void awaitCount(final java.util.function.LongSupplier counter, final long expected)
    {
        final long deadline = System.nanoTime() + 5_000_000_000L;
        while (counter.getAsLong() < expected && System.nanoTime() < deadline)
        {
            Thread.yield();
        }
    }
}
