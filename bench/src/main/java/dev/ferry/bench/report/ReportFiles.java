package dev.ferry.bench.report;

import java.util.Locale;

/**
 * Renders a {@link Report} as {@code report.json}, as {@code report.md} and as the summary table printed at the end
 * of a run.
 *
 * <p>Stateless and thread-safe.
 */
public final class ReportFiles
{
    private ReportFiles()
    {
    }

    /**
     * @param r a report.
     * @return it as one JSON object with the members {@code machine}, {@code modes}, {@code batchSweep},
     * {@code idle}, {@code capacity} and {@code checks}.
     */
    public static String json(final Report r)
    {
        final JsonWriter j = new JsonWriter().beginObject();
        j.name("machine").value(r.machine()).name("budgetMs").value(r.budgetMs()).name("elapsedMs").value(r.elapsedMs());
        j.name("modes").beginArray();
        for (final Report.ModeResult m : r.modes())
        {
            j.beginObject().name("mode").value(m.mode()).name("calls").value(m.calls())
                .name("rttP50Ns").value(m.rttP50Ns()).name("rttP99Ns").value(m.rttP99Ns())
                .name("rttP999Ns").value(m.rttP999Ns()).name("callsPerSec").value(m.callsPerSec())
                .name("cpuNsPerCall").value(m.cpuNsPerCall())
                .name("cpuNsPerCallByRole").beginObject()
                .name("caller").value(m.callerCpuNsPerCall()).name("server").value(m.serverCpuNsPerCall())
                .name("mover").value(m.moverCpuNsPerCall()).endObject()
                .name("ctxSwitchesPerCall").value(m.ctxSwitchesPerCall())
                .name("voluntaryCtxSwitchesPerCall").value(m.voluntaryPerCall())
                .name("involuntaryCtxSwitchesPerCall").value(m.involuntaryPerCall())
                .name("lineRttNs").value(m.lineRttNs())
                .endObject();
        }
        j.endArray();
        j.name("batchSweep").beginArray();
        for (final Report.BatchPoint p : r.batchSweep())
        {
            j.beginObject().name("mode").value(p.mode()).name("batch").value(p.batch()).name("calls").value(p.calls())
                .name("callsPerSec").value(p.callsPerSec()).name("nsPerCall").value(p.nsPerCall())
                .name("medianNsPerCall").value(p.medianNsPerCall()).endObject();
        }
        j.endArray();
        j.name("capacity").beginObject().name("serviceNs").value(r.capacity().serviceNs())
            .name("measuredServiceNs").value(r.capacity().measuredServiceNs())
            .name("callsPerSec").value(r.capacity().callsPerSec()).endObject();
        j.name("idle").beginArray();
        for (final Report.IdlePoint p : r.idle())
        {
            j.beginObject().name("strategy").value(p.strategy()).name("loadFraction").value(p.loadFraction())
                .name("offeredPerSec").value(p.offeredPerSec()).name("calls").value(p.calls())
                .name("p50Ns").value(p.p50Ns()).name("p99Ns").value(p.p99Ns())
                .name("cpuFraction").value(p.cpuFraction()).name("generatorLateP99Ns").value(p.generatorLateP99Ns())
                .name("seats").value(p.seats()).endObject();
        }
        j.endArray();
        j.name("checks").beginArray();
        for (final Report.Check c : r.checks())
        {
            j.beginObject().name("name").value(c.name()).name("claim").value(c.claim())
                .name("measured").value(c.measured()).name("passed").value(c.passed()).endObject();
        }
        j.endArray();
        return j.endObject().toString();
    }

    /**
     * @param r a report.
     * @return the summary table: modes, the batch sweep's ends, and the checks.
     */
    public static String summary(final Report r)
    {
        final StringBuilder b = new StringBuilder();
        modesTable(b, r);
        b.append('\n');
        for (final Report.Check c : r.checks())
        {
            b.append(c.passed() ? "PASS  " : "FAIL  ").append(c.claim()).append(": ").append(c.measured()).append('\n');
        }
        return b.toString();
    }

    private static void modesTable(final StringBuilder b, final Report r)
    {
        b.append(String.format(Locale.ROOT,
            "| %-8s | %10s | %10s | %10s | %10s | %11s | %11s | %11s | %10s | %10s |%n",
            "mode", "rtt p50", "rtt p99", "rtt p99.9", "calls/s", "cpu caller", "cpu server", "cpu mover",
            "ctx sw", "line rtt"));
        b.append("|----------|-----------:|-----------:|-----------:|-----------:|------------:|------------:|"
            + "------------:|-----------:|-----------:|\n");
        for (final Report.ModeResult m : r.modes())
        {
            b.append(String.format(Locale.ROOT,
                "| %-8s | %10s | %10s | %10s | %10s | %11s | %11s | %11s | %10.3f | %10s |%n",
                m.mode(), ReportRunner.ns(m.rttP50Ns()), ReportRunner.ns(m.rttP99Ns()),
                ReportRunner.ns(m.rttP999Ns()), ReportRunner.count(m.callsPerSec()),
                ReportRunner.ns(m.callerCpuNsPerCall()), ReportRunner.ns(m.serverCpuNsPerCall()),
                ReportRunner.ns(m.moverCpuNsPerCall()), m.ctxSwitchesPerCall(), ReportRunner.state(m.lineRttNs())));
        }
    }

    /**
     * @param r      a report.
     * @param charts the chart files written beside it, by name, or none.
     * @return it as Markdown.
     */
    public static String markdown(final Report r, final String... charts)
    {
        final StringBuilder b = new StringBuilder();
        b.append("# Ferry report: polling against blocking\n\n");
        b.append("Machine: ").append(r.machine()).append(".  \n");
        b.append(String.format(Locale.ROOT, "Budget %d ms, measured in %d ms. Timings on a machine shared with "
            + "other work are noisy: compare the ratios within this run, not absolute figures across runs.%n%n",
            r.budgetMs(), r.elapsedMs()));

        b.append("## Checks\n\n");
        for (final Report.Check c : r.checks())
        {
            b.append("- **").append(c.passed() ? "PASS" : "FAIL").append("** ").append(c.claim()).append(": ")
                .append(c.measured()).append('\n');
        }

        b.append("\n## Modes\n\n");
        b.append("One caller, one call in flight, the same echo handler (read a long, write it back plus one) in every "
            + "mode. Round trips timed with `System.nanoTime()` into an HdrHistogram. CPU is each role's thread CPU "
            + "time (ThreadMXBean) over the calls made; context switches are the voluntary plus involuntary switches "
            + "of the caller, server and mover threads (`/proc/self/task/*/status`) per call.\n\n");
        modesTable(b, r);

        b.append("\n## Batch sweep\n\n");
        b.append("The caller submits a batch of calls, publishes it with one flush, and awaits every completion "
            + "before the next batch. ns/call is the measured time over the calls, every stall included; median "
            + "ns/call is the median batch round trip over the batch size, the path's own cost.\n\n"
            + "| mode | batch | calls/s | ns/call | median ns/call |\n|---|---:|---:|---:|---:|\n");
        for (final Report.BatchPoint p : r.batchSweep())
        {
            b.append(String.format(Locale.ROOT, "| %s | %d | %s | %.0f | %.0f |%n", p.mode(), p.batch(),
                ReportRunner.count(p.callsPerSec()), p.nsPerCall(), p.medianNsPerCall()));
        }

        b.append("\n## Idle strategies under open-loop load\n\n");
        b.append(String.format(Locale.ROOT, "One DIRECT server whose handler spins for a fixed service time of %s. "
            + "**Capacity** is what a saturated server completed in this run: %s calls/s, %s a call, against %s for "
            + "the handler alone (the median of 2000 timed runs): the path and the machine's interruptions take the "
            + "rest, so a load fraction is of what the server can really do. A load generator on "
            + "the calling thread sends calls at Poisson-distributed times at each fraction of that capacity (open "
            + "loop: it never waits for replies). Response time runs from a call's scheduled send time to the moment "
            + "the handler finished it, so a server that sleeps through an arrival pays for it in full, and so does "
            + "one that queues. CPU is the server thread's CPU time over wall-clock time, the service time included "
            + "(so at least the load fraction). `blocking` is BLOCKING mode: the server parks and each send unparks "
            + "it. `agrona-backoff` is Agrona's `BackoffIdleStrategy` with its defaults; `ferry-adaptive` is "
            + "`AdaptiveIdleStrategy` with its defaults. The generator and the server run on two distinct CPUs "
            + "where the process may use two (%s). `generator late p99` is how late the generator itself sent "
            + "calls: the harness's share of the response times, which is charged to them. Each point is the median "
            + "of " + ReportRunner.IDLE_RUNS + " runs, the strategies taking turns, so that one stall of the machine "
            + "does not decide a comparison; `calls` is their sum.%n%n",
            ReportRunner.ns(r.capacity().serviceNs()), ReportRunner.count(r.capacity().callsPerSec()),
            ReportRunner.ns(r.capacity().callsPerSec() > 0 ? 1e9 / r.capacity().callsPerSec() : 0),
            ReportRunner.ns(r.capacity().measuredServiceNs()),
            r.idle().isEmpty() ? "no points measured" : "this run: " + r.idle().get(0).seats()));
        b.append("| load | strategy | calls | p50 | p99 | CPU | generator late p99 |\n"
            + "|---:|---|---:|---:|---:|---:|---:|\n");
        for (final Report.IdlePoint p : r.idle())
        {
            final boolean none = p.calls() == 0;
            b.append(String.format(Locale.ROOT, "| %.0f%% | %s | %d | %s | %s | %.1f%% | %s |%n",
                100 * p.loadFraction(), p.strategy(), p.calls(), none ? "none completed" : ReportRunner.ns(p.p50Ns()),
                none ? "(server too far behind)" : ReportRunner.ns(p.p99Ns()), 100 * p.cpuFraction(),
                ReportRunner.ns(p.generatorLateP99Ns())));
        }
        if (charts.length > 0)
        {
            b.append("\n## Charts\n\n");
            for (final String c : charts)
            {
                b.append("![").append(c).append("](").append(c).append(")\n\n");
            }
        }
        return b.toString();
    }
}
