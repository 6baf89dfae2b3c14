package dev.ferry;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Process faults, every role in its own child JVM, callers being {@link HarnessClient}s in other children (each
 * counts its calls: ok, failed, closed, hung past its deadline, lost, completed twice, out of order, wrong reply).
 * What {@link IpcProcessTest} already shows (a client killed in DIRECT mode, a server killed in DIRECT mode with an
 * in-test caller, the kernel killed in MOVER mode with an in-test caller) is not repeated here.
 *
 * <ul>
 *     <li>a client stopped (SIGSTOP) past the client timeout is reclaimed; a new client takes its table entry; the
 *     stopped one is resumed (SIGCONT): neither the other client's nor the newcomer's calls fail, the resumed one's
 *     calls complete (CLOSED: it was reclaimed) and nothing hangs;</li>
 *     <li>a client killed with SIGKILL in MOVER mode: the other client's calls do not fail, its entry is reclaimed
 *     and serves a new client;</li>
 *     <li>a server stopped past the server timeout: its callers' calls fail (FAILED) within the timeout, none hangs;
 *     a new server replaces it and serves; the stopped one, resumed, stops itself and no caller gets a wrong, late,
 *     duplicated or failed reply from it;</li>
 *     <li>a server killed with SIGKILL in MOVER mode: callers get FAILED within the server timeout, none hangs; a
 *     restarted server serves;</li>
 *     <li>the kernel stopped past the kernel timeout: callers get CLOSED, not a hang; resumed, clients and the server
 *     attach again and calls succeed;</li>
 *     <li>the kernel killed with SIGKILL in DIRECT mode (no kernel on the call path): callers get CLOSED, not a hang;
 *     a new kernel in the same directory is attached to again and calls succeed.</li>
 * </ul>
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
final class IpcProcessFaultTest
{
    private static final long TIMEOUT_MS = 500;
    private static final long DEADLINE_MS = 6000;
    private static final long PAST_TIMEOUTS_MS = 4 * TIMEOUT_MS;

    @TempDir
    Path tmp;

    private final List<ChildProcess> children = new ArrayList<>();
    private Path dir;
    private int markSeq;

    @AfterEach
    void destroyChildren() throws Exception
    {
        for (final ChildProcess child : children)
        {
            if (child.isAlive())
            {
                // A stopped child cannot die until continued.
                child.signal("CONT");
            }
            child.close();
        }
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void aClientResumedAfterItWasReclaimedFailsNoOtherClientsCalls(final Mode mode) throws Exception
    {
        startKernel(mode, 2);
        startServer();
        final ChildProcess subject = client(1);
        final ChildProcess other = client(2);
        awaitCalling(subject, other);
        final int slot = index(subject);
        mark(subject, other);

        subject.signal("STOP");
        try (Mapping view = Mapping.open(dir))
        {
            final int state = view.layout.clientEntry(slot) + IpcLayout.ENTRY_STATE_OFFSET;
            awaitTrue(() -> view.buffer.getIntVolatile(state) == IpcLayout.FREE, 10,
                "the stopped client's entry was not reclaimed");
        }
        // maxClients is 2: the newcomer gets the stopped client's entry and rings.
        final ChildProcess newcomer = client(3);
        assertEquals(slot, index(newcomer), "the newcomer did not take the reclaimed entry");
        awaitCalling(newcomer);
        mark(newcomer);
        subject.signal("CONT");
        Thread.sleep(PAST_TIMEOUTS_MS);

        final Map<String, Long> others = mark(other).get(0);
        final Map<String, Long> fresh = mark(newcomer).get(0);
        final Map<String, Long> resumed = mark(subject).get(0);
        assertClean("the other client", others);
        assertClean("the newcomer in the reclaimed entry", fresh);
        assertTrue(others.get("ok") > 0 && fresh.get("ok") > 0, "calls stopped: " + others + " " + fresh);
        assertEquals(0, resumed.get("dup") + resumed.get("lost") + resumed.get("bad"), "resumed: " + resumed);
        stopAll(subject, other, newcomer);
    }

    @Test
    void aKilledClientInMoverModeFailsNoOtherClientsCallsAndItsEntryServesANewOne() throws Exception
    {
        startKernel(Mode.MOVER, 2);
        startServer();
        final ChildProcess subject = client(1);
        final ChildProcess other = client(2);
        awaitCalling(subject, other);
        final int slot = index(subject);
        mark(other);
        subject.kill9();
        final ChildProcess newcomer = client(3);
        assertEquals(slot, index(newcomer), "the newcomer did not take the reclaimed entry");
        awaitCalling(newcomer);
        Thread.sleep(TIMEOUT_MS);
        assertClean("the other client", mark(other).get(0));
        assertClean("the newcomer in the reclaimed entry", mark(newcomer).get(0));
        stopAll(other, newcomer);
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void aServerResumedAfterItWasReplacedStopsAndAnswersNothing(final Mode mode) throws Exception
    {
        startKernel(mode, 4);
        final ChildProcess first = startServer();
        final ChildProcess a = client(1);
        final ChildProcess b = client(2);
        awaitCalling(a, b);
        mark(a, b);

        first.signal("STOP");
        final long stoppedAt = System.nanoTime();
        Thread.sleep(PAST_TIMEOUTS_MS);
        // Callers of the stopped server: failed within the server timeout, none hung.
        for (final Map<String, Long> w : mark(a, b))
        {
            assertTrue(w.get("failed") > 0, "no call failed while the server was stopped: " + w);
            assertEquals(0, w.get("hung") + w.get("dup") + w.get("bad") + w.get("ooo"), w.toString());
        }
        final ChildProcess second = startServer();
        assertTrue(second.latest("READY").contains("generation=2"), second.latest("READY"));
        awaitCalling(a, b);
        mark(a, b);

        first.signal("CONT");
        assertTrue(first.await("STOPPED", 10).contains("another server attached"), "the resumed server went on");
        Thread.sleep(TIMEOUT_MS * 2);
        for (final Map<String, Long> w : mark(a, b))
        {
            assertClean("a caller after the replaced server resumed", w);
            assertTrue(w.get("ok") > 0, w.toString());
        }
        assertTrue(System.nanoTime() - stoppedAt > 0);
        stopAll(a, b);
    }

    @Test
    void aKilledServerInMoverModeFailsItsCallersInBoundedTimeAndARestartedOneServes() throws Exception
    {
        startKernel(Mode.MOVER, 4);
        final ChildProcess first = startServer();
        final ChildProcess a = client(1);
        final ChildProcess b = client(2);
        awaitCalling(a, b);
        mark(a, b);
        first.kill9();
        Thread.sleep(TIMEOUT_MS * 3);
        for (final Map<String, Long> w : mark(a, b))
        {
            assertTrue(w.get("failed") > 0, "no call failed with the server dead: " + w);
            assertEquals(0, w.get("hung") + w.get("dup") + w.get("bad") + w.get("ooo"), w.toString());
        }
        startServer();
        awaitCalling(a, b);
        Thread.sleep(TIMEOUT_MS);
        for (final Map<String, Long> w : mark(a, b))
        {
            assertClean("a caller of the restarted server", w);
        }
        stopAll(a, b);
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void aKernelStoppedPastItsTimeoutClosesCallsAndOnceResumedServesAgain(final Mode mode) throws Exception
    {
        final ChildProcess kernel = startKernel(mode, 4);
        final ChildProcess server = startServer();
        final ChildProcess a = client(1);
        final ChildProcess b = client(2);
        awaitCalling(a, b);
        mark(a, b);
        kernel.signal("STOP");
        Thread.sleep(PAST_TIMEOUTS_MS);
        for (final Map<String, Long> w : mark(a, b))
        {
            assertTrue(w.get("closed") > 0 || w.get("refused") > 0, "callers did not learn the kernel is gone: " + w);
            assertEquals(0, w.get("hung") + w.get("dup") + w.get("bad") + w.get("ooo"), w.toString());
        }
        kernel.signal("CONT");
        server.await("READY", 20);
        awaitCalling(a, b);
        Thread.sleep(TIMEOUT_MS);
        for (final Map<String, Long> w : mark(a, b))
        {
            assertClean("a caller once the kernel resumed", w);
        }
        stopAll(a, b);
    }

    @Test
    void aKilledKernelInDirectModeClosesCallsAndANewKernelIsAttachedToAgain() throws Exception
    {
        final ChildProcess kernel = startKernel(Mode.DIRECT, 4);
        final ChildProcess server = startServer();
        final ChildProcess a = client(1);
        final ChildProcess b = client(2);
        awaitCalling(a, b);
        mark(a, b);
        kernel.kill9();
        Thread.sleep(PAST_TIMEOUTS_MS);
        for (final Map<String, Long> w : mark(a, b))
        {
            assertTrue(w.get("closed") > 0 || w.get("refused") > 0, "callers did not learn the kernel died: " + w);
            assertEquals(0, w.get("hung") + w.get("dup") + w.get("bad") + w.get("ooo"), w.toString());
        }
        startKernel(Mode.DIRECT, 4);
        server.await("READY", 20);
        awaitCalling(a, b);
        Thread.sleep(TIMEOUT_MS);
        for (final Map<String, Long> w : mark(a, b))
        {
            assertClean("a caller of the new kernel", w);
        }
        stopAll(a, b);
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private ChildProcess start(final String... args) throws Exception
    {
        final ChildProcess child = new ChildProcess(tmp.resolve(args[0] + "-" + children.size() + ".log"), args);
        children.add(child);
        return child;
    }

    private ChildProcess startKernel(final Mode mode, final int maxClients) throws Exception
    {
        dir = tmp.resolve("ferry-faults");
        final ChildProcess kernel = start("kernel", dir.toString(), mode.name(), "1", Long.toString(TIMEOUT_MS),
            Integer.toString(maxClients));
        kernel.await("READY", 30);
        return kernel;
    }

    private ChildProcess startServer() throws Exception
    {
        final ChildProcess server = start("harness-server", dir.toString(), "0", "0");
        server.await("READY", 30);
        return server;
    }

    private ChildProcess client(final int tag) throws Exception
    {
        final ChildProcess client = start("harness-client", dir.toString(), "0", Integer.toString(tag), "4",
            Long.toString(DEADLINE_MS));
        client.await("ATTACHED", 30);
        return client;
    }

    private static int index(final ChildProcess client)
    {
        final String line = client.latest("ATTACHED client=");
        return Integer.parseInt(line.substring("ATTACHED client=".length(), line.indexOf(' ', 16)));
    }

    /** Waits until each client's window shows OK calls and nothing else. */
    private void awaitCalling(final ChildProcess... clients) throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        List<Map<String, Long>> windows = List.of();
        while (System.nanoTime() - deadline < 0)
        {
            Thread.sleep(50);
            windows = mark(clients);
            boolean all = true;
            for (final Map<String, Long> w : windows)
            {
                all &= w.get("ok") > 0 && w.get("failed") + w.get("closed") + w.get("refused") == 0;
            }
            if (all)
            {
                return;
            }
        }
        final StringBuilder seen = new StringBuilder();
        for (final ChildProcess c : clients)
        {
            final List<String> all = c.linesStartingWith("");
            seen.append("\n--- client ").append(c.pid()).append(": ")
                .append(all.subList(Math.max(0, all.size() - 6), all.size()));
        }
        fail("clients not calling OK within 20 s: " + windows + seen);
    }

    private List<Map<String, Long>> mark(final ChildProcess... clients) throws Exception
    {
        final int n = ++markSeq;
        for (final ChildProcess c : clients)
        {
            c.send("mark " + n);
        }
        final List<Map<String, Long>> windows = new ArrayList<>();
        for (final ChildProcess c : clients)
        {
            final String line = c.await("MARK " + n + " ", 20);
            final Map<String, Long> m = new LinkedHashMap<>();
            final int first = line.indexOf(" first: ");
            for (final String kv : (first >= 0 ? line.substring(0, first) : line).split(" "))
            {
                final int eq = kv.indexOf('=');
                if (eq > 0)
                {
                    m.put(kv.substring(0, eq), Long.parseLong(kv.substring(eq + 1)));
                }
            }
            if (first >= 0)
            {
                m.put("first: " + line.substring(first + 8), 0L);
            }
            windows.add(m);
        }
        return windows;
    }

    private static void assertClean(final String who, final Map<String, Long> w)
    {
        assertEquals(0, w.get("failed") + w.get("closed") + w.get("timedOut") + w.get("hung") + w.get("dup")
            + w.get("ooo") + w.get("bad") + w.get("lost") + w.get("refused"), who + ": " + w);
    }

    private static void stopAll(final ChildProcess... clients) throws Exception
    {
        for (final ChildProcess c : clients)
        {
            c.send("stop");
        }
        for (final ChildProcess c : clients)
        {
            final String done = c.await("DONE", DEADLINE_MS / 1000 + 15);
            assertTrue(done.contains(" hung=0 ") && done.contains(" dup=0 ") && done.contains(" lost=0 "), done);
        }
        for (final ChildProcess c : clients)
        {
            assertTrue(c.linesStartingWith("STUCK").isEmpty() && c.linesStartingWith("THREW").isEmpty(),
                "a library call hung or threw: " + c.linesStartingWith("STUCK") + c.linesStartingWith("THREW"));
        }
    }

    private interface Condition
    {
        boolean holds() throws Exception;
    }

    private static void awaitTrue(final Condition condition, final long seconds, final String message) throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.holds())
        {
            if (System.nanoTime() - deadline > 0)
            {
                fail(message + " within " + seconds + " s");
            }
            Thread.sleep(10);
        }
    }
}
