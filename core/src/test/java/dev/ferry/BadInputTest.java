package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input gets an exception whose message says what was wrong and what to do, and nothing already in flight is
 * lost.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BadInputTest
{
    private static <T extends Throwable> void assertMessage(
        final Class<T> type, final Executable call, final String... fragments)
    {
        final T ex = assertThrows(type, call);
        for (final String f : fragments)
        {
            assertTrue(ex.getMessage() != null && ex.getMessage().contains(f),
                "message '" + ex.getMessage() + "' should mention '" + f + "'");
        }
    }

    @Test
    void builderRejectsBadConfiguration()
    {
        assertMessage(NullPointerException.class, () -> Kernel.builder().service(0, null), "handler", "null");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().service(1, (m, l) -> l),
            "out of order", "must be 0");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().clientCapacity(100),
            "power of two", "64", "128");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().clientCapacity(1), "at least 2");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().serverRingCapacity(3), "power of two");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().slotBytes(0), "slotBytes");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().movers(0), "at least 1");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().serverBatch(0), "at least 1");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().moverBatch(0), "at least 1");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().maxClients(0), "at least 1");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().drainTimeout(Duration.ofSeconds(-1)),
            "negative");
        assertMessage(NullPointerException.class, () -> Kernel.builder().mode(null), "INLINE");
        assertMessage(IllegalStateException.class, () -> Kernel.builder().build(), "no services");
    }

    @Test
    void lifecycleMisuseIsExplained()
    {
        final Kernel kernel = Kernel.builder().service(0, (m, l) -> l).maxClients(1).build();
        assertMessage(IllegalStateException.class, kernel::newClient, "not started", "after start()");
        kernel.start();
        assertMessage(IllegalStateException.class, kernel::start, "once");
        final Client client = kernel.newClient();
        assertMessage(IllegalStateException.class, kernel::newClient, "maxClients", "maxClients(2)");
        client.close();
        kernel.newClient().close();
        kernel.close();
        assertMessage(IllegalStateException.class, kernel::newClient, "closed");
    }

    @Test
    void badCallsAreRefusedAndCallsInFlightSurvive()
    {
        try (Kernel kernel = Kernel.builder().mode(Mode.DIRECT).slotBytes(16).clientCapacity(4)
            .service(0, (m, l) -> l).service(1, (m, l) -> l).build().start())
        {
            final Client client = kernel.newClient();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[64]);
            request.putLong(0, 7);
            assertEquals(0, client.submit(0, request, 0, 8));
            client.flush();
            assertEquals(1, client.submit(1, request, 0, 8)); // staged, not flushed

            assertMessage(IllegalArgumentException.class, () -> client.submit(2, request, 0, 8),
                "unknown service id 2", "services 0-1");
            assertMessage(IllegalArgumentException.class, () -> client.submit(-1, request, 0, 8), "unknown service");
            assertMessage(NullPointerException.class, () -> client.submit(0, null, 0, 8), "null");
            assertMessage(NullPointerException.class, () -> client.submit(0, (byte[])null), "null");
            assertMessage(IllegalArgumentException.class, () -> client.submit(0, request, 0, 17),
                "17 bytes", "slot size of 16", "slotBytes(32)");
            assertMessage(IllegalArgumentException.class, () -> client.submit(0, request, 60, 8), "outside");
            assertMessage(IllegalArgumentException.class, () -> client.poll(c -> { }, 0), "at least 1");
            assertMessage(NullPointerException.class, () -> client.poll(null, 1), "null");
            assertMessage(IllegalStateException.class, client::close, "2 calls in flight");

            final AtomicReference<Throwable> fromOtherThread = new AtomicReference<>();
            final Thread other = new Thread(() ->
            {
                try
                {
                    client.submit(0, request, 0, 8);
                }
                catch (final Throwable t)
                {
                    fromOtherThread.set(t);
                }
            }, "intruder");
            other.start();
            try
            {
                other.join();
            }
            catch (final InterruptedException ex)
            {
                throw new AssertionError(ex);
            }
            assertTrue(fromOtherThread.get() instanceof IllegalStateException);
            assertTrue(fromOtherThread.get().getMessage().contains("'intruder'"), fromOtherThread.get().getMessage());
            assertTrue(fromOtherThread.get().getMessage().contains("newClient()"));

            // Both good calls are still there and complete.
            final int[] ok = {0};
            while (client.inFlight() > 0)
            {
                client.await(c ->
                {
                    assertEquals(Status.OK, c.status());
                    assertEquals(7, c.buffer().getLong(0));
                    ok[0]++;
                }, 4);
            }
            assertEquals(2, ok[0]);
            assertMessage(IllegalStateException.class, () -> client.await(c -> { }, 1), "no call in flight");
        }
    }

    @Test
    void callMixedWithUnpolledSubmitsIsRefused()
    {
        try (Kernel kernel = Kernel.builder().service(0, (m, l) -> l).build().start())
        {
            final Client client = kernel.newClient();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            client.submit(0, request, 0, 8);
            assertMessage(IllegalStateException.class, () -> client.call(0, request, 0, 8, request, 0),
                "1 calls made with submit()", "poll");
            client.await(c -> { }, 1);
            assertEquals(8, client.call(0, request, 0, 8, request, 0));
        }
    }
}
