package dev.ferry;

import dev.ferry.Memories.Memory;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every call has a deadline: a call whose handler blocks, or that cannot even be sent for the calls stuck ahead of
 * it, completes once with {@link Status#TIMED_OUT} soon after its timeout, however it was made, in both memories; its
 * slot is reused at once, its late reply is dropped and counted and lands in no other call, and the next call works.
 * INLINE runs each handler on the caller's thread to its end: nothing there times out.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DeadlineTest
{
    /** Generous: the machine is a noisy 2-vCPU VM. */
    private static final long MARGIN_MS = 3_000;
    private static final long BLOCK = -1;

    @TempDir
    Path tmp;

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

    /**
     * Service 0 echoes v * 10, except a request of -1, which blocks until released, then writes over its slot;
     * service 1 echoes.
     */
    private Kernel start(final KernelBuilder builder, final Duration callTimeout)
    {
        builder
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

    private Kernel start(final Memory memory, final Mode mode, final Duration callTimeout, final int maxInFlight)
    {
        return start(Memories.builder(memory, mode, tmp.resolve("k")).maxInFlight(maxInFlight), callTimeout);
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

    /**
     * Releases the handler and calls service 0 (whose lane holds the late replies: they are read when it next has a
     * call in flight) until they have come back and been counted.
     */
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
    }

    private static void assertTimedOut(final Throwable failure, final long callId, final int service,
        final long timeoutMs)
    {
        assertInstanceOf(RemoteFailureException.class, failure);
        assertEquals("call " + callId + " to service " + service + " timed out after " + timeoutMs + " ms (its "
            + "deadline) before its reply arrived; its handler may still run or have run: a late reply is dropped",
            failure.getMessage());
    }

    private static void assertTimedOut(final CallFailedException ex, final long timeoutMs)
    {
        assertEquals(Status.TIMED_OUT, ex.status());
        assertTimedOut(ex.getCause(), ex.callId(), ex.serviceId(), timeoutMs);
        assertTrue(ex.getMessage().contains("ended TIMED_OUT"), ex.getMessage());
    }

    private static void assertTook(final long startNs, final long timeoutMs)
    {
        final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        assertTrue(tookMs >= timeoutMs && tookMs < timeoutMs + MARGIN_MS, "timed out after " + tookMs + " ms");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void syncCallWithItsOwnTimeoutTimesOut(final Memory memory, final Mode mode)
    {
        final Client client = start(memory, mode, null, 4).newClient();
        assertEquals(Client.DEFAULT_CALL_TIMEOUT, client.callTimeout());
        assertEquals(Duration.ofSeconds(10), Client.DEFAULT_CALL_TIMEOUT);
        final UnsafeBuffer b = longBuffer(BLOCK);
        final long start = System.nanoTime();
        final CallFailedException ex = assertThrows(CallFailedException.class,
            () -> client.call(0, b, 0, 8, b, 0, Duration.ofMillis(300)));
        assertTook(start, 300);
        assertTimedOut(ex, 300);
        assertEquals(BLOCK, b.getLong(0), "a timed-out call copies no reply");
        assertEquals(0, client.inFlight(), "a timed-out call is no longer in flight");
        assertEquals(4, client.freeSlots(), "its slot is reused at once");
        assertEquals(1, client.timedOutCalls());
        assertEquals(Client.DEFAULT_CALL_TIMEOUT, client.callTimeout(), "a call's own timeout is its own");
        releaseAndAwaitLateReplies(client, 1);
        assertEquals(4, client.freeSlots());
        assertEquals(1, client.timedOutCalls());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void syncCallWithTheClientsTimeoutTimesOut(final Memory memory, final Mode mode)
    {
        final Client client = start(memory, mode, Duration.ofSeconds(30), 4).newClient();
        assertEquals(Duration.ofSeconds(30), client.callTimeout(), "the builder's timeout is the clients' default");
        assertSame(client, client.callTimeout(Duration.ofMillis(200)));
        assertEquals(Duration.ofMillis(200), client.callTimeout());
        final UnsafeBuffer b = longBuffer(BLOCK);
        final long start = System.nanoTime();
        final CallFailedException ex = assertThrows(CallFailedException.class, () -> client.call(0, b, 0, 8, b, 0));
        assertTook(start, 200);
        assertTimedOut(ex, 200);
        // Service 1 is not blocked: it answers while service 0's handler still runs.
        final UnsafeBuffer other = longBuffer(5);
        assertEquals(8, client.call(1, other, 0, 8, other, 0));
        assertEquals(5, other.getLong(0));
        releaseAndAwaitLateReplies(client, 1);
    }

    /** Calls queued behind a blocked one time out too, each once, in the order they were submitted. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void submittedCallsCompleteOnceWithTimedOut(final Memory memory, final Mode mode) throws Exception
    {
        final Client client = start(memory, mode, Duration.ofMillis(250), 8).newClient();
        final long start = System.nanoTime();
        assertEquals(0, client.submit(0, longBuffer(BLOCK), 0, 8));
        assertEquals(1, client.submit(0, longBuffer(2), 0, 8));
        assertEquals(2, client.submit(0, longBuffer(3), 0, 8));
        assertEquals(3, client.flush());
        assertTrue(blocked.await(10, TimeUnit.SECONDS));
        final List<Long> ids = new ArrayList<>();
        while (client.inFlight() > 0)
        {
            client.await(c ->
            {
                assertEquals(Status.TIMED_OUT, c.status());
                assertEquals(0, c.length());
                assertEquals(0, c.serviceId());
                assertTimedOut(c.failure(), c.id(), 0, 250);
                ids.add(c.id());
            }, 8);
        }
        assertTook(start, 250);
        assertEquals(List.of(0L, 1L, 2L), ids, "each call completed once, in order");
        assertEquals(3, client.timedOutCalls());
        assertEquals(8, client.freeSlots(), "the slots are reused at once");
        BadInputTest.assertNothingToAwait(client, mode);

        // The late replies come back and are dropped: never handed to a handler, never a reply to another call.
        releaseAndAwaitLateReplies(client, 3);
        assertEquals(8, client.freeSlots());
        assertEquals(20, callLong(client, 2));
        assertEquals(3, client.timedOutCalls());
    }

    /**
     * Calls stuck behind a hung handler fill its lane (1 KiB: eight records of a 64-byte slot); the calls after them
     * cannot be sent (DIRECT, BLOCKING: they stay staged; MOVER: the mover cannot forward them), and time out all the
     * same, each once, instead of waiting for room. Only the calls that reached the server have late replies.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void callsThatCannotBeSentTimeOutToo(final Memory memory, final Mode mode) throws Exception
    {
        final Client client = start(Memories.builder(memory, mode, tmp.resolve("k")).maxInFlight(32).slotBytes(64)
            .laneBytes(1024), Duration.ofMillis(150)).newClient();
        final long start = System.nanoTime();
        assertEquals(0, client.submit(0, longBuffer(BLOCK), 0, 8));
        for (long v = 1; v < 32; v++)
        {
            assertEquals(v, client.submit(0, longBuffer(v), 0, 8));
        }
        final int sent = client.flush();
        assertTrue(blocked.await(10, TimeUnit.SECONDS));
        if (mode == Mode.MOVER)
        {
            assertEquals(32, sent, "the submission ring holds every call in flight");
        }
        else
        {
            assertTrue(sent > 0 && sent < 32, "a 1 KiB lane cannot take 32 calls of 64 bytes; took " + sent);
            assertEquals(32 - sent, client.staged());
        }
        final BitSet seen = new BitSet();
        while (client.inFlight() > 0)
        {
            client.await(c ->
            {
                assertEquals(Status.TIMED_OUT, c.status());
                assertTimedOut(c.failure(), c.id(), 0, 150);
                assertFalse(seen.get((int)c.id()), "call " + c.id() + " completed twice");
                seen.set((int)c.id());
            }, 32);
        }
        assertTook(start, 150);
        assertEquals(32, seen.cardinality());
        assertEquals(32, client.timedOutCalls());
        assertEquals(0, client.staged());
        assertEquals(32, client.freeSlots());

        releaseAndAwaitLateReplies(client, sent);
        assertEquals(20, callLong(client, 2));
        assertEquals(sent, client.lateReplies(), "a call never sent has no late reply");
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
        assertEquals(Duration.ofMillis(1), client.callTimeout());
        final UnsafeBuffer b = longBuffer(3);
        assertEquals(8, client.call(0, b, 0, 8, b, 0, Duration.ofMillis(1)));
        client.submit(0, b, 0, 8);
        assertEquals(1, client.await(c -> assertEquals(Status.OK, c.status()), 1));
        assertEquals(0, client.timedOutCalls());
        assertEquals(0, client.lateReplies());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void timeoutsMustBePositive(final Memory memory, final Mode mode)
    {
        final Client client = start(memory, mode, null, 2).newClient();
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
        assertEquals(Client.DEFAULT_CALL_TIMEOUT, client.callTimeout(), "a refused timeout changed nothing");
        // A huge timeout is a long one, not an overflow.
        assertEquals(8, client.call(0, b, 0, 8, b, 0, Duration.ofSeconds(Long.MAX_VALUE)));
        assertEquals(10, b.getLong(0));
        client.callTimeout(Duration.ofSeconds(Long.MAX_VALUE));
        assertEquals(8, client.call(0, b, 0, 8, b, 0));
        assertEquals(100, b.getLong(0));
    }
}
