package dev.ferry;

import dev.ferry.Memories.Memory;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every role used after close throws {@link IllegalStateException} with a message that says it is closed; none
 * hangs or quietly does nothing. A client of a closed kernel refuses new calls but may still poll (calls in flight
 * complete after a close). Getters (counters, identity, what is in flight) still answer. In both memories and every
 * mode.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UseAfterCloseTest
{
    @TempDir
    Path tmp;

    private static void assertClosed(final Executable call, final String what, final String fragment)
    {
        final IllegalStateException ex = assertThrows(IllegalStateException.class, call, what);
        assertTrue(ex.getMessage() != null && ex.getMessage().contains(fragment),
            what + ": message '" + ex.getMessage() + "' should mention '" + fragment + "'");
    }

    private Kernel echo(final Memory memory, final Mode mode)
    {
        return Memories.builder(memory, mode, tmp.resolve("k")).service(0, (m, l) -> l).build().start();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void closedClientRefusesEverything(final Memory memory, final Mode mode)
    {
        try (Kernel kernel = echo(memory, mode))
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
            assertClosed(() -> client.call(0, buffer, 0, 8, buffer, 0, Client.DEFAULT_CALL_TIMEOUT), "call(timeout)",
                closed);
            // Getters answer, truthfully: a client closes only with nothing in flight.
            assertEquals(0, client.inFlight());
            assertEquals(0, client.staged());
            assertTrue(client.freeSlots() > 0);
            assertEquals(0, client.lateReplies());
            assertEquals(0, client.timedOutCalls());
            assertEquals(Client.DEFAULT_CALL_TIMEOUT, client.callTimeout());
            client.close(); // idempotent, as AutoCloseable asks
            assertTrue(client.id() >= 0);
            assertEquals(Thread.currentThread(), client.owner());
            assertNotNull(client.toString());
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void clientOfAClosedKernelRefusesNewWork(final Memory memory, final Mode mode)
    {
        final Kernel kernel = echo(memory, mode);
        final Client client = kernel.newClient();
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8]);
        assertEquals(8, client.call(0, buffer, 0, 8, buffer, 0));
        kernel.close();
        assertClosed(() -> client.submit(0, buffer, 0, 8), "submit", "closed");
        assertClosed(() -> client.submit(0, new byte[8]), "submit(byte[])", "closed");
        assertClosed(() -> client.call(0, buffer, 0, 8, buffer, 0), "call", "closed");
        // Flush and poll still work (calls in flight complete after a close); here there is nothing to hand over.
        assertEquals(0, client.flush());
        assertEquals(0, client.poll(c ->
        {
            throw new AssertionError("nothing was in flight: " + c.id());
        }, 1));
        BadInputTest.assertNothingToAwait(client, mode);
        assertEquals(0, client.inFlight());
        client.close();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void closedKernelRefusesEverythingButItsGetters(final Memory memory, final Mode mode)
    {
        final Kernel kernel = echo(memory, mode);
        kernel.close();
        assertClosed(kernel::start, "start", "closed");
        assertClosed(kernel::newClient, "newClient", "closed");
        assertClosed(kernel::attachedClients, "attachedClients", "closed");
        kernel.close(); // idempotent
        assertEquals(mode, kernel.mode());
        assertEquals(1, kernel.services());
        assertFalse(kernel.isRunning());
        assertNull(kernel.failure());
        assertEquals(0, kernel.corruptRecords());
        assertEquals(0, kernel.reclaimedClients());
        assertEquals(0, kernel.forwarded());
        assertNotNull(kernel.directory());
        for (final Thread t : kernel.agentThreads())
        {
            assertFalse(t.isAlive(), t.getName() + " outlived close()");
        }
        assertNotNull(kernel.toString());
    }
}
