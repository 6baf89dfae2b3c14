package dev.ferry;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every call has a deadline, and nothing a handler or a server agent does hangs a caller: a handler that blocks
 * makes its calls end TIMED_OUT (each once, the late reply dropped), a handler that calls its own service is refused
 * at once, and a server agent that dies of an {@link Error} detaches, so its callers fail at once.
 */
// Separate thread: a call that never returns fails the test at the timeout instead of spinning on.
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
final class IpcDeadlineTest
{
    private static final int HOLD = 0x484F4C44;

    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void aCallToAHungHandlerTimesOutOnceAndItsLateReplyIsDropped(final Mode mode) throws Exception
    {
        final Path dir = tmp.resolve("ferry-deadline");
        final HoldingHandler handler = new HoldingHandler(HOLD);
        try (Kernel kernel = Kernel.builder().directory(dir).mode(mode).maxInFlight(8).slotBytes(64).build()
            .start();
             Server server = Server.builder().directory(dir).service(0, handler).start())
        {
            final LaneClient client = Lanes.attach(dir, new BackoffIdleStrategy());
            final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
            final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
            req.putInt(0, HOLD);
            final long start = System.nanoTime();
            final CallFailedException ex = assertThrows(CallFailedException.class,
                () -> client.call(0, req, 0, 8, rep, 0, Duration.ofMillis(200)));
            final long tookMs = (System.nanoTime() - start) / 1_000_000;
            assertEquals(Status.TIMED_OUT, ex.status());
            assertTrue(ex.getMessage().contains("timed out after 200 ms"), ex.getMessage());
            assertTrue(tookMs >= 200, "timed out after " + tookMs + " ms, before its deadline");
            assertEquals(1, client.timedOutCalls());
            assertEquals(0, client.inFlight());
            assertTrue(handler.awaitHeld());

            handler.release();
            req.putInt(0, 1);
            assertEquals(8, client.call(0, req, 0, 8, rep, 0));
            assertEquals(1, rep.getInt(0));
            assertEquals(1, client.lateReplies(), "the held call's reply, dropped");
            client.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void submittedCallsBehindAHungHandlerEachTimeOutOnceThroughPoll(final Mode mode) throws Exception
    {
        final Path dir = tmp.resolve("ferry-deadline-async");
        final HoldingHandler handler = new HoldingHandler(HOLD);
        try (Kernel kernel = Kernel.builder().directory(dir).mode(mode).maxInFlight(8).slotBytes(64).build()
            .start();
             Server server = Server.builder().directory(dir).service(0, handler).start())
        {
            final LaneClient client = Lanes.attach(dir, new BackoffIdleStrategy()).callTimeout(
                Duration.ofMillis(300));
            assertEquals(Duration.ofMillis(300), client.callTimeout());
            final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
            req.putInt(0, HOLD);
            final List<Long> ids = new ArrayList<>();
            ids.add(client.submit(0, req, 0, 8));
            req.putInt(0, 1);
            for (int i = 0; i < 3; i++)
            {
                ids.add(client.submit(0, req, 0, 8));
            }
            final List<Long> completed = new ArrayList<>();
            final List<Status> statuses = new ArrayList<>();
            while (client.inFlight() > 0)
            {
                client.await(c ->
                {
                    completed.add(c.id());
                    statuses.add(c.status());
                }, 8);
            }
            assertEquals(ids, completed, "each call completes once, in order");
            assertEquals(List.of(Status.TIMED_OUT, Status.TIMED_OUT, Status.TIMED_OUT, Status.TIMED_OUT), statuses);
            assertEquals(4, client.timedOutCalls());

            handler.release();
            final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
            req.putInt(0, 5);
            assertEquals(8, client.call(0, req, 0, 8, rep, 0, Duration.ofSeconds(10)));
            assertEquals(5, rep.getInt(0));
            assertEquals(4, client.lateReplies());
            client.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void aHandlerCallingItsOwnServiceIsRefusedAndAnotherServiceAnswers(final Mode mode) throws Exception
    {
        final Path dir = tmp.resolve("ferry-reentrant");
        final AtomicReference<String> refused = new AtomicReference<>();
        final AtomicReference<Throwable> unexpected = new AtomicReference<>();
        final int[] other = new int[1];
        final LaneClient[] inner = new LaneClient[1];
        try (Kernel kernel = Kernel.builder().directory(dir).mode(mode).services(2).maxInFlight(8)
            .slotBytes(64).build().start();
             Server echo = Server.builder().directory(dir).service(1, (msg, len) -> len).start();
             Server server = Server.builder().directory(dir).service(0, (msg, len) ->
             {
                 try
                 {
                     if (inner[0] == null)
                     {
                         inner[0] = Lanes.attach(dir, new BackoffIdleStrategy());
                     }
                     final UnsafeBuffer r = new UnsafeBuffer(new byte[64]);
                     try
                     {
                         inner[0].call(0, msg, 0, len, r, 0);
                     }
                     catch (final IllegalStateException ex)
                     {
                         refused.set(ex.getMessage());
                     }
                     other[0] = inner[0].call(1, msg, 0, len, r, 0);
                 }
                 catch (final Throwable t)
                 {
                     unexpected.set(t);
                 }
                 return len;
             }).start())
        {
            final LaneClient client = Lanes.attach(dir, new BackoffIdleStrategy());
            final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
            final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
            req.putInt(0, 42);
            assertEquals(8, client.call(0, req, 0, 8, rep, 0, Duration.ofSeconds(20)));
            assertEquals(null, unexpected.get());
            assertNotNull(refused.get(), "the handler's call to its own service was not refused");
            assertTrue(refused.get().startsWith("re-entrant call: the handler of service 0"), refused.get());
            assertEquals(8, other[0], "a call to another service from a handler is answered");
            client.close();
        }
    }

    @Test
    void aServerAgentThatDiesOfAnErrorDetachesAtOnce() throws Exception
    {
        final Path dir = tmp.resolve("ferry-agent-error");
        final AtomicBoolean die = new AtomicBoolean();
        final java.util.function.Supplier<IdleStrategy> dying = () -> new IdleStrategy()
        {
            private final IdleStrategy backoff = new BackoffIdleStrategy();

            @Override
            public void idle(final int workCount)
            {
                if (die.get())
                {
                    throw new StackOverflowError("test: the agent dies of an Error");
                }
                backoff.idle(workCount);
            }

            @Override
            public void idle()
            {
                backoff.idle();
            }

            @Override
            public void reset()
            {
                backoff.reset();
            }
        };
        // Timeouts far longer than the test: only the detach can end the wait.
        try (Kernel kernel = Kernel.builder().directory(dir).timeouts(Timeouts.of(Duration.ofSeconds(60)))
            .build().start();
             Server server = Server.builder().directory(dir).service(0, (msg, len) -> len).idleStrategy(dying)
                 .start())
        {
            final LaneClient client = Lanes.attach(dir, new BackoffIdleStrategy());
            final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
            final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
            assertEquals(8, client.call(0, req, 0, 8, rep, 0));
            die.set(true);
            assertTrue(server.awaitStop(Duration.ofSeconds(10)));
            assertFalse(server.isRunning());
            assertTrue(server.stopReason().contains("test: the agent dies"), server.stopReason());
            final CallFailedException ex = assertThrows(CallFailedException.class,
                () -> client.call(0, req, 0, 8, rep, 0, Duration.ofSeconds(30)));
            assertEquals(Status.FAILED, ex.status());
            assertTrue(ex.getMessage().contains("no server attached"), ex.getMessage());
            client.close();
        }
    }
}
