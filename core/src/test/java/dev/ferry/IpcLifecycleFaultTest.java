package dev.ferry;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Lifecycles in one process, each run in a child JVM ({@link LifecycleRounds}) so that a JVM crash (a SIGSEGV
 * reading or writing a mapping already unmapped) shows as a crash of that child: the test then notes the round or
 * the check in progress, with the child's hs_err report, and goes on in a new child from the next one.
 *
 * <ul>
 *     <li>{@code closeInEveryOrder}: a kernel, two servers of service 0 (the second replacing the first after it
 *     closed, or after it "died": its heartbeat made stale, so that the first finds itself replaced and stops) and
 *     clients, closed in each of the 24 orders of four roles ({kernel, second server, client A, client B} after a
 *     close; {kernel, replaced server, second server, client A} after a death): 48 rounds per mode, times
 *     {@code -Dferry.lifecycle.repeats} (default 1). Expected: no crash, no close that throws, every call OK.</li>
 *     <li>{@code everyRoleAfterClose}: every public method of a closed {@link LaneClient} (submit, flush, poll,
 *     await, call, inFlight, staged, freeSlots) and {@link Kernel#attachedClients()} and {@link Kernel#start()}
 *     throw IllegalStateException; counters kept on the heap may still answer; a second close does nothing;
 *     attaching a client or a server to a closed kernel throws IllegalStateException; a client left open while its
 *     kernel closed refuses new calls with IllegalStateException, polls without crashing, and closes. Nothing
 *     crashes the JVM.</li>
 * </ul>
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
final class IpcLifecycleFaultTest
{
    private static final int REPEATS = Integer.getInteger("ferry.lifecycle.repeats", 1);

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
        final ChildProcess child = new ChildProcess(tmp.resolve(args[0] + "-" + children.size() + ".log"), args);
        children.add(child);
        return child;
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void closeInEveryOrder(final Mode mode) throws Exception
    {
        final int total = 2 * LifecycleRounds.ORDERS.size() * REPEATS;
        final List<String> problems = new ArrayList<>();
        int from = 0;
        while (from < total)
        {
            final Path roundsDir = Files.createDirectories(tmp.resolve("rounds-" + from));
            final ChildProcess child = start("lifecycle", roundsDir.toString(), mode.name(),
                Integer.toString(from), Integer.toString(total - from));
            final boolean exited = child.waitFor(240);
            final List<String> rounds = child.linesStartingWith("ROUND ");
            for (final String p : child.linesStartingWith("PROBLEM "))
            {
                problems.add(mode + " " + roundOf(rounds, p) + ": " + p);
            }
            if (exited && child.exitValue() == 0 && child.latest("DONE") != null)
            {
                break;
            }
            final String last = rounds.isEmpty() ? "before the first round" : rounds.get(rounds.size() - 1);
            problems.add(mode + " the JVM " + (exited ? "died (exit " + child.exitValue() + ")" : "hung")
                + " in " + last + ": " + child.diagnostics());
            child.close();
            from = rounds.isEmpty() ? from + 1 : Integer.parseInt(last.split(" ")[1]) + 1;
        }
        assertTrue(problems.isEmpty(), problems.size() + " problems:\n" + String.join("\n", problems));
    }

    private static String roundOf(final List<String> rounds, final String problem)
    {
        final String r = problem.split(" ")[1];
        for (final String round : rounds)
        {
            if (round.split(" ")[1].equals(r))
            {
                return round;
            }
        }
        return "round " + r;
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void everyRoleAfterClose(final Mode mode) throws Exception
    {
        final List<String> problems = new ArrayList<>();
        int from = 0;
        // A child that crashes at check i is followed by one that starts at check i + 1; one that ends says DONE.
        while (from < 100)
        {
            final ChildProcess child = start("after-close", tmp.resolve("after-close-" + from).toString(),
                mode.name(), Integer.toString(from));
            final boolean exited = child.waitFor(60);
            for (final String result : child.linesStartingWith("RESULT "))
            {
                if (!result.split(" ")[2].equals("ok"))
                {
                    problems.add(mode + " " + checkName(child, result.split(" ")[1]) + ": " + result);
                }
            }
            final String done = child.latest("DONE");
            if (exited && child.exitValue() == 0 && done != null)
            {
                break;
            }
            final String last = child.latest("CHECK ");
            problems.add(mode + " the JVM " + (exited ? "died (exit " + child.exitValue() + ")" : "hung") + " in "
                + (last == null ? "the set-up" : last) + ": " + child.diagnostics());
            child.close();
            if (last == null)
            {
                break;
            }
            from = Integer.parseInt(last.split(" ")[1]) + 1;
        }
        assertTrue(problems.isEmpty(), problems.size() + " problems:\n" + String.join("\n", problems));
    }

    private static String checkName(final ChildProcess child, final String index)
    {
        final String line = child.latest("CHECK " + index + " ");
        return line == null ? "check " + index : line;
    }
}
