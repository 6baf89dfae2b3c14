package dev.ferry;

import dev.ferry.Memories.Memory;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A handler that calls a service of its own kernel in a way that would wait for itself is refused at once with an
 * {@link IllegalStateException} that says why, instead of hanging; so is a handler that closes its own kernel. Calls
 * that cannot wait for themselves work. The refusal fails the handler's call: INLINE hands over the very exception,
 * the lane modes a {@link RemoteFailureException} carrying its text (cut at the slot size).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReentrancyTest
{
    @TempDir
    Path tmp;

    /** The refusal, as the outer caller sees it. */
    private static void assertRefused(final Mode mode, final CallFailedException ex, final String... fragments)
    {
        assertEquals(Status.FAILED, ex.status(), ex.toString());
        final String message;
        if (mode == Mode.INLINE)
        {
            assertInstanceOf(IllegalStateException.class, ex.getCause(), ex.toString());
            message = ex.getCause().getMessage();
        }
        else
        {
            assertInstanceOf(RemoteFailureException.class, ex.getCause(), ex.toString());
            message = ex.getCause().getMessage();
            assertTrue(message.startsWith("handler of service 0 threw java.lang.IllegalStateException: "), message);
        }
        for (final String f : fragments)
        {
            assertTrue(message.contains(f), "'" + message + "' should mention '" + f + "'");
        }
    }

    @Test
    void inlineHandlerCallingThroughTheClientRunningItIsRefused()
    {
        final AtomicReference<Client> caller = new AtomicReference<>();
        try (Kernel kernel = Kernel.builder().mode(Mode.INLINE)
            .service(0, (msg, len) ->
            {
                final UnsafeBuffer inner = new UnsafeBuffer(new byte[8]);
                return caller.get().call(1, inner, 0, 8, msg, 0);
            })
            .service(1, (msg, len) -> len)
            .build().start();
             Client client = kernel.newClient())
        {
            caller.set(client);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            final CallFailedException ex =
                assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, request, 0));
            assertRefused(Mode.INLINE, ex, "a handler called back into client " + client.id(),
                "it would wait for itself");
            assertEquals(0, client.inFlight(), "the refused call left nothing in flight");

            // The client still works, for both services.
            request.putLong(0, 42);
            assertEquals(8, client.call(1, request, 0, 8, request, 0));
            assertEquals(42, request.getLong(0));
            client.submit(0, new byte[8]);
            final int[] seen = {0};
            assertEquals(1, client.await(c ->
            {
                assertEquals(Status.FAILED, c.status());
                assertInstanceOf(IllegalStateException.class, c.failure());
                assertTrue(c.failure().getMessage().contains("called back into client"), c.failure().getMessage());
                seen[0]++;
            }, 1));
            assertEquals(1, seen[0]);
        }
    }

    /** Submitting through the running client waits for nothing (Handler's contract), nor does calling another one. */
    @Test
    void inlineHandlerMaySubmitWithoutWaitingAndCallThroughAnotherClient()
    {
        final AtomicReference<Client> caller = new AtomicReference<>();
        final AtomicReference<Kernel> self = new AtomicReference<>();
        try (Kernel kernel = Kernel.builder().mode(Mode.INLINE)
            .service(0, (msg, len) ->
            {
                caller.get().submit(1, msg, 0, len);
                try (Client other = self.get().newClient())
                {
                    return other.call(1, msg, 0, len, msg, 0);
                }
            })
            .service(1, (msg, len) ->
            {
                // A reply longer than its request: a call whose lengths got mixed up would show it.
                msg.putLong(0, msg.getLong(0) + 1);
                return len + 8;
            })
            .build().start();
             Client client = kernel.newClient())
        {
            self.set(kernel);
            caller.set(client);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[32]);
            request.putLong(0, 1);
            assertEquals(16, client.call(0, request, 0, 8, request, 0), "the call's own reply length");
            assertEquals(2, request.getLong(0));
            assertEquals(1, client.inFlight(), "the submitted call waits for the next flush");
            assertEquals(1, client.staged());
            final long[] seen = new long[1];
            assertEquals(1, client.await(c ->
            {
                assertEquals(Status.OK, c.status(), () -> String.valueOf(c.failure()));
                assertEquals(1, c.serviceId());
                assertEquals(16, c.length(), "the reply to the submitted call's own 8-byte request");
                seen[0] = c.buffer().getLong(0);
            }, 1));
            assertEquals(2, seen[0]);

            // Submitted from a handler run by a flush: handled by that same flush, after the calls before it.
            request.putLong(0, 10);
            client.submit(0, request, 0, 8);
            final long[] values = new long[2];
            final int[] n = {0};
            while (client.inFlight() > 0)
            {
                client.await(c ->
                {
                    assertEquals(Status.OK, c.status(), () -> String.valueOf(c.failure()));
                    assertEquals(16, c.length());
                    values[n[0]++] = c.buffer().getLong(0);
                }, 4);
            }
            assertEquals(2, n[0]);
            assertEquals(11, values[0], "service 0's reply, from the other client's call to service 1");
            assertEquals(11, values[1], "service 1's reply to the submitted call");
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void handlerCallingItsOwnServiceIsRefusedAtOnce(final Memory memory, final Mode mode)
    {
        final AtomicReference<Kernel> self = new AtomicReference<>();
        try (Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k"))
            .service(0, (msg, len) ->
            {
                if (msg.getLong(0) != 1)
                {
                    return len;
                }
                try (Client inner = self.get().newClient())
                {
                    final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
                    return inner.call(0, request, 0, 8, msg, 0);
                }
            })
            .build().start();
             Client client = kernel.newClient())
        {
            self.set(kernel);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            request.putLong(0, 1);
            final long start = System.nanoTime();
            final CallFailedException ex =
                assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, request, 0));
            assertRefused(mode, ex, "re-entrant call: the handler of service 0 called service 0 of its own kernel");
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "refused at once, not timed out");
            request.putLong(0, 2);
            assertEquals(8, client.call(0, request, 0, 8, request, 0), "the server goes on serving");
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void handlerAwaitingItsOwnServiceIsRefused(final Memory memory, final Mode mode)
    {
        final AtomicReference<Kernel> self = new AtomicReference<>();
        try (Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k"))
            .service(0, (msg, len) ->
            {
                if (msg.getLong(0) == 0)
                {
                    return len;
                }
                // Left open with its call in flight (its server answers it once this handler returned): it cannot
                // be closed before.
                final Client inner = self.get().newClient();
                // The submit is flushed by await, which refuses to wait once it finds no reply yet.
                inner.submit(0, new byte[8]);
                inner.await(c -> { }, 1);
                return len;
            })
            .build().start();
             Client client = kernel.newClient())
        {
            self.set(kernel);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            request.putLong(0, 1);
            final long start = System.nanoTime();
            assertRefused(mode,
                assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, request, 0)),
                "re-entrant call: the handler of service 0 called service 0 of its own kernel");
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "refused at once");
            request.putLong(0, 0);
            assertEquals(8, client.call(0, request, 0, 8, request, 0), "the server goes on serving");
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void handlerMayCallAnotherService(final Memory memory, final Mode mode)
    {
        final AtomicReference<Kernel> self = new AtomicReference<>();
        final ThreadLocal<Client> clients = new ThreadLocal<>();
        try (Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k"))
            .service(0, (msg, len) ->
            {
                Client inner = clients.get();
                if (inner == null)
                {
                    inner = self.get().newClient();
                    clients.set(inner);
                }
                final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
                request.putLong(0, msg.getLong(0));
                return inner.call(1, request, 0, 8, msg, 0);
            })
            .service(1, (msg, len) ->
            {
                msg.putLong(0, msg.getLong(0) * 3);
                return len;
            })
            .build().start();
             Client client = kernel.newClient())
        {
            self.set(kernel);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            for (long v = 1; v <= 100; v++)
            {
                request.putLong(0, v);
                assertEquals(8, client.call(0, request, 0, 8, request, 0));
                assertEquals(v * 3, request.getLong(0));
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void handlerClosingItsOwnKernelIsRefused(final Memory memory, final Mode mode)
    {
        final AtomicReference<Kernel> self = new AtomicReference<>();
        try (Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k"))
            .service(0, (msg, len) ->
            {
                if (msg.getLong(0) == 1)
                {
                    self.get().close();
                }
                return len;
            })
            .build().start();
             Client client = kernel.newClient())
        {
            self.set(kernel);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            request.putLong(0, 1);
            final long start = System.nanoTime();
            final CallFailedException ex =
                assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, request, 0));
            assertRefused(mode, ex, "close the kernel from another thread");
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "refused at once");
            assertTrue(kernel.isRunning(), "the kernel was not closed");
            request.putLong(0, 2);
            assertEquals(8, client.call(0, request, 0, 8, request, 0), "the kernel goes on serving");
        }
    }
}
