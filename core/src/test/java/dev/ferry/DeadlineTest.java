package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every call has a deadline: a call whose handler blocks completes once with {@link Status#TIMED_OUT} soon after
 * its timeout, however it was made; its late reply is dropped and counted; its slot is not reused before that reply
 * is back; and the next call works.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DeadlineTest
{
    /** Generous: the machine is a noisy 2-vCPU VM. */
    private static final long MARGIN_MS = 3_000;
    private static final long BLOCK = -1;

    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch blocked = new CountDownLatch(1);
    private Kernel kernel;

    @AfterEach
    void tearDown()
    {
        release.countDown();
        if (kernel != null)
        {
            kernel.close();
        }
    }

    /** Service 0 echoes v * 10, except a request of -1, which blocks until released, then writes over its slot. */
    private Kernel start(final Mode mode, final Duration callTimeout, final int clientCapacity)
    {
        final Kernel.Builder builder = Kernel.builder().mode(mode).clientCapacity(clientCapacity)
            .service(0, (msg, len) ->
            {
                final long v = msg.getLong(0);
                if (v == BLOCK)
                {
                    blocked.countDown();
                    release.await();
                    // A late handler writing its slot: must land in no other call.
                    msg.putLong(0, 0xDEADL);
                    return 8;
                }
                msg.putLong(0, v * 10);
                return 8;
            })
            .service(1, (msg, len) -> len);
        if (callTimeout != null)
        {
            builder.callTimeout(callTimeout);
        }
        kernel = builder.build().start();
        return kernel;
    }

    private static UnsafeBuffer longBuffer(final long v)
    {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[8]);
        b.putLong(0, v);
        return b;
    }

    private static long callLong(final Client client, final long v)
    {
        final UnsafeBuffer b = longBuffer(v);
        assertEquals(8, client.call(0, b, 0, 8, b, 0));
        return b.getLong(0);
    }

    /** Releases the handler and calls until its late reply has come back and been counted. */
    private void releaseAndAwaitLateReplies(final Client client, final long expected)
    {
        release.countDown();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long v = 1;
        while (client.lateReplies() < expected && System.nanoTime() - deadline < 0)
        {
            assertEquals(v * 10, callLong(client, v), "no reply is overwritten by a late handler");
            v++;
        }
        assertEquals(expected, client.lateReplies());
        assertEquals(expected, client.counters().lateReplies());
    }

    private static void assertTimedOut(final CallFailedException ex, final long timeoutMs, final String whose)
    {
        assertEquals(Status.TIMED_OUT, ex.status());
        assertInstanceOf(TimeoutException.class, ex.getCause());
        assertEquals("call " + ex.callId() + " to service " + ex.serviceId() + " timed out after " + timeoutMs
            + " ms (" + whose + "); its handler may still run: a late reply is dropped", ex.getCause().getMessage());
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void syncCallWithItsOwnTimeoutTimesOut(final Mode mode)
    {
        final Client client = start(mode, null, 4).newClient();
        assertEquals(Client.DEFAULT_CALL_TIMEOUT, client.callTimeout());
        assertEquals(Duration.ofSeconds(10), Client.DEFAULT_CALL_TIMEOUT);
        final UnsafeBuffer b = longBuffer(BLOCK);
        final long start = System.nanoTime();
        final CallFailedException ex = assertThrows(CallFailedException.class,
            () -> client.call(0, b, 0, 8, b, 0, Duration.ofMillis(300)));
        final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTimedOut(ex, 300, "this call's timeout");
        assertTrue(tookMs >= 300 && tookMs < 300 + MARGIN_MS, "timed out after " + tookMs + " ms");
        assertEquals(0, client.inFlight(), "a timed-out call is no longer in flight");
        assertEquals(3, client.freeSlots(), "its slot waits for the late reply");
        assertEquals(1, client.counters().timeouts());
        releaseAndAwaitLateReplies(client, 1);
        // The last call's slot may still be on its way back through the mover: a poll recycles it.
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (client.freeSlots() < 4 && System.nanoTime() - deadline < 0)
        {
            assertEquals(0, client.poll(c -> { throw new AssertionError("nothing to complete: " + c.id()); }, 1));
        }
        assertEquals(4, client.freeSlots(), "the slot is back once the late reply arrived");
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void syncCallWithTheClientsTimeoutTimesOut(final Mode mode)
    {
        final Client client = start(mode, Duration.ofSeconds(30), 4).newClient();
        assertEquals(Duration.ofSeconds(30), client.callTimeout(), "the builder's timeout is the clients' default");
        assertTrue(client == client.callTimeout(Duration.ofMillis(200)));
        assertEquals(Duration.ofMillis(200), client.callTimeout());
        final UnsafeBuffer b = longBuffer(BLOCK);
        final long start = System.nanoTime();
        final CallFailedException ex = assertThrows(CallFailedException.class, () -> client.call(0, b, 0, 8, b, 0));
        final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTimedOut(ex, 200, "the client's call timeout");
        assertTrue(ex.getMessage().contains("ended TIMED_OUT"), ex.getMessage());
        assertTrue(tookMs >= 200 && tookMs < 200 + MARGIN_MS, "timed out after " + tookMs + " ms");
        // Service 1 is not blocked: it answers while service 0's handler still runs.
        final UnsafeBuffer other = longBuffer(5);
        assertEquals(8, client.call(1, other, 0, 8, other, 0));
        assertEquals(5, other.getLong(0));
        releaseAndAwaitLateReplies(client, 1);
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void futureFailsWithTimedOut(final Mode mode)
    {
        final Client client = start(mode, Duration.ofMillis(200), 4).newClient();
        final long start = System.nanoTime();
        final CompletableFuture<Reply> future = client.callAsync(0, longBuffer(BLOCK).byteArray());
        final CompletionException ex = assertThrows(CompletionException.class, future::join);
        final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertInstanceOf(CallFailedException.class, ex.getCause());
        assertTimedOut((CallFailedException)ex.getCause(), 200, "the client's call timeout");
        assertTrue(tookMs >= 200 && tookMs < 200 + MARGIN_MS, "timed out after " + tookMs + " ms");
        assertEquals(0, client.inFlight());
        releaseAndAwaitLateReplies(client, 1);
    }

    /** Calls queued behind a blocked one time out too, each once, in the order they were submitted. */
    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void submittedCallsCompleteOnceWithTimedOut(final Mode mode) throws Exception
    {
        final Client client = start(mode, Duration.ofMillis(250), 8).newClient();
        final long start = System.nanoTime();
        assertEquals(0, client.submit(0, longBuffer(BLOCK), 0, 8));
        assertEquals(1, client.submit(0, longBuffer(2), 0, 8));
        assertEquals(2, client.submit(0, longBuffer(3), 0, 8));
        client.flush();
        assertTrue(blocked.await(10, TimeUnit.SECONDS));
        final List<Long> ids = new ArrayList<>();
        while (client.inFlight() > 0)
        {
            client.await(c ->
            {
                assertEquals(Status.TIMED_OUT, c.status());
                assertEquals(0, c.length());
                assertEquals(0, c.serviceId());
                assertInstanceOf(TimeoutException.class, c.failure());
                assertTrue(c.failure().getMessage().startsWith("call " + c.id() + " to service 0 timed out after "
                    + "250 ms (the client's call timeout)"), c.failure().getMessage());
                ids.add(c.id());
            }, 8);
        }
        final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(List.of(0L, 1L, 2L), ids, "each call completed once, in order");
        assertTrue(tookMs >= 250 && tookMs < 250 + MARGIN_MS, "timed out after " + tookMs + " ms");
        assertEquals(3, client.counters().timeouts());
        assertEquals(5, client.freeSlots(), "three slots wait for their late replies");
        final IllegalStateException none = assertThrows(IllegalStateException.class, () -> client.await(c -> { }, 1));
        assertTrue(none.getMessage().contains("no call in flight"), none.getMessage());

        // The late replies come back and are dropped: never handed to a handler.
        release.countDown();
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (client.lateReplies() < 3 && System.nanoTime() - deadline < 0)
        {
            client.submit(1, longBuffer(7), 0, 8);
            client.await(c ->
            {
                assertEquals(Status.OK, c.status());
                assertEquals(1, c.serviceId());
                assertEquals(7, c.buffer().getLong(0));
            }, 8);
        }
        assertEquals(3, client.lateReplies());
        assertEquals(8, client.freeSlots());
        assertEquals(20, callLong(client, 2));
    }

    /** All slots held by timed-out calls whose handlers have not returned: the next call times out, not hangs. */
    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void callWaitingForAFreeSlotTimesOut(final Mode mode)
    {
        final Client client = start(mode, Duration.ofMillis(150), 2).newClient();
        for (int i = 0; i < 2; i++)
        {
            final UnsafeBuffer b = longBuffer(BLOCK);
            assertEquals(Status.TIMED_OUT,
                assertThrows(CallFailedException.class, () -> client.call(0, b, 0, 8, b, 0)).status());
        }
        assertEquals(0, client.freeSlots());
        assertEquals(Client.BACK_PRESSURE, client.submit(1, longBuffer(1), 0, 8));
        final UnsafeBuffer b = longBuffer(1);
        final CallFailedException ex = assertThrows(CallFailedException.class, () -> client.call(1, b, 0, 8, b, 0));
        assertEquals(Status.TIMED_OUT, ex.status());
        assertTrue(ex.getCause().getMessage().contains("waiting for a free slot"), ex.getCause().getMessage());
        releaseAndAwaitLateReplies(client, 2);
    }

    /** In INLINE mode the handler runs inside flush on the caller's thread: nothing waits, so nothing times out. */
    @Test
    void inlineCallsRunToTheirEnd()
    {
        kernel = Kernel.builder().mode(Mode.INLINE).callTimeout(Duration.ofMillis(1))
            .service(0, (msg, len) ->
            {
                Thread.sleep(50);
                return len;
            })
            .build().start();
        final Client client = kernel.newClient();
        final UnsafeBuffer b = longBuffer(3);
        assertEquals(8, client.call(0, b, 0, 8, b, 0, Duration.ofMillis(1)));
        client.submit(0, b, 0, 8);
        client.await(c -> assertEquals(Status.OK, c.status()), 1);
        assertEquals(0, client.counters().timeouts());
    }

    @Test
    void timeoutsMustBePositive()
    {
        final Kernel k = start(Mode.DIRECT, null, 2);
        final Client client = k.newClient();
        final UnsafeBuffer b = longBuffer(1);
        for (final Duration bad : new Duration[] {Duration.ZERO, Duration.ofMillis(-1)})
        {
            final IllegalArgumentException ex =
                assertThrows(IllegalArgumentException.class, () -> client.callTimeout(bad));
            assertTrue(ex.getMessage().contains("must be positive"), ex.getMessage());
            assertThrows(IllegalArgumentException.class, () -> client.call(0, b, 0, 8, b, 0, bad));
            assertThrows(IllegalArgumentException.class, () -> Kernel.builder().callTimeout(bad));
        }
        assertThrows(NullPointerException.class, () -> client.callTimeout(null));
        assertThrows(NullPointerException.class, () -> client.call(0, b, 0, 8, b, 0, null));
        // A huge timeout is a long one, not an overflow.
        assertEquals(8, client.call(0, b, 0, 8, b, 0, Duration.ofSeconds(Long.MAX_VALUE)));
    }
}
