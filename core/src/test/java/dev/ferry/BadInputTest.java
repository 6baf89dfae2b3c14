package dev.ferry;

import dev.ferry.Memories.Memory;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad input gets an exception whose message says what was wrong and what to do, and nothing already in flight is
 * lost, in both memories and every mode.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BadInputTest
{
    @TempDir
    Path tmp;

    static <T extends Throwable> T assertMessage(
        final Class<T> type, final Executable call, final String... fragments)
    {
        final T ex = assertThrows(type, call);
        for (final String f : fragments)
        {
            assertTrue(ex.getMessage() != null && ex.getMessage().contains(f),
                "message '" + ex.getMessage() + "' should mention '" + f + "'");
        }
        return ex;
    }

    @Test
    void builderRejectsBadConfiguration()
    {
        assertMessage(NullPointerException.class, () -> Kernel.builder().service(0, null), "handler");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().service(-1, (m, l) -> l),
            "service id -1", "outside");
        assertMessage(IllegalArgumentException.class,
            () -> Kernel.builder().service(0, (m, l) -> l).service(0, (m, l) -> l), "service 0 was given twice");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().serverBatch(0), "at least 1");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().moverBatch(0), "at least 1");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().drainTimeout(Duration.ofSeconds(-1)),
            "negative");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().stopTimeout(Duration.ZERO),
            "must be positive");
        assertMessage(NullPointerException.class, () -> Kernel.builder().mode(null), "mode");
        // Sizes are checked together when the kernel is built.
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().maxClients(0).build(),
            "maxClients 0", "outside 1-");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().maxInFlight(0).build(),
            "maxInFlight 0", "outside 1-");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().slotBytes(-1).build(),
            "slotBytes -1", "outside 0-");
        assertMessage(IllegalArgumentException.class, () -> Kernel.builder().laneBytes(3000).build(),
            "powers of two", "eight records");
        assertMessage(IllegalArgumentException.class,
            () -> Kernel.builder().service(1, (m, l) -> l).services(1).build(), "services(1) leaves out service 1");
        for (final Mode mode : new Mode[] {Mode.INLINE, Mode.BLOCKING})
        {
            assertMessage(IllegalStateException.class,
                () -> Kernel.builder().mode(mode).directory(tmp.resolve("k")).build(), "mode " + mode, "one JVM");
        }
    }

    @Test
    void aSecondKernelInALiveKernelsDirectoryIsRefused()
    {
        final Path dir = tmp.resolve("k");
        try (Kernel kernel = Kernel.builder().directory(dir).build().start())
        {
            assertMessage(IllegalStateException.class, () -> Kernel.builder().directory(dir).build(),
                "already running at " + dir, "close it first");
            assertTrue(kernel.isRunning(), "the live kernel is untouched");
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void lifecycleMisuseIsExplained(final Memory memory, final Mode mode) throws Exception
    {
        final Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k")).service(0, (m, l) -> l).maxClients(1)
            .build();
        try
        {
            assertMessage(IllegalStateException.class, kernel::newClient, "before start()", "kernel.start()");
            kernel.start();
            assertMessage(IllegalStateException.class, kernel::start, "already started");
            final Client client = kernel.newClient();
            assertMessage(IllegalStateException.class, kernel::newClient, "all 1 client", "maxClients");
            client.close();
            // A closed client's entry is free again once the kernel has reclaimed it (at once in INLINE mode).
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            Client again = null;
            while (again == null)
            {
                try
                {
                    again = kernel.newClient();
                }
                catch (final IllegalStateException full)
                {
                    assertTrue(System.nanoTime() - deadline < 0, "the closed client's entry was never given back");
                    Thread.sleep(5);
                }
            }
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8]);
            assertEquals(8, again.call(0, buffer, 0, 8, buffer, 0));
            again.close();
        }
        finally
        {
            kernel.close();
        }
        assertMessage(IllegalStateException.class, kernel::newClient, "closed");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void badCallsAreRefusedAndCallsInFlightSurvive(final Memory memory, final Mode mode) throws Exception
    {
        try (Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k")).slotBytes(16).maxInFlight(4)
            .service(0, (m, l) -> l).service(1, (m, l) -> l).build().start())
        {
            final Client client = kernel.newClient();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[64]);
            request.putLong(0, 7);
            assertEquals(0, client.submit(0, request, 0, 8));
            client.flush();
            assertEquals(1, client.submit(1, request, 0, 8)); // staged, not flushed

            assertMessage(IllegalArgumentException.class, () -> client.submit(2, request, 0, 8), "2;", "services 0");
            assertMessage(IllegalArgumentException.class, () -> client.submit(-1, request, 0, 8), "-1");
            assertMessage(NullPointerException.class, () -> client.submit(0, null, 0, 8), "null");
            assertMessage(NullPointerException.class, () -> client.submit(0, (byte[])null), "null");
            assertMessage(IllegalArgumentException.class, () -> client.submit(0, request, 0, 17),
                "17 bytes", "16 bytes", "slotBytes");
            assertMessage(IllegalArgumentException.class, () -> client.submit(0, request, 60, 8), "outside");
            assertMessage(IllegalArgumentException.class, () -> client.submit(0, request, -1, 8), "outside");
            assertMessage(IllegalArgumentException.class, () -> client.poll(c -> { }, 0), "at least 1");
            assertMessage(NullPointerException.class, () -> client.poll(null, 1), "null");
            assertMessage(NullPointerException.class, () -> client.call(0, request, 0, 8, null, 0), "null");
            if (mode != Mode.INLINE)
            {
                // InlineClient.close() drops calls in flight instead (as Client.close() says): see the report.
                assertMessage(IllegalStateException.class, client::close, "2 calls in flight");
            }

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
            other.join();
            assertTrue(fromOtherThread.get() instanceof IllegalStateException, String.valueOf(fromOtherThread.get()));
            assertTrue(fromOtherThread.get().getMessage().contains("intruder")
                && fromOtherThread.get().getMessage().contains("belongs to"), fromOtherThread.get().getMessage());

            // Both good calls are still there and complete.
            final int[] ok = {0};
            while (client.inFlight() > 0)
            {
                client.await(c ->
                {
                    assertEquals(Status.OK, c.status(), () -> String.valueOf(c.failure()));
                    assertEquals(7, c.buffer().getLong(0));
                    ok[0]++;
                }, 4);
            }
            assertEquals(2, ok[0]);
            assertNothingToAwait(client, mode);
            client.close();
        }
    }

    /** Awaiting with nothing in flight cannot wait for anything: every client refuses at once (Client#await). */
    static void assertNothingToAwait(final Client client, final Mode mode)
    {
        assertMessage(IllegalStateException.class, () -> client.await(c -> { }, 1), "no call in flight");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void callMixedWithUnpolledSubmitsIsRefused(final Memory memory, final Mode mode)
    {
        try (Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k")).service(0, (m, l) -> l).build()
            .start();
             Client client = kernel.newClient())
        {
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            client.submit(0, request, 0, 8);
            assertMessage(IllegalStateException.class, () -> client.call(0, request, 0, 8, request, 0),
                "1 calls made with submit()", "poll");
            assertEquals(1, client.await(c -> assertEquals(Status.OK, c.status()), 1));
            assertEquals(8, client.call(0, request, 0, 8, request, 0));
        }
    }
}
