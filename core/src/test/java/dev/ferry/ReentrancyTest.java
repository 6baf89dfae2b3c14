package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A handler that calls a service of its own kernel in a way that would wait for itself is refused at once with an
 * {@link IllegalStateException} that says why, instead of hanging; calls that cannot wait for themselves work.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReentrancyTest
{
    private static void assertReentrantRefusal(final CallFailedException ex, final String fragment)
    {
        assertEquals(Status.FAILED, ex.status(), ex.toString());
        assertInstanceOf(IllegalStateException.class, ex.getCause(), ex.toString());
        final String message = ex.getCause().getMessage();
        assertTrue(message.startsWith("re-entrant call: "), message);
        assertTrue(message.contains(fragment), message);
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
            .build().start())
        {
            final Client client = kernel.newClient();
            caller.set(client);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            final CallFailedException ex =
                assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, request, 0));
            assertReentrantRefusal(ex, "the handler of service 0 called service 1 through the client that is running");
            assertEquals(0, client.inFlight(), "the refused call left nothing in flight");

            // The client still works, for both services' neighbours.
            request.putLong(0, 42);
            assertEquals(8, client.call(1, request, 0, 8, request, 0));
            assertEquals(42, request.getLong(0));
            final CompletionException joined =
                assertThrows(CompletionException.class, () -> client.callAsync(0, new byte[8]).join());
            assertReentrantRefusal((CallFailedException)joined.getCause(), "called service 1");
        }
    }

    @Test
    void inlineHandlerMaySubmitWithoutWaitingAndCallThroughAnotherClient()
    {
        final AtomicReference<Client> caller = new AtomicReference<>();
        final AtomicReference<Kernel> self = new AtomicReference<>();
        try (Kernel kernel = Kernel.builder().mode(Mode.INLINE)
            .service(0, (msg, len) ->
            {
                // Submitting through the running client waits for nothing: it runs at the client's next flush.
                caller.get().submit(1, msg, 0, len);
                try (Client other = self.get().newClient())
                {
                    return other.call(1, msg, 0, len, msg, 0);
                }
            })
            .service(1, (msg, len) ->
            {
                msg.putLong(0, msg.getLong(0) + 1);
                return len;
            })
            .build().start())
        {
            self.set(kernel);
            final Client client = kernel.newClient();
            caller.set(client);
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            request.putLong(0, 1);
            assertEquals(8, client.call(0, request, 0, 8, request, 0));
            assertEquals(2, request.getLong(0));
            assertEquals(1, client.inFlight(), "the submitted call waits for the next flush");
            final long[] seen = new long[1];
            client.await(c ->
            {
                assertEquals(Status.OK, c.status());
                seen[0] = c.buffer().getLong(0);
            }, 1);
            assertEquals(2, seen[0]);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void handlerCallingItsOwnServiceIsRefusedAtOnce(final Mode mode)
    {
        final AtomicReference<Kernel> self = new AtomicReference<>();
        try (Kernel kernel = Kernel.builder().mode(mode)
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
            .build().start())
        {
            self.set(kernel);
            final Client client = kernel.newClient();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            request.putLong(0, 1);
            final long start = System.nanoTime();
            final CallFailedException ex =
                assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, request, 0));
            assertReentrantRefusal(ex, "the handler of service 0 called service 0 of its own kernel from its server "
                + "thread; it would wait for itself. Call another service, submit without waiting, or hand the work "
                + "to another thread");
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "refused at once, not timed out");
            request.putLong(0, 2);
            assertEquals(8, client.call(0, request, 0, 8, request, 0), "the server goes on serving");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void handlerAwaitingOrJoiningItsOwnServiceIsRefused(final Mode mode)
    {
        final AtomicReference<Kernel> self = new AtomicReference<>();
        try (Kernel kernel = Kernel.builder().mode(mode)
            .service(0, (msg, len) ->
            {
                final long v = msg.getLong(0);
                if (v == 0)
                {
                    return len;
                }
                final Client inner = self.get().newClient();
                if (v == 1)
                {
                    inner.submit(0, new byte[8]);
                    inner.await(c -> { }, 1);
                }
                else
                {
                    inner.callAsync(0, new byte[8]).join();
                }
                return len;
            })
            .build().start())
        {
            self.set(kernel);
            final Client client = kernel.newClient();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            request.putLong(0, 1);
            assertReentrantRefusal(
                assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, request, 0)),
                "service 0 called service 0 of its own kernel");
            request.putLong(0, 2);
            assertReentrantRefusal(
                assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, request, 0)),
                "service 0 called service 0 of its own kernel");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void handlerMayCallAnotherService(final Mode mode)
    {
        final AtomicReference<Kernel> self = new AtomicReference<>();
        final ThreadLocal<Client> clients = new ThreadLocal<>();
        try (Kernel kernel = Kernel.builder().mode(mode)
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
            .build().start())
        {
            self.set(kernel);
            final Client client = kernel.newClient();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            for (long v = 1; v <= 100; v++)
            {
                request.putLong(0, v);
                assertEquals(8, client.call(0, request, 0, 8, request, 0));
                assertEquals(v * 3, request.getLong(0));
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void handlerClosingItsOwnKernelIsRefused(final Mode mode)
    {
        final AtomicReference<Kernel> self = new AtomicReference<>();
        try (Kernel kernel = Kernel.builder().mode(mode)
            .service(0, (msg, len) ->
            {
                self.get().close();
                return len;
            })
            .build().start())
        {
            self.set(kernel);
            final Client client = kernel.newClient();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            final CallFailedException ex =
                assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, request, 0));
            assertInstanceOf(IllegalStateException.class, ex.getCause());
            assertTrue(ex.getCause().getMessage().contains("close the kernel from another thread"),
                ex.getCause().getMessage());
        }
    }
}
