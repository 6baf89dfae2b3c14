package dev.ferry.bench.report;

import dev.ferry.Mode;
import dev.ferry.affinity.model.MachineState;
import dev.ferry.affinity.model.Stats;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * Runs every measurement of the report within a time budget and judges Ferry's claims on the results. The budget is
 * shared out: about a fifth to the modes, a fifth to the batch sweep, and most of the rest to the idle sweep, whose
 * low-load points need time to collect enough arrivals. When the machine changed speed between DIRECT and BLOCKING
 * (its cache-line probe, {@link MachineState}, moved), the two are measured once more, which takes a tenth more.
 *
 * <p>Threading: {@link #run()} runs every measurement on the calling thread, one kernel at a time.
 */
public final class ReportRunner
{
    /** The batch sizes swept. */
    public static final int[] BATCHES = {1, 2, 4, 8, 16, 32, 64, 128, 256};
    /** The loads of the quick idle sweep, as fractions of capacity. */
    public static final double[] QUICK_LOADS = {0.01, 0.1, 0.3, 0.6, 0.9};
    /** Runs per idle-sweep point, the strategies taking turns; the point is their median. */
    public static final int IDLE_RUNS = 3;
    /** The full report's loads, fractions of capacity. */
    public static final double[] FULL_LOADS = {0.01, 0.03, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9};
    /** The idle sweep handler's service time, ns. */
    public static final long SERVICE_NS = 10_000;

    /** How long the idle sweep's capacity measurement saturates the server before counting, and then counts. */
    private static final long CAPACITY_WARM_NS = 300_000_000L;
    private static final long CAPACITY_MEASURE_NS = 1_000_000_000L;

    private static final Mode[] MODES = {Mode.INLINE, Mode.DIRECT, Mode.MOVER, Mode.BLOCKING};

    /** The sections a report can run. */
    public static final Set<String> SECTIONS = Set.of("modes", "batch", "idle");

    private final long budgetMs;
    private final double[] loads;
    private final Set<String> sections;
    private final PrintStream progress;
    private final long startNs = System.nanoTime();
    private final String loadAtStart = loadAverage();

    /**
     * @param budgetMs how long the measurements may take, in ms; at least 2000.
     * @param loads    the idle sweep's loads, fractions of capacity in (0, 1].
     * @param progress where progress lines go (standard error on the command line).
     * @param sections which of {@link #SECTIONS} to run; the budget is shared as if all ran.
     */
    public ReportRunner(
        final long budgetMs, final double[] loads, final PrintStream progress, final Set<String> sections)
    {
        if (sections.isEmpty() || !SECTIONS.containsAll(sections))
        {
            throw new IllegalArgumentException("sections " + sections + " must be some of " + SECTIONS);
        }
        this.sections = Set.copyOf(sections);
        if (budgetMs < 2000)
        {
            throw new IllegalArgumentException("budget is " + budgetMs + " ms; give the report at least 2000 ms");
        }
        for (final double l : loads)
        {
            if (!(l > 0 && l <= 1))
            {
                throw new IllegalArgumentException("load " + l + " is not a fraction of capacity in (0, 1]");
            }
        }
        this.budgetMs = budgetMs;
        this.loads = loads.clone();
        this.progress = progress;
    }

    /**
     * @return everything measured, with the claims judged.
     */
    public Report run()
    {
        final long budgetNs = budgetMs * 1_000_000L;
        warnIfBusy();
        final List<Report.ModeResult> modes = new ArrayList<>();
        final long perMode = (long)(budgetNs * 0.20 / MODES.length);
        final long[] probe = {sections.contains("modes") ? MachineState.probe() : MachineState.NOT_PROBED};
        for (final Mode mode : sections.contains("modes") ? MODES : new Mode[0])
        {
            modes.add(measureMode(mode, perMode, probe));
        }
        if (sections.contains("modes") && !comparable(mode(modes, "DIRECT"), mode(modes, "BLOCKING")))
        {
            // The two are compared, and this project's VM changes speed now and then: measure the pair once more,
            // back to back, and keep it if it ran in one state.
            log("the machine changed speed between DIRECT and BLOCKING: measuring the two again");
            final Report.ModeResult direct = measureMode(Mode.DIRECT, perMode, probe);
            final Report.ModeResult blocking = measureMode(Mode.BLOCKING, perMode, probe);
            if (comparable(direct, blocking))
            {
                modes.replaceAll(m -> m.mode().equals("DIRECT") ? direct : m.mode().equals("BLOCKING") ? blocking : m);
            }
        }

        final List<Report.BatchPoint> batches = new ArrayList<>();
        final long perBatch = (long)(budgetNs * 0.20 / (2 * BATCHES.length));
        for (final Mode mode : sections.contains("batch") ? new Mode[] {Mode.DIRECT, Mode.MOVER} : new Mode[0])
        {
            final StringBuilder line = new StringBuilder();
            for (final int b : BATCHES)
            {
                final Report.BatchPoint p = BatchSweep.run(mode, b, perBatch / 3, perBatch - perBatch / 3);
                batches.add(p);
                line.append(String.format(Locale.ROOT, " %d:%s", b, ns(p.medianNsPerCall())));
            }
            log("batch %-6s median ns/call by batch size:%s", mode.name(), line);
        }

        final List<Report.IdlePoint> idle = new ArrayList<>();
        final Report.Capacity capacity = !sections.contains("idle") ? new Report.Capacity(SERVICE_NS, 0, 0)
            : IdleSweep.capacity(SERVICE_NS, 2000, CAPACITY_WARM_NS, CAPACITY_MEASURE_NS);
        log("capacity: %s calls/s, a saturated server's (%s a call; the handler alone takes %s)",
            count(capacity.callsPerSec()), ns(capacity.callsPerSec() > 0 ? 1e9 / capacity.callsPerSec() : 0),
            ns(capacity.measuredServiceNs()));
        final long perRun = (long)(budgetNs * 0.55 / (loads.length * IdleSweep.STRATEGIES.size() * IDLE_RUNS));
        long seed = 42;
        for (final double load : sections.contains("idle") ? loads : new double[0])
        {
            // Each point is the median of IDLE_RUNS runs, the strategies taking turns, so that a stall of the
            // machine lands in one run of one strategy and is outvoted, rather than deciding a comparison.
            final Map<String, List<Report.IdlePoint>> runs = new LinkedHashMap<>();
            for (int r = 0; r < IDLE_RUNS; r++)
            {
                for (final String s : IdleSweep.STRATEGIES)
                {
                    runs.computeIfAbsent(s, k -> new ArrayList<>())
                        .add(IdleSweep.run(s, load, capacity, perRun / 5, perRun - perRun / 5, seed++));
                }
            }
            final StringBuilder line = new StringBuilder();
            for (final String s : IdleSweep.STRATEGIES)
            {
                final Report.IdlePoint p = medianOf(runs.get(s));
                idle.add(p);
                line.append(String.format(Locale.ROOT, "  %s p99 %s cpu %.1f%%", s,
                    p.calls() == 0 ? "(none completed)" : ns(p.p99Ns()), 100 * p.cpuFraction()));
            }
            log("idle load %3.0f%%:%s", 100 * load, line);
        }
        final long elapsedMs = (System.nanoTime() - startNs) / 1_000_000L;
        return new Report(machine(), budgetMs, elapsedMs, modes, batches, idle, capacity,
            checks(modes, batches, idle));
    }

    /**
     * Judges Ferry's claims on one run's results.
     *
     * @param modes   the modes' results.
     * @param batches the batch sweep.
     * @param idle    the idle sweep.
     * @return one check per claim.
     */
    public static List<Report.Check> checks(
        final List<Report.ModeResult> modes, final List<Report.BatchPoint> batches, final List<Report.IdlePoint> idle)
    {
        final List<Report.Check> checks = new ArrayList<>();
        final Report.ModeResult direct = mode(modes, "DIRECT");
        final Report.ModeResult blocking = mode(modes, "BLOCKING");
        if (direct != null && blocking != null)
        {
            final double ratio = blocking.rttP50Ns() / (double)Math.max(1, direct.rttP50Ns());
            final boolean unprobed = direct.lineRttNs() == MachineState.NOT_PROBED
                && blocking.lineRttNs() == MachineState.NOT_PROBED;
            final boolean comparable = comparable(direct, blocking);
            checks.add(new Report.Check("direct-vs-blocking",
                "DIRECT round-trip p50 is at most 1/50 of BLOCKING's",
                String.format(Locale.ROOT, "DIRECT p50 %s, BLOCKING p50 %s: BLOCKING is %.1fx DIRECT",
                    ns(direct.rttP50Ns()), ns(blocking.rttP50Ns()), ratio)
                    + (unprobed ? "" : String.format(Locale.ROOT, " (line round trip %s while DIRECT ran, %s while "
                    + "BLOCKING ran)%s", state(direct.lineRttNs()), state(blocking.lineRttNs()), comparable ? ""
                    : ": the machine changed speed between them, so they do not compare; run again")),
                comparable && ratio >= 50));
        }
        final Report.BatchPoint m1 = batch(batches, "MOVER", 1);
        final Report.BatchPoint m32 = batch(batches, "MOVER", 32);
        if (m1 != null && m32 != null)
        {
            final double ratio = m1.medianNsPerCall() / m32.medianNsPerCall();
            checks.add(new Report.Check("mover-batching",
                "MOVER at batch 32 takes at least 5x fewer ns per call than at batch 1 (median batch round trips)",
                String.format(Locale.ROOT, "batch 1: %s/call, batch 32: %s/call: %.1fx (means, stalls included: "
                    + "%s and %s)", ns(m1.medianNsPerCall()), ns(m32.medianNsPerCall()), ratio, ns(m1.nsPerCall()),
                    ns(m32.nsPerCall())),
                ratio >= 5));
        }
        final List<String> beaten = new ArrayList<>();
        int compared = 0;
        for (final Report.IdlePoint a : idle)
        {
            if (!a.strategy().equals("ferry-adaptive"))
            {
                continue;
            }
            final Report.IdlePoint b = idle(idle, "agrona-backoff", a.loadFraction());
            if (b != null && a.calls() > 0 && b.calls() > 0)
            {
                compared++;
                if (b.p99Ns() < a.p99Ns() && b.cpuFraction() < a.cpuFraction())
                {
                    beaten.add(String.format(Locale.ROOT, "%.0f%% (backoff p99 %s cpu %.1f%%, adaptive p99 %s cpu "
                        + "%.1f%%)", 100 * a.loadFraction(), ns(b.p99Ns()), 100 * b.cpuFraction(), ns(a.p99Ns()),
                        100 * a.cpuFraction()));
                }
            }
        }
        if (compared > 0)
        {
            checks.add(new Report.Check("adaptive-vs-backoff",
                "at no load does Agrona's BackoffIdleStrategy beat Ferry's adaptive strategy on both p99 and CPU",
                beaten.isEmpty() ? "not beaten at any of " + compared + " loads" : "beaten at " + beaten,
                beaten.isEmpty()));
        }
        final double lowest = idle.stream().mapToDouble(Report.IdlePoint::loadFraction).min().orElse(Double.NaN);
        final Report.IdlePoint adaptiveLow = idle(idle, "ferry-adaptive", lowest);
        final Report.IdlePoint spinLow = idle(idle, "busy-spin", lowest);
        if (adaptiveLow != null && spinLow != null)
        {
            final double ratio = adaptiveLow.cpuFraction() / spinLow.cpuFraction();
            checks.add(new Report.Check("adaptive-low-load-cpu",
                String.format(Locale.ROOT, "at %.0f%% load the adaptive strategy burns at most 10%% of the CPU busy "
                    + "spin burns", 100 * lowest),
                String.format(Locale.ROOT, "adaptive %.2f%%, busy spin %.1f%% of a CPU: %.1f%%",
                    100 * adaptiveLow.cpuFraction(), 100 * spinLow.cpuFraction(), 100 * ratio),
                ratio <= 0.10));
        }
        return checks;
    }

    /**
     * One strategy's runs at one load as one point: each percentile, the CPU fraction and the generator's lateness
     * are the median over the runs (each taken on its own, so the point may combine figures of different runs);
     * calls are summed. Runs in which no call completed count as the worst p50 and p99.
     *
     * @param runs at least one run of the same strategy at the same load.
     * @return the point.
     */
    static Report.IdlePoint medianOf(final List<Report.IdlePoint> runs)
    {
        final Report.IdlePoint first = runs.get(0);
        long calls = 0;
        for (final Report.IdlePoint p : runs)
        {
            calls += p.calls();
        }
        return new Report.IdlePoint(first.strategy(), first.loadFraction(), first.offeredPerSec(), calls,
            (long)median(runs, p -> p.calls() == 0 ? Long.MAX_VALUE : p.p50Ns()),
            (long)median(runs, p -> p.calls() == 0 ? Long.MAX_VALUE : p.p99Ns()),
            median(runs, Report.IdlePoint::cpuFraction),
            (long)median(runs, Report.IdlePoint::generatorLateP99Ns),
            first.seats());
    }

    private static double median(final List<Report.IdlePoint> runs, final ToDoubleFunction<Report.IdlePoint> f)
    {
        return Stats.of(runs.stream().mapToDouble(f).toArray()).median();
    }

    /**
     * @param lineRttNs a state from {@link MachineState#across}.
     * @return it in words.
     */
    static String state(final long lineRttNs)
    {
        return lineRttNs == MachineState.CHANGED ? "changing" : lineRttNs == MachineState.NOT_PROBED ? "not probed"
            : ns(lineRttNs);
    }

    /**
     * Measures one mode, probing the machine's state after it (one probe closes a mode and opens the next).
     *
     * @param probe in: the probe taken before; out: the one taken after.
     */
    private Report.ModeResult measureMode(final Mode mode, final long perModeNs, final long[] probe)
    {
        final long before = probe[0];
        final Report.ModeResult r = ModeProbe.run(mode, perModeNs / 3, perModeNs - perModeNs / 3);
        probe[0] = MachineState.probe();
        log("mode %-8s p50 %s  p99 %s  p99.9 %s  %s calls/s  cpu %s/call  ctx-switches %.3f/call",
            r.mode(), ns(r.rttP50Ns()), ns(r.rttP99Ns()), ns(r.rttP999Ns()), count(r.callsPerSec()),
            ns(r.cpuNsPerCall()), r.ctxSwitchesPerCall());
        return r.withLineRttNs(MachineState.across(before, probe[0]));
    }

    /** Whether two modes' results compare: both unprobed, or both measured in one state of the machine. */
    private static boolean comparable(final Report.ModeResult a, final Report.ModeResult b)
    {
        return a == null || b == null
            || a.lineRttNs() == MachineState.NOT_PROBED && b.lineRttNs() == MachineState.NOT_PROBED
            || MachineState.same(a.lineRttNs(), b.lineRttNs());
    }

    private static Report.ModeResult mode(final List<Report.ModeResult> modes, final String name)
    {
        return modes.stream().filter(m -> m.mode().equals(name)).findFirst().orElse(null);
    }

    private static Report.BatchPoint batch(final List<Report.BatchPoint> points, final String mode, final int b)
    {
        return points.stream().filter(p -> p.mode().equals(mode) && p.batch() == b).findFirst().orElse(null);
    }

    private static Report.IdlePoint idle(final List<Report.IdlePoint> points, final String s, final double load)
    {
        return points.stream().filter(p -> p.strategy().equals(s) && p.loadFraction() == load).findFirst()
            .orElse(null);
    }

    private String machine()
    {
        return String.format(Locale.ROOT, "%d CPUs available to the JVM; %s %s (%s); %s %s %s; load average %s at the "
            + "start, %s at the end", Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.name"),
            System.getProperty("java.runtime.version"), System.getProperty("java.vendor"),
            System.getProperty("os.name"), System.getProperty("os.version"), System.getProperty("os.arch"),
            loadAtStart, loadAverage());
    }

    /**
     * @return the 1-minute load average from {@code /proc/loadavg}, or "unknown".
     */
    static String loadAverage()
    {
        try
        {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ")[0];
        }
        catch (final java.io.IOException | RuntimeException ex)
        {
            return "unknown";
        }
    }

    private void warnIfBusy()
    {
        try
        {
            final double load = Double.parseDouble(loadAverage());
            final int cpus = Runtime.getRuntime().availableProcessors();
            if (load > cpus)
            {
                log("warning: load average %.1f on %d CPUs: other work competes for the CPUs, so timings (tails "
                    + "above all) are unreliable; rerun on a quiet machine", load, cpus);
            }
        }
        catch (final NumberFormatException ex)
        {
            // No /proc/loadavg: nothing to warn about.
        }
    }

    private void log(final String format, final Object... args)
    {
        final long s = (System.nanoTime() - startNs) / 1_000_000_000L;
        progress.printf(Locale.ROOT, "[%3ds] " + format + "%n", prepend(s, args));
        progress.flush();
    }

    private static Object[] prepend(final long s, final Object[] args)
    {
        final Object[] all = new Object[args.length + 1];
        all[0] = s;
        System.arraycopy(args, 0, all, 1, args.length);
        return all;
    }

    /**
     * @param ns a duration in nanoseconds.
     * @return it in ns, µs or ms, three significant digits.
     */
    public static String ns(final double ns)
    {
        if (ns < 1_000)
        {
            return String.format(Locale.ROOT, "%.0f ns", ns);
        }
        if (ns < 1_000_000)
        {
            return String.format(Locale.ROOT, "%.3g µs", ns / 1e3);
        }
        return String.format(Locale.ROOT, "%.3g ms", ns / 1e6);
    }

    /**
     * @param n a count or rate.
     * @return it with a k or M suffix, three significant digits.
     */
    public static String count(final double n)
    {
        if (n < 1e3)
        {
            return String.format(Locale.ROOT, "%.0f", n);
        }
        if (n < 1e6)
        {
            return String.format(Locale.ROOT, "%.3gk", n / 1e3);
        }
        return String.format(Locale.ROOT, "%.3gM", n / 1e6);
    }
}
