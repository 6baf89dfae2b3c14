package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every role used after close throws {@link IllegalStateException} with a message that says it is closed; none
 * hangs or quietly does nothing. Getters (counters, identity, what is in flight) still answer.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class UseAfterCloseTest
{
    private static void assertClosed(final Executable call, final String what, final String fragment)
    {
        final IllegalStateException ex = assertThrows(IllegalStateException.class, call, what);
        assertTrue(ex.getMessage() != null && ex.getMessage().contains(fragment),
            what + ": message '" + ex.getMessage() + "' should mention '" + fragment + "'");
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void closedClientRefusesEverything(final Mode mode)
    {
        try (Kernel kernel = Kernel.builder().mode(mode).service(0, (m, l) -> l).build().start())
        {
            final Client client = kernel.newClient();
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8]);
            assertEquals(8, client.call(0, buffer, 0, 8, buffer, 0));
            client.close();
            final String closed = "client " + client.id() + " is closed";
            assertClosed(() -> client.submit(0, buffer, 0, 8), "submit", closed);
            assertClosed(() -> client.submit(0, new byte[8]), "submit(byte[])", closed);
            assertClosed(client::flush, "flush", closed);
            assertClosed(() -> client.poll(c -> { }, 1), "poll", closed);
            assertClosed(() -> client.await(c -> { }, 1), "await", closed);
            assertClosed(() -> client.call(0, buffer, 0, 8, buffer, 0), "call", closed);
            assertClosed(() -> client.callAsync(0, new byte[8]), "callAsync", closed);
            // Getters answer, truthfully: a client closes only with nothing in flight.
            assertEquals(0, client.inFlight());
            assertEquals(0, client.staged());
            assertTrue(client.freeSlots() > 0);
            client.close(); // idempotent, as AutoCloseable asks
            assertTrue(client.id() >= 0);
            assertNotNull(client.counters());
            assertNotNull(client.owner());
            assertNotNull(client.toString());
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void clientOfAClosedKernelRefusesNewWork(final Mode mode)
    {
        final Kernel kernel = Kernel.builder().mode(mode).service(0, (m, l) -> l).build().start();
        final Client client = kernel.newClient();
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8]);
        assertEquals(8, client.call(0, buffer, 0, 8, buffer, 0));
        kernel.close();
        final String closed = "the kernel is closed";
        assertClosed(() -> client.submit(0, buffer, 0, 8), "submit", closed);
        assertClosed(client::flush, "flush", closed);
        assertClosed(() -> client.poll(c -> { }, 1), "poll", closed);
        assertClosed(() -> client.await(c -> { }, 1), "await", "no call in flight");
        assertClosed(() -> client.call(0, buffer, 0, 8, buffer, 0), "call", closed);
        assertClosed(() -> client.callAsync(0, new byte[8]), "callAsync", closed);
        assertEquals(0, client.inFlight());
        client.close();
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void closedKernelRefusesEverythingButItsGetters(final Mode mode)
    {
        final Kernel kernel = Kernel.builder().mode(mode).service(0, (m, l) -> l).build().start();
        kernel.close();
        assertClosed(kernel::start, "start", "closed");
        assertClosed(kernel::newClient, "newClient", "closed");
        assertTrue(kernel.close(Duration.ZERO), "close is idempotent");
        assertEquals(mode, kernel.mode());
        assertEquals(1, kernel.serviceCount());
        assertEquals(0, kernel.agentErrors());
        assertNotNull(kernel.counters());
        assertNotNull(kernel.agentThreads());
        assertNotNull(kernel.toString());
    }
}
