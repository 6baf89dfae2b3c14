package dev.ferry;

import dev.ferry.Memories.Memory;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
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
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Closing a kernel lets the calls in flight drain for its drain timeout, then fails each one left explicitly with
 * {@link Status#CLOSED}; no call is lost or completed twice, new calls are refused, and no agent thread outlives
 * close, except one whose handler ignores interruption, which close reports. In both memories and every mode.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CloseTest
{
    @TempDir
    Path tmp;

    /** One call per server batch: a server that is told to stop finishes its batch first, so it stops promptly. */
    private Kernel slowKernel(
        final Memory memory, final Mode mode, final long handlerMillis, final Duration drainTimeout)
    {
        return Memories.builder(memory, mode, tmp.resolve("k"))
            .serverBatch(1)
            .drainTimeout(drainTimeout)
            .service(0, (msg, len) ->
            {
                Thread.sleep(handlerMillis);
                return len;
            })
            .build()
            .start();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void closeFailsWhatItCannotDrainAndLosesNothing(final Memory memory, final Mode mode)
    {
        final Kernel kernel = slowKernel(memory, mode, 40, Duration.ofMillis(20));
        final Client client = kernel.newClient();
        final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
        for (int i = 0; i < 50; i++)
        {
            request.putLong(0, i);
            assertEquals(i, client.submit(0, request, 0, 8));
        }
        assertEquals(50, client.flush());
        final long start = System.nanoTime();
        kernel.close();
        final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        // The drain (20 ms), the call in its handler (40 ms), the agents' stop: far from the 2 s the calls need.
        assertTrue(tookMs < 1_000, "close took " + tookMs + " ms with a drain timeout of 20 ms");
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
                    assertEquals(Status.CLOSED, c.status(), () -> String.valueOf(c.failure()));
                    assertInstanceOf(RemoteFailureException.class, c.failure());
                    assertTrue(c.failure().getMessage().contains("closed"), c.failure().getMessage());
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
        kernel.close(); // idempotent
        client.close();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void closeDrainsCallsInFlightWhenGivenTime(final Memory memory, final Mode mode)
    {
        final Kernel kernel = slowKernel(memory, mode, 1, Duration.ofSeconds(10));
        final Client client = kernel.newClient();
        final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
        for (int i = 0; i < 20; i++)
        {
            client.submit(0, request, 0, 8);
        }
        client.flush();
        final long start = System.nanoTime();
        kernel.close();
        final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMs < 5_000, "close waited " + tookMs + " ms for 20 ms of calls");
        assertNoAgentAlive(kernel);
        if (memory == Memory.SHARED)
        {
            assertFalse(Files.exists(tmp.resolve("k")), "close removes the mapping's directory");
        }
        final int[] ok = {0};
        while (client.inFlight() > 0)
        {
            client.await(c ->
            {
                assertEquals(Status.OK, c.status(), () -> String.valueOf(c.failure()));
                ok[0]++;
            }, 64);
        }
        assertEquals(20, ok[0]);
        client.close();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void stagedButUnflushedCallsFailWithClosed(final Memory memory, final Mode mode)
    {
        final Kernel kernel = slowKernel(memory, mode, 0, Duration.ofSeconds(1));
        final Client client = kernel.newClient();
        final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
        client.submit(0, request, 0, 8);
        client.submit(0, request, 0, 8);
        kernel.close();
        final int[] closed = {0};
        while (client.inFlight() > 0)
        {
            client.await(c ->
            {
                assertEquals(Status.CLOSED, c.status(), () -> String.valueOf(c.failure()));
                assertTrue(c.failure().getMessage().contains("closed"), c.failure().getMessage());
                closed[0]++;
            }, 64);
        }
        assertEquals(2, closed[0]);
        client.close();
    }

    /** A client keeps calling while another thread closes: every call it made is accounted for exactly once. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void closeRacingWithSubmitsLosesNothing(final Memory memory, final Mode mode) throws Exception
    {
        final Kernel kernel = slowKernel(memory, mode, 0, Duration.ofMillis(5));
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
                    if (c.status() != Status.OK && c.status() != Status.CLOSED)
                    {
                        throw new AssertionError("call " + c.id() + " ended " + c.status(), c.failure());
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
                    }
                    catch (final IllegalStateException closed)
                    {
                        // Submit refuses once the kernel closed; the calls made still complete.
                        break;
                    }
                    client.flush();
                    client.poll(count, 64);
                }
                while (client.inFlight() > 0)
                {
                    client.await(count, 64);
                }
                client.close();
            }
            catch (final Throwable t)
            {
                failure.set(t);
            }
        }, "racing-caller");
        caller.start();
        assertTrue(started.await(10, TimeUnit.SECONDS));
        Thread.sleep(50);
        kernel.close();
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

    /**
     * A synchronous call queued behind a busy server is failed with CLOSED by a close that gives no time to drain,
     * not left hanging, nor served after the drain timeout; the call already in its handler finishes. Client b
     * attaches first so that the server, which serves the clients' lanes in index order, does not reach b's lane in
     * the pass that finishes a's call.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void waitingSyncCallFailsWithClosed(final Memory memory, final Mode mode) throws Exception
    {
        final CountDownLatch inHandler = new CountDownLatch(1);
        final Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k"))
            .serverBatch(1)
            .drainTimeout(Duration.ZERO)
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
        final CountDownLatch bAttached = new CountDownLatch(1);
        final CountDownLatch bGo = new CountDownLatch(1);
        final Thread b = new Thread(() -> second.set(callOnce(kernel, 2, bAttached, bGo)), "caller-b");
        final Thread a = new Thread(() -> first.set(callOnce(kernel, 1, null, null)), "caller-a");
        b.start();
        assertTrue(bAttached.await(10, TimeUnit.SECONDS));
        a.start();
        assertTrue(inHandler.await(10, TimeUnit.SECONDS));
        bGo.countDown();
        Thread.sleep(50);
        kernel.close();
        a.join(10_000);
        b.join(10_000);
        assertEquals(8, first.get(), "the call already in its handler finishes");
        assertInstanceOf(CallFailedException.class, second.get(), "the queued call fails: " + second.get());
        assertEquals(Status.CLOSED, ((CallFailedException)second.get()).status());
        assertNoAgentAlive(kernel);
    }

    private static Object callOnce(
        final Kernel kernel, final long value, final CountDownLatch attached, final CountDownLatch go)
    {
        try (Client client = kernel.newClient())
        {
            if (attached != null)
            {
                attached.countDown();
                assertTrue(go.await(10, TimeUnit.SECONDS));
            }
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

    private Kernel stubbornKernel(
        final Memory memory, final Mode mode, final int round, final AtomicBoolean released,
        final CountDownLatch inHandler, final Duration callTimeout)
    {
        return Memories.builder(memory, mode, tmp.resolve("k" + round)).serverBatch(1).drainTimeout(Duration.ZERO)
            .stopTimeout(Duration.ofMillis(200)).callTimeout(callTimeout).service(0, stubborn(released, inHandler))
            .build().start();
    }

    private static void assertReportsStubbornHandler(final Kernel kernel)
    {
        final IllegalStateException ex = assertThrows(IllegalStateException.class, kernel::close);
        assertTrue(ex.getMessage().contains("the server of service 0 did not stop within 200 ms of close")
            && ex.getMessage().contains("ignores interruption"), ex.getMessage());
        assertThrows(IllegalStateException.class, kernel::newClient, "the kernel is closed all the same");
        kernel.close(); // idempotent, and quiet the second time
    }

    /**
     * A handler that ignores interruption outlives close, which says so; it is released before its call's deadline:
     * its call completes once, with its outcome, and the calls queued behind it once each, CLOSED.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void handlerIgnoringInterruptionFinishesItsCallOnce(final Memory memory, final Mode mode) throws Exception
    {
        for (int round = 0; round < 2; round++)
        {
            final AtomicBoolean released = new AtomicBoolean();
            final CountDownLatch inHandler = new CountDownLatch(1);
            final Kernel kernel = stubbornKernel(memory, mode, round, released, inHandler, Duration.ofSeconds(30));
            final Client client = kernel.newClient();
            submitThree(client);
            assertTrue(inHandler.await(10, TimeUnit.SECONDS));
            assertReportsStubbornHandler(kernel);
            released.set(true);
            // Its reply is in the lane once its agent ended.
            awaitAgentsEnded(kernel);

            final Map<Long, Status> outcomes = new HashMap<>();
            while (client.inFlight() > 0)
            {
                client.await(c -> assertNull(outcomes.put(c.id(), c.status()), "call " + c.id() + " twice"), 8);
            }
            assertEquals(Map.of(0L, Status.OK, 1L, Status.CLOSED, 2L, Status.CLOSED), outcomes);
            client.close();
            assertEquals(0, client.lateReplies());
        }
    }

    /**
     * The same handler, still running past its callers' deadlines: each call completes once, TIMED_OUT; close then
     * reports the handler, which ends once released; nothing more is ever handed over.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void handlerIgnoringInterruptionPastTheDeadlineTimesOutOnce(final Memory memory, final Mode mode)
        throws Exception
    {
        final AtomicBoolean released = new AtomicBoolean();
        final CountDownLatch inHandler = new CountDownLatch(1);
        final Kernel kernel = stubbornKernel(memory, mode, 0, released, inHandler, Duration.ofMillis(300));
        final Client client = kernel.newClient();
        submitThree(client);
        assertTrue(inHandler.await(10, TimeUnit.SECONDS));
        final Map<Long, Status> outcomes = new HashMap<>();
        while (client.inFlight() > 0)
        {
            client.await(c -> assertNull(outcomes.put(c.id(), c.status()), "call " + c.id() + " twice"), 8);
        }
        assertEquals(Map.of(0L, Status.TIMED_OUT, 1L, Status.TIMED_OUT, 2L, Status.TIMED_OUT), outcomes);
        assertEquals(3, client.timedOutCalls());
        assertReportsStubbornHandler(kernel);
        released.set(true);
        awaitAgentsEnded(kernel);
        assertEquals(0, client.poll(c ->
        {
            throw new AssertionError("a late outcome was handed over: call " + c.id() + " " + c.status());
        }, 8));
        client.close();
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

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void closeBeforeStartAndCloseTwiceAreHarmless(final Memory memory, final Mode mode)
    {
        final Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k")).service(0, (m, l) -> l).build();
        kernel.close();
        kernel.close();
        assertThrows(IllegalStateException.class, kernel::start);
        assertThrows(IllegalStateException.class, kernel::newClient);
        assertFalse(kernel.isRunning());
        if (memory == Memory.SHARED)
        {
            assertFalse(Files.exists(tmp.resolve("k")), "close removes the mapping's directory");
        }
    }

    static void assertNoAgentAlive(final Kernel kernel)
    {
        // INLINE runs no agent: its handlers run on the callers' threads.
        assertEquals(kernel.mode() == Mode.INLINE, kernel.agentThreads().isEmpty(), kernel.agentThreads()::toString);
        for (final Thread t : kernel.agentThreads())
        {
            assertFalse(t.isAlive(), t.getName() + " outlived close()");
        }
        assertFalse(kernel.isRunning());
    }
}
