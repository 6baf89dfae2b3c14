package dev.ferry.samples.sessions;

import dev.ferry.affinity.pin.Pin;
import dev.ferry.affinity.pin.Pinning;
import dev.ferry.affinity.placement.Placement;
import dev.ferry.affinity.placement.PlacementException;
import dev.ferry.affinity.placement.PlacementPolicy;
import dev.ferry.affinity.placement.Roles;
import dev.ferry.affinity.topology.Topology;
import dev.ferry.agent.AgentThreadFactory;
import dev.ferry.samples.Args;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadFactory;
import java.util.function.Supplier;

/**
 * The seed's Erlang point (Yaws served some 20 times the sessions Apache could): N logical sessions, from 100 up to
 * 100,000, each a stream of small requests, hosted three ways: multiplexed over a few pinned Ferry servers as plain
 * state; one platform thread per session blocking on a queue; and one virtual thread per session when the JVM is
 * 21 or later. It ramps N by about 3x per step within a time budget, measures each step's throughput, round-trip
 * latency and memory per session, and prints where each approach's latency, memory, thread count or time gives
 * out.
 *
 * <p>Threading: {@link #run} drives every approach from the calling thread, one at a time.
 */
public final class Sessions
{
    private Sessions()
    {
    }

    /**
     * @param args see {@code sessions --help}.
     */
    public static void main(final String[] args)
    {
        final Args a = new Args("sessions", args);
        final Config c = new Config(
            a.intArg("from", 100, "fewest sessions"),
            a.intArg("to", 100_000, "most sessions"),
            a.intArg("per-session", 2, "requests per session at each step"),
            a.intArg("window", 64, "requests in flight at once"),
            a.intArg("servers", Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() - 1)),
                "Ferry servers"),
            a.intArg("thread-cap", 4096, "most platform threads the sample may start"),
            a.intArg("latency-budget-ms", 10, "median round trip beyond which an approach has given out"),
            a.intArg("memory-budget-mb", 1024, "resident memory growth beyond which an approach has given out"),
            a.intArg("step-seconds", 10, "longest one step may take"),
            a.intArg("budget-seconds", 45, "longest the whole ramp may take"),
            a.intArg("min-requests", 20_000, "fewest requests per step (small N: more per session)"));
        if (a.helpOrCheck())
        {
            return;
        }
        run(c, System.out);
    }

    /**
     * What to ramp and when to call an approach spent.
     *
     * <p>Immutable; safe to share between threads.
     *
     * @param from            fewest sessions.
     * @param to              most sessions.
     * @param perSession      requests per session per step.
     * @param window          requests in flight.
     * @param servers         Ferry servers.
     * @param threadCap       most platform threads.
     * @param latencyBudgetMs median round-trip limit.
     * @param memoryBudgetMb  resident-memory growth limit.
     * @param stepSeconds     time limit of one step.
     * @param budgetSeconds   time limit of the whole ramp.
     * @param minRequests     fewest requests per step: at small N each session gets more than {@code perSession}.
     */
    public record Config(int from, int to, int perSession, int window, int servers, int threadCap,
                         int latencyBudgetMs, int memoryBudgetMb, int stepSeconds, int budgetSeconds, int minRequests)
    {
        /**
         * @param n sessions.
         * @return requests per session at that N.
         */
        public int perSessionAt(final int n)
        {
            return Math.max(perSession, (int)((minRequests + (long)n - 1) / n));
        }

        /** @throws IllegalArgumentException if a value is out of range. */
        public Config
        {
            if (from < 1 || to < from || perSession < 1 || window < 1 || servers < 1 || threadCap < 1
                || latencyBudgetMs < 1 || memoryBudgetMb < 1 || stepSeconds < 1 || budgetSeconds < 1 || minRequests < 0)
            {
                throw new IllegalArgumentException("sessions: every value must be at least 1 (--min-requests 0) and --to"
                    + " at least --from;"
                    + " got " + this);
            }
        }
    }

    /**
     * One approach at one N.
     *
     * <p>Immutable; safe to share between threads.
     *
     * @param approach      which.
     * @param sessions      N.
     * @param replies       replies received (N x requests per session when all came back).
     * @param perSecond     replies per second.
     * @param p50Us         median round trip, µs.
     * @param p99Us         99th-percentile round trip, µs.
     * @param rssPerSession resident-memory growth per session, bytes.
     * @param heapPerSession heap growth per session, bytes.
     * @param setupMs       time to create the sessions.
     * @param wrong         sessions whose count was wrong.
     * @param gaveOut       why this step is where the approach gave out, or null.
     */
    public record Step(String approach, int sessions, long replies, double perSecond, double p50Us, double p99Us,
                       long rssPerSession, long heapPerSession, double setupMs, int wrong, String gaveOut)
    {
    }

    /**
     * Ramps every approach and prints the table and where each gave out.
     *
     * @param c   the ramp.
     * @param out where the table goes.
     * @return every step measured, then, per approach, the step where it gave out if it did.
     */
    public static Map<String, List<Step>> run(final Config c, final PrintStream out)
    {
        final long budgetEnd = System.nanoTime() + c.budgetSeconds() * 1_000_000_000L;
        final List<Integer> ns = steps(c.from(), c.to());
        final List<String> notes = new ArrayList<>();
        final String[] placementNote = new String[1];
        final Placement[] placement = new Placement[1];
        final AgentThreadFactory factory = serverThreads(c.servers(), placementNote, notes, placement);
        final Map<String, Supplier<SessionHost>> approaches = new LinkedHashMap<>();
        approaches.put("ferry", () -> new FerrySessions(c.servers(), factory, placementNote[0]));
        approaches.put("platform", () -> new ThreadSessions("platform thread per session", Thread::new,
            c.threadCap()));
        final ThreadFactory virtual = ThreadSessions.virtualThreadFactory();
        if (virtual != null)
        {
            approaches.put("virtual", () -> new ThreadSessions("virtual thread per session", virtual,
                Integer.MAX_VALUE));
        }
        else
        {
            notes.add("virtual threads: not measured, this JVM is " + Runtime.version().feature()
                + "; they need JDK 21 or later");
        }

        out.printf("sessions: N from %d to %d, %d request(s) per session per step (at least %d per step), %d in"
            + " flight, on %d CPUs%n", c.from(), c.to(), c.perSession(), c.minRequests(), c.window(),
            Runtime.getRuntime().availableProcessors());
        out.printf("%-44s %8s %10s %10s %10s %12s %12s %9s %s%n", "approach", "N", "req/s", "p50 us", "p99 us",
            "RSS B/sess", "heap B/sess", "setup ms", "");
        final Map<String, List<Step>> results = new LinkedHashMap<>();
        for (final Map.Entry<String, Supplier<SessionHost>> e : approaches.entrySet())
        {
            final List<Step> steps = new ArrayList<>();
            results.put(e.getKey(), steps);
            final Pin pin = "ferry".equals(e.getKey()) && placement[0] != null
                ? Pinning.pinCurrentThread(placement[0].clientCpu(0)) : null;
            try
            {
                ramp(e.getValue(), ns, c, budgetEnd, steps, out);
            }
            finally
            {
                if (pin != null)
                {
                    pin.close();
                }
            }
        }
        out.println();
        for (final Map.Entry<String, List<Step>> e : results.entrySet())
        {
            final List<Step> steps = e.getValue();
            final Step last = steps.get(steps.size() - 1);
            final Step held = last.gaveOut() == null ? last : steps.size() > 1 ? steps.get(steps.size() - 2) : null;
            out.printf("%-44s %s%n", last.approach() + ":", (last.gaveOut() == null
                ? "held up to N=" + last.sessions() + " (the largest asked)"
                : "gave out at N=" + last.sessions() + ": " + last.gaveOut())
                + (held == null ? "" : String.format(
                "; at N=%d: %.0f req/s, median %.0f us, %d B/session resident, %d B/session heap", held.sessions(), held.perSecond(), held.p50Us(), held.rssPerSession(), held.heapPerSession())));
        }
        notes.forEach(n -> out.println("note: " + n));
        out.println("note: memory per session is the growth of resident memory (and of the heap after a GC) from"
            + " before the sessions were created to after; small N makes it noisy");
        return results;
    }

    /** @return from, then every 1 or 3 times a power of ten between, then to: 100, 300, 1000, ... */
    static List<Integer> steps(final int from, final int to)
    {
        final java.util.TreeSet<Integer> ns = new java.util.TreeSet<>();
        ns.add(from);
        ns.add(to);
        for (long p = 1; p <= to; p *= 10)
        {
            for (final long m : new long[]{p, 3 * p})
            {
                if (m > from && m < to)
                {
                    ns.add((int)m);
                }
            }
        }
        return new ArrayList<>(ns);
    }

    private static AgentThreadFactory serverThreads(
        final int servers, final String[] note, final List<String> notes, final Placement[] placement)
    {
        if (!Pinning.isAvailable())
        {
            note[0] = "unpinned";
            notes.add("Ferry servers run unpinned: " + Pinning.unavailableReason());
            return AgentThreadFactory.daemon();
        }
        try
        {
            final Placement p = Placement.plan(Topology.live(), Roles.of(servers, 0, 1),
                PlacementPolicy.defaults().withOversubscribe(true));
            note[0] = "pinned to CPU " + Arrays.toString(p.servers()).replaceAll("[\\[\\] ]", "");
            notes.add("placement: " + p + "; the driving thread is pinned to CPU " + p.clientCpu(0)
                + " while it drives the Ferry servers");
            placement[0] = p;
            return p.threadFactory();
        }
        catch (final PlacementException ex)
        {
            note[0] = "unpinned";
            notes.add("Ferry servers run unpinned: " + ex.getMessage());
            return AgentThreadFactory.daemon();
        }
    }

    private static void ramp(final Supplier<SessionHost> host, final List<Integer> ns, final Config c,
        final long budgetEnd, final List<Step> steps, final PrintStream out)
    {
        warmUp(host, c);
        for (final int n : ns)
        {
            if (System.nanoTime() - budgetEnd > 0)
            {
                final Step s = new Step(host.get().name(), n, 0, 0, 0, 0, 0, 0, 0, 0,
                    "not reached within the " + c.budgetSeconds() + " s budget");
                steps.add(s);
                print(out, s);
                break;
            }
            final Step s = step(host.get(), n, c, budgetEnd);
            steps.add(s);
            print(out, s);
            if (s.gaveOut() != null)
            {
                break;
            }
        }
    }

    private static void warmUp(final Supplier<SessionHost> host, final Config c)
    {
        try (SessionHost h = host.get())
        {
            final int n = Math.min(100, c.threadCap());
            h.open(n);
            h.drive(20, c.window(), System.nanoTime() + 2_000_000_000L, new long[0]);
        }
        catch (final SessionHost.GaveOut ex)
        {
            // The measured steps report it.
        }
    }

    private static Step step(final SessionHost host, final int n, final Config c, final long budgetEnd)
    {
        final long deadline = Math.min(budgetEnd, System.nanoTime() + c.stepSeconds() * 1_000_000_000L);
        final int perSession = c.perSessionAt(n);
        final long[] latencies = new long[(int)Math.min(Integer.MAX_VALUE - 8, (long)n * perSession)];
        final long heap0 = heapAfterGc();
        final long rss0 = rss();
        try
        {
            final long t0 = System.nanoTime();
            try
            {
                if (host instanceof FerrySessions)
                {
                    ((FerrySessions)host).open(n, c.window());
                }
                else
                {
                    host.open(n);
                }
            }
            catch (final SessionHost.GaveOut ex)
            {
                return new Step(host.name(), n, 0, 0, 0, 0, 0, 0, 0, 0, ex.getMessage());
            }
            catch (final OutOfMemoryError ex)
            {
                return new Step(host.name(), n, 0, 0, 0, 0, 0, 0, 0, 0, "out of memory creating sessions: "
                    + ex.getMessage());
            }
            final double setupMs = (System.nanoTime() - t0) / 1e6;
            final long rssPer = Math.max(0, rss() - rss0) / n;
            final long heapPer = Math.max(0, heapAfterGc() - heap0) / n;
            final long t1 = System.nanoTime();
            final int replies = host.drive(perSession, c.window(), deadline, latencies);
            final double seconds = (System.nanoTime() - t1) / 1e9;
            final int wrong = host.wrongCounts(perSession);
            final long[] sorted = Arrays.copyOf(latencies, Math.min(replies, latencies.length));
            Arrays.sort(sorted);
            final double p50 = percentile(sorted, 0.50) / 1e3;
            final double p99 = percentile(sorted, 0.99) / 1e3;
            String gaveOut = null;
            if (replies < (long)n * perSession)
            {
                gaveOut = "only " + replies + " of " + (long)n * perSession + " replies within the step's time";
            }
            else if (wrong > 0)
            {
                gaveOut = wrong + " sessions counted the wrong number of requests";
            }
            else if (p50 > c.latencyBudgetMs() * 1000.0)
            {
                gaveOut = String.format("median round trip %.1f ms is over the %d ms latency budget", p50 / 1e3,
                    c.latencyBudgetMs());
            }
            else if (rssPer * n > c.memoryBudgetMb() * 1024L * 1024L)
            {
                gaveOut = String.format("resident memory grew %d MB, over the %d MB budget", rssPer * n >> 20,
                    c.memoryBudgetMb());
            }
            return new Step(host.name(), n, replies, replies / seconds, p50, p99, rssPer, heapPer, setupMs, wrong,
                gaveOut);
        }
        finally
        {
            host.close();
        }
    }

    private static void print(final PrintStream out, final Step s)
    {
        if (s.replies() == 0)
        {
            out.printf("%-44s %8d %10s %10s %10s %12s %12s %9s GAVE OUT: %s%n", s.approach(), s.sessions(), "-", "-",
                "-", "-", "-", "-", s.gaveOut());
            return;
        }
        out.printf("%-44s %8d %10.0f %10.1f %10.1f %12d %12d %9.1f %s%n", s.approach(), s.sessions(), s.perSecond(),
            s.p50Us(), s.p99Us(), s.rssPerSession(), s.heapPerSession(), s.setupMs(),
            s.gaveOut() == null ? "" : "GAVE OUT: " + s.gaveOut());
    }

    private static double percentile(final long[] sorted, final double q)
    {
        if (sorted.length == 0)
        {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int)Math.ceil(q * sorted.length) - 1)];
    }

    private static long heapAfterGc()
    {
        System.gc();
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** @return resident memory in bytes from /proc/self/status, or 0 where unavailable. */
    static long rss()
    {
        try
        {
            for (final String line : Files.readAllLines(Paths.get("/proc/self/status")))
            {
                if (line.startsWith("VmRSS:"))
                {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024L;
                }
            }
        }
        catch (final IOException | NumberFormatException ex)
        {
            return 0;
        }
        return 0;
    }
}
