package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Closing drains calls in flight or fails each one explicitly with {@link Status#CLOSED}; no call is lost or
 * completed twice, and no agent thread outlives close.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CloseTest
{
    private static Kernel slowKernel(final Mode mode, final long handlerMillis)
    {
        return Kernel.builder()
            .mode(mode)
            .clientCapacity(64)
            .serverBatch(1) // a server finishes its batch before it stops: one call per batch stops it promptly
            .service(0, (msg, len) ->
            {
                Thread.sleep(handlerMillis);
                return len;
            })
            .build()
            .start();
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void closeFailsWhatItCannotDrainAndLosesNothing(final Mode mode)
    {
        final Kernel kernel = slowKernel(mode, 2);
        final Client client = kernel.newClient();
        final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
        for (int i = 0; i < 50; i++)
        {
            request.putLong(0, i);
            client.submit(0, request, 0, 8);
        }
        client.flush();
        assertFalse(kernel.close(Duration.ofMillis(20)), "50 calls of 2 ms cannot drain in 20 ms");
        assertNoAgentAlive(kernel);

        final BitSet seen = new BitSet();
        final int[] ok = {0};
        final int[] closed = {0};
        while (client.inFlight() > 0)
        {
            client.await(c ->
            {
                assertFalse(seen.get((int)c.id()), "call " + c.id() + " completed twice");
                seen.set((int)c.id());
                if (c.status() == Status.OK)
                {
                    ok[0]++;
                    assertEquals(c.id(), c.buffer().getLong(0));
                }
                else
                {
                    assertEquals(Status.CLOSED, c.status());
                    closed[0]++;
                }
            }, 64);
        }
        assertEquals(50, seen.cardinality());
        assertTrue(closed[0] > 0, "some calls were failed with CLOSED");
        assertTrue(ok[0] > 0, "some calls were handled while draining");

        final IllegalStateException ex =
            assertThrows(IllegalStateException.class, () -> client.submit(0, request, 0, 8));
        assertTrue(ex.getMessage().contains("closed"), ex.getMessage());
        assertThrows(IllegalStateException.class, kernel::newClient);
        assertTrue(kernel.close(Duration.ZERO), "close is idempotent");
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void closeDrainsCallsInFlightWhenGivenTime(final Mode mode)
    {
        final Kernel kernel = slowKernel(mode, 1);
        final Client client = kernel.newClient();
        final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
        for (int i = 0; i < 20; i++)
        {
            client.submit(0, request, 0, 8);
        }
        client.flush();
        assertTrue(kernel.close(Duration.ofSeconds(10)));
        assertNoAgentAlive(kernel);
        final int[] ok = {0};
        while (client.inFlight() > 0)
        {
            client.await(c ->
            {
                assertEquals(Status.OK, c.status());
                ok[0]++;
            }, 64);
        }
        assertEquals(20, ok[0]);
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void stagedButUnflushedCallsFailWithClosed(final Mode mode)
    {
        final Kernel kernel = slowKernel(mode, 0);
        final Client client = kernel.newClient();
        final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
        client.submit(0, request, 0, 8);
        client.submit(0, request, 0, 8);
        kernel.close();
        final IllegalStateException refused = assertThrows(IllegalStateException.class, client::flush,
            "nothing is published after close");
        assertTrue(refused.getMessage().contains("the kernel is closed"), refused.getMessage());
        final int[] closed = {0};
        while (client.inFlight() > 0)
        {
            client.await(c ->
            {
                assertEquals(Status.CLOSED, c.status());
                closed[0]++;
            }, 64);
        }
        assertEquals(2, closed[0]);
    }

    /** A client keeps calling while another thread closes: every call it made is accounted for exactly once. */
    @ParameterizedTest
    @EnumSource(Mode.class)
    void closeRacingWithSubmitsLosesNothing(final Mode mode) throws Exception
    {
        final Kernel kernel = slowKernel(mode, 0);
        final AtomicLong submitted = new AtomicLong();
        final AtomicLong completed = new AtomicLong();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final CountDownLatch started = new CountDownLatch(1);
        final Thread caller = new Thread(() ->
        {
            try
            {
                final Client client = kernel.newClient();
                final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
                final BitSet seen = new BitSet();
                final CompletionHandler count = c ->
                {
                    if (seen.get((int)c.id()))
                    {
                        throw new AssertionError("call " + c.id() + " completed twice");
                    }
                    seen.set((int)c.id());
                    completed.incrementAndGet();
                };
                started.countDown();
                while (true)
                {
                    try
                    {
                        for (int i = 0; i < 8; i++)
                        {
                            if (client.submit(0, request, 0, 8) != Client.BACK_PRESSURE)
                            {
                                submitted.incrementAndGet();
                            }
                        }
                        client.flush();
                        client.poll(count, 64);
                    }
                    catch (final IllegalStateException closed)
                    {
                        // submit, flush and poll refuse once the kernel closed; the calls made still complete.
                        break;
                    }
                }
                while (client.inFlight() > 0)
                {
                    client.await(count, 64);
                }
            }
            catch (final Throwable t)
            {
                failure.set(t);
            }
        }, "racing-caller");
        caller.start();
        started.await();
        Thread.sleep(50);
        kernel.close(Duration.ofMillis(5));
        caller.join(30_000);
        assertFalse(caller.isAlive(), "the caller finished after close");
        if (failure.get() != null)
        {
            throw new AssertionError(failure.get());
        }
        assertTrue(submitted.get() > 0);
        assertEquals(submitted.get(), completed.get(), "every submitted call completed exactly once");
        assertNoAgentAlive(kernel);
    }

    /** A synchronous call waiting behind a busy server is failed with CLOSED by close, not left hanging. */
    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void waitingSyncCallFailsWithClosed(final Mode mode) throws Exception
    {
        final CountDownLatch inHandler = new CountDownLatch(1);
        final Kernel kernel = Kernel.builder()
            .mode(mode)
            .serverBatch(1)
            .service(0, (msg, len) ->
            {
                if (msg.getLong(0) == 1)
                {
                    inHandler.countDown();
                    Thread.sleep(300);
                }
                return len;
            })
            .build()
            .start();
        final AtomicReference<Object> first = new AtomicReference<>();
        final AtomicReference<Object> second = new AtomicReference<>();
        final Thread a = new Thread(() -> first.set(callOnce(kernel, 1)), "caller-a");
        final Thread b = new Thread(() -> second.set(callOnce(kernel, 2)), "caller-b");
        a.start();
        inHandler.await();
        b.start();
        Thread.sleep(50);
        kernel.close(Duration.ZERO);
        a.join(10_000);
        b.join(10_000);
        assertEquals(8, first.get(), "the call already in its handler finishes");
        assertTrue(second.get() instanceof CallFailedException, "the queued call fails: " + second.get());
        assertEquals(Status.CLOSED, ((CallFailedException)second.get()).status());
        assertNoAgentAlive(kernel);
    }

    private static Object callOnce(final Kernel kernel, final long value)
    {
        try
        {
            final Client client = kernel.newClient();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            request.putLong(0, value);
            final int length = client.call(0, request, 0, 8, request, 0);
            assertEquals(0, client.inFlight(), "a finished call is not in flight");
            return length;
        }
        catch (final Throwable t)
        {
            return t;
        }
    }

    /** Spins until released, ignoring interruption, as a handler that swallows InterruptedException does. */
    private static Handler stubborn(final AtomicBoolean released, final CountDownLatch inHandler)
    {
        return (msg, len) ->
        {
            if (msg.getLong(0) == 0)
            {
                inHandler.countDown();
                while (!released.get())
                {
                    try
                    {
                        Thread.sleep(5);
                    }
                    catch (final InterruptedException ignored)
                    {
                        // ignores interruption
                    }
                }
            }
            return len;
        };
    }

    /**
     * A handler that ignores interruption outlives close, which says so; it is released before its call's deadline:
     * its call completes once, with its outcome, and the calls queued behind it once each, CLOSED.
     */
    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void handlerIgnoringInterruptionFinishesItsCallOnce(final Mode mode) throws Exception
    {
        for (int round = 0; round < 3; round++)
        {
            final AtomicBoolean released = new AtomicBoolean();
            final CountDownLatch inHandler = new CountDownLatch(1);
            final Kernel kernel = Kernel.builder().mode(mode).stopTimeout(Duration.ofMillis(300))
                .callTimeout(Duration.ofSeconds(30)).service(0, stubborn(released, inHandler)).build().start();
            final Client client = kernel.newClient();
            submitThree(client);
            assertTrue(inHandler.await(10, TimeUnit.SECONDS));
            final IllegalStateException ex =
                assertThrows(IllegalStateException.class, () -> kernel.close(Duration.ZERO));
            assertTrue(ex.getMessage().contains("[server-0]") && ex.getMessage().contains("ignores interruption"),
                ex.getMessage());
            assertThrows(IllegalStateException.class, kernel::newClient, "the kernel is closed all the same");
            released.set(true);

            final Map<Long, Status> outcomes = new HashMap<>();
            while (client.inFlight() > 0)
            {
                client.await(c -> assertNull(outcomes.put(c.id(), c.status()), "call " + c.id() + " twice"), 8);
            }
            assertEquals(Map.of(0L, Status.OK, 1L, Status.CLOSED, 2L, Status.CLOSED), outcomes);
            awaitAgentsEnded(kernel);
            client.close();
            assertEquals(0, client.lateReplies());
        }
    }

    /**
     * The same handler, released only after its callers' deadlines: each call completes once, TIMED_OUT; the outcomes
     * that arrive later are dropped and counted, never delivered.
     */
    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void handlerIgnoringInterruptionPastTheDeadlineTimesOutOnce(final Mode mode) throws Exception
    {
        for (int round = 0; round < 3; round++)
        {
            final AtomicBoolean released = new AtomicBoolean();
            final CountDownLatch inHandler = new CountDownLatch(1);
            final Kernel kernel = Kernel.builder().mode(mode).stopTimeout(Duration.ofMillis(200))
                .callTimeout(Duration.ofMillis(500)).service(0, stubborn(released, inHandler)).build().start();
            final Client client = kernel.newClient();
            submitThree(client);
            assertTrue(inHandler.await(10, TimeUnit.SECONDS));
            assertThrows(IllegalStateException.class, () -> kernel.close(Duration.ZERO));

            final Map<Long, Status> outcomes = new HashMap<>();
            while (client.inFlight() > 0)
            {
                client.await(c -> assertNull(outcomes.put(c.id(), c.status()), "call " + c.id() + " twice"), 8);
            }
            assertEquals(Map.of(0L, Status.TIMED_OUT, 1L, Status.TIMED_OUT, 2L, Status.TIMED_OUT), outcomes);
            released.set(true);
            awaitAgentsEnded(kernel);
            client.close();
            assertEquals(3, client.lateReplies(), "the late outcomes were dropped and counted");
        }
    }

    private static void submitThree(final Client client)
    {
        final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
        for (long v = 0; v < 3; v++)
        {
            request.putLong(0, v);
            assertEquals(v, client.submit(0, request, 0, 8));
        }
        client.flush();
    }

    private static void awaitAgentsEnded(final Kernel kernel) throws InterruptedException
    {
        for (final Thread t : kernel.agentThreads())
        {
            t.join(10_000);
            assertFalse(t.isAlive(), t.getName() + " ended once its handler returned");
        }
    }

    @Test
    void closeBeforeStartAndCloseTwiceAreHarmless()
    {
        final Kernel kernel = Kernel.builder().service(0, (m, l) -> l).build();
        kernel.close();
        kernel.close();
        assertThrows(IllegalStateException.class, kernel::start);
    }

    static void assertNoAgentAlive(final Kernel kernel)
    {
        for (final Thread t : kernel.agentThreads())
        {
            assertFalse(t.isAlive(), t.getName() + " outlived close()");
        }
        for (final Thread t : Thread.getAllStackTraces().keySet())
        {
            if (t.getName().startsWith("ferry-") && t.isAlive() && kernel.agentThreads().contains(t))
            {
                throw new AssertionError(t.getName() + " outlived close()");
            }
        }
    }
}
