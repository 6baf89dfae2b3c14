package dev.ferry;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kernel, servers and clients in separate JVMs: exactly-once and per-client order, a client killed with SIGKILL, a
 * server killed and restarted, the kernel killed, and nothing left behind after a clean shutdown.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
final class IpcProcessTest
{
    @TempDir
    Path tmp;

    private final List<ChildProcess> children = new ArrayList<>();

    @AfterEach
    void destroyChildren()
    {
        for (final ChildProcess child : children)
        {
            child.close();
        }
    }

    private ChildProcess start(final String... args) throws Exception
    {
        final ChildProcess child = new ChildProcess(tmp.resolve("child-" + children.size() + ".log"), args);
        children.add(child);
        return child;
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void everyCallOnceAndInOrderAcrossProcessesAndNoFileLeft(final Mode mode) throws Exception
    {
        final Path dir = tmp.resolve("ferry-once");
        final ChildProcess kernel = start("kernel", dir.toString(), mode.name(), "1", "1000");
        kernel.await("READY", 30);
        final ChildProcess server = start("server", dir.toString(), "0", "0");
        server.await("READY", 30);
        final ChildProcess a = start("client", dir.toString(), "0", "1", "3000", "8");
        final ChildProcess b = start("client", dir.toString(), "0", "2", "3000", "3");
        assertEquals("DONE ok=3000 bad=0 failed=0", a.await("DONE", 60));
        assertEquals("DONE ok=3000 bad=0 failed=0", b.await("DONE", 60));
        server.send("close");
        assertEquals("SERVED 6000 violations=0 corrupt=0", server.await("SERVED", 30));
        kernel.send("close");
        final String closed = kernel.await("CLOSED", 30);
        if (mode == Mode.MOVER)
        {
            assertEquals("CLOSED forwarded=6000", closed);
        }
        for (final ChildProcess child : children)
        {
            assertTrue(child.waitFor(30));
            assertEquals(0, child.exitValue());
        }
        assertFalse(Files.exists(dir), "the mapping's directory is left behind: " + dir);
    }

    @Test
    void aKilledClientIsReclaimedAndOthersGoOn() throws Exception
    {
        final Path dir = tmp.resolve("ferry-kill-client");
        try (Kernel kernel = Kernel.builder().directory(dir).maxClients(2).maxInFlight(32).slotBytes(64)
            .timeouts(Timeouts.of(Duration.ofMillis(300))).build().start())
        {
            final ChildProcess server = start("server", dir.toString(), "0", "0");
            server.await("READY", 30);
            final ChildProcess victim = start("client", dir.toString(), "0", "1", "-1", "16");
            victim.await("PROGRESS", 30);
            final ChildProcess other = start("client", dir.toString(), "0", "2", "4000", "4");
            other.await("READY", 30);
            victim.kill9();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (kernel.reclaimedClients() == 0 && System.nanoTime() - deadline < 0)
            {
                Thread.sleep(10);
            }
            assertEquals(1, kernel.reclaimedClients());
            assertEquals("DONE ok=4000 bad=0 failed=0", other.await("DONE", 60));
            // The dead client's table entry and rings serve a new client (maxClients is 2).
            while (kernel.attachedClients() > 0 && System.nanoTime() - deadline < 0)
            {
                Thread.sleep(10);
            }
            final LaneClient again = attachWhenFree(dir);
            final LaneClient third = attachWhenFree(dir);
            final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
            final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
            req.putInt(0, 9);
            assertEquals(8, again.call(0, req, 0, 8, rep, 0));
            req.putInt(0, 10);
            assertEquals(8, third.call(0, req, 0, 8, rep, 0));
            again.close();
            third.close();
            server.send("close");
            final String served = server.await("SERVED", 30);
            assertTrue(served.contains("violations=0"), served);
        }
        assertFalse(Files.exists(dir));
    }

    private static LaneClient attachWhenFree(final Path dir) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true)
        {
            try
            {
                return Lanes.attach(dir, new BackoffIdleStrategy());
            }
            catch (final IllegalStateException ex)
            {
                if (!ex.getMessage().contains("are taken") || System.nanoTime() - deadline > 0)
                {
                    throw ex;
                }
                Thread.sleep(10);
            }
        }
    }

    @Test
    void aKilledServersCallersGetErrorsInBoundedTimeAndARestartedServerServes() throws Exception
    {
        final Path dir = tmp.resolve("ferry-kill-server");
        final long timeoutMs = 500;
        try (Kernel kernel = Kernel.builder().directory(dir).maxInFlight(16).slotBytes(64)
            .timeouts(Timeouts.of(Duration.ofMillis(timeoutMs))).build().start())
        {
            final ChildProcess server = start("server", dir.toString(), "0", "20000");
            assertEquals("READY generation=1", server.await("READY", 30));
            final LaneClient client = Lanes.attach(dir, new BackoffIdleStrategy());
            final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
            for (int i = 0; i < 10; i++)
            {
                req.putInt(0, 7);
                req.putInt(4, i);
                assertTrue(client.submit(0, req, 0, 8) >= 0);
            }
            client.flush();
            final List<Status> statuses = new ArrayList<>();
            final List<String> failures = new ArrayList<>();
            client.await(c -> statuses.add(c.status()), 1);
            assertEquals(List.of(Status.OK), statuses);
            server.kill9();
            final long killedAt = System.nanoTime();
            while (client.inFlight() > 0)
            {
                client.await(c ->
                {
                    statuses.add(c.status());
                    if (c.failure() != null)
                    {
                        failures.add(c.failure().getMessage());
                    }
                }, 16);
                assertTrue(System.nanoTime() - killedAt < TimeUnit.SECONDS.toNanos(15), "callers still waiting");
            }
            assertEquals(10, statuses.size());
            assertTrue(statuses.contains(Status.FAILED), statuses.toString());
            assertTrue(failures.stream().allMatch(f -> f.contains("has not heartbeaten")), failures.toString());

            final ChildProcess restarted = start("server", dir.toString(), "0", "0");
            assertEquals("READY generation=2", restarted.await("READY", 30));
            final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
            req.putInt(4, 0);
            assertEquals(8, client.call(0, req, 0, 8, rep, 0));
            assertEquals(7, rep.getInt(0));
            client.close();
            restarted.send("close");
            restarted.await("SERVED", 30);
        }
    }

    @Test
    void whenTheKernelDiesCallersGetAClearErrorNotAHang() throws Exception
    {
        final Path dir = tmp.resolve("ferry-kill-kernel");
        final ChildProcess kernel = start("kernel", dir.toString(), "MOVER", "1", "500");
        kernel.await("READY", 30);
        final ChildProcess server = start("server", dir.toString(), "0", "0");
        server.await("READY", 30);
        final LaneClient client = Lanes.attach(dir, new BackoffIdleStrategy());
        final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
        final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
        assertEquals(8, client.call(0, req, 0, 8, rep, 0));
        kernel.kill9();
        // In MOVER mode nothing moves without the kernel: these calls stay in the submission ring.
        for (int i = 0; i < 4; i++)
        {
            client.submit(0, req, 0, 8);
        }
        final List<Status> statuses = new ArrayList<>();
        final List<String> failures = new ArrayList<>();
        final long killedAt = System.nanoTime();
        while (client.inFlight() > 0)
        {
            client.await(c ->
            {
                statuses.add(c.status());
                failures.add(c.failure() == null ? "" : c.failure().getMessage());
            }, 16);
            assertTrue(System.nanoTime() - killedAt < TimeUnit.SECONDS.toNanos(15), "callers still waiting");
        }
        assertEquals(List.of(Status.CLOSED, Status.CLOSED, Status.CLOSED, Status.CLOSED), statuses);
        assertTrue(failures.get(0).contains("has not heartbeaten"), failures.get(0));
        final IllegalStateException ex = assertThrows(IllegalStateException.class, () -> client.submit(0, req, 0, 8));
        assertTrue(ex.getMessage().contains("Restart it"), ex.getMessage());
        assertTrue(server.await("SERVED", 30).contains("stopped: the kernel"));
        client.close();
    }
}
