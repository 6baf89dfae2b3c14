package dev.ferry.ring;

import dev.ferry.Client;
import dev.ferry.Kernel;
import dev.ferry.Mode;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How {@code Client} uses its {@link SubmissionRing} as a local queue in DIRECT and BLOCKING mode: when a full server
 * ring holds back part of a flushed batch, the client keeps it and "the next flush() or poll sends it on" (Client's
 * Javadoc). {@link SubmissionRing#available()} re-reads the producer's tail only once the entries it last saw are
 * used up, so a batch published while older entries are still held back is not counted in {@code available()}, and
 * not in the client's count of held-back calls. This test holds the server in its first call, fills its 2-entry
 * ring, flushes once more while entries are held back, then releases the server and polls.
 *
 * <p>Forbidden: any flushed call that never reaches the server, however long the client polls (the call would wait
 * forever in {@code await()}, which does not flush when nothing is staged, and park forever in BLOCKING mode).
 */
class StrandedForwardTest
{
    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "BLOCKING"})
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void everyFlushedCallReachesTheServerWhileTheClientPolls(final Mode mode) throws Exception
    {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch gate = new CountDownLatch(1);
        final boolean[] first = {true};
        final Kernel kernel = Kernel.builder()
            .mode(mode)
            .service(0, (message, length) ->
            {
                if (first[0])
                {
                    first[0] = false;
                    entered.countDown();
                    gate.await();
                }
                return length;
            })
            .serverRingCapacity(2)
            .clientCapacity(8)
            .idleStrategy(BusySpinIdleStrategy::new)
            .build()
            .start();
        final List<Long> completed = new ArrayList<>();
        try
        {
            final Client client = kernel.newClient();
            final byte[] request = new byte[8];

            // Call 0 reaches the server, which holds it: its 2-entry ring is empty again.
            assertEquals(0, client.submit(0, request));
            assertEquals(1, client.flush());
            assertTrue(entered.await(10, TimeUnit.SECONDS), "the server never started call 0");

            // Calls 1-4: the server ring takes 1 and 2; 3 and 4 are held back in the client, in order.
            for (int i = 1; i <= 4; i++)
            {
                assertEquals(i, client.submit(0, request));
            }
            assertEquals(2, client.flush(), "calls 1 and 2 fill the server ring");

            // Call 5 is flushed while 3 and 4 are still held back; the server ring is still full.
            assertEquals(5, client.submit(0, request));
            assertEquals(0, client.flush(), "the server ring is still full");

            // The server goes on; the client only polls, as await() does when nothing is staged.
            gate.countDown();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (completed.size() < 6 && System.nanoTime() - deadline < 0)
            {
                client.poll(c -> completed.add(c.id()), 16);
                Thread.onSpinWait();
            }
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L), completed,
                mode + ": a flushed call never reached the server though the client polled for 5 s; "
                    + "calls still in flight: " + client.inFlight() + ", staged: " + client.staged());
        }
        finally
        {
            gate.countDown();
            kernel.close(Duration.ofSeconds(1));
        }
    }
}
