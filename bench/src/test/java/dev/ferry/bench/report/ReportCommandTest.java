package dev.ferry.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.ferry.bench.cli.FerryBench;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Runs {@code ferry-bench report --quick} in-process with a short budget and checks that report.json holds every
 * key the report promises, with plausible values (counts and orderings, never absolute timings), and that
 * report.md and the charts are written.
 */
final class ReportCommandTest
{
    private static final double SERVICE_NS = ReportRunner.SERVICE_NS;

    @TempDir
    Path out;

    @Test
    void quickReportWritesEveryKeyWithPlausibleValues() throws IOException
    {
        final StringWriter stdout = new StringWriter();
        final StringWriter stderr = new StringWriter();
        final CommandLine cli = FerryBench.commandLine();
        cli.setOut(new PrintWriter(stdout, true));
        cli.setErr(new PrintWriter(stderr, true));
        final int status = cli.execute("report", "--quick", "--budget-ms", "8000", "--out", out.toString());
        assertEquals(0, status, "report failed: " + stderr);
        assertTrue(stderr.toString().contains("mode DIRECT") && stderr.toString().contains("idle load"),
            "progress goes to standard error: " + stderr);
        assertTrue(stdout.toString().contains("| DIRECT"), "summary table on standard output: " + stdout);

        for (final String file : new String[] {"report.md", "report.json", Charts.MODES, Charts.BATCH, Charts.IDLE})
        {
            assertTrue(Files.size(out.resolve(file)) > 100, file + " written");
        }
        @SuppressWarnings("unchecked")
        final Map<String, Object> json = (Map<String, Object>)JsonReader.parse(
            Files.readString(out.resolve("report.json"), StandardCharsets.UTF_8));

        final List<Map<String, Object>> modes = list(json, "modes");
        final Set<String> modeNames = new HashSet<>();
        double inlineSwitches = Double.NaN;
        double blockingSwitches = Double.NaN;
        for (final Map<String, Object> m : modes)
        {
            final String mode = (String)m.get("mode");
            modeNames.add(mode);
            final double p50 = num(m, "rttP50Ns");
            final double p99 = num(m, "rttP99Ns");
            assertTrue(p50 > 0 && p99 >= p50 && num(m, "rttP999Ns") >= p99, mode + " percentiles ordered: " + m);
            assertTrue(num(m, "callsPerSec") > 0 && num(m, "calls") > 0, mode + " made calls: " + m);
            assertTrue(num(m, "cpuNsPerCall") > 0, mode + " CPU per call measured: " + m);
            assertTrue(num(m, "ctxSwitchesPerCall") >= 0, mode + " context switches measured: " + m);
            assertTrue(num(m, "lineRttNs") >= -1, mode + " the machine's state recorded: " + m);
            @SuppressWarnings("unchecked")
            final Map<String, Object> roles = (Map<String, Object>)m.get("cpuNsPerCallByRole");
            final double sum = num(roles, "caller") + num(roles, "server") + num(roles, "mover");
            assertEquals(num(m, "cpuNsPerCall"), sum, 1e-6 * sum + 1, mode + " CPU is the sum of the roles: " + m);
            if (!mode.equals("INLINE"))
            {
                assertTrue(num(roles, "server") > 0, mode + " has a server thread that used CPU: " + m);
            }
            assertEquals(mode.equals("MOVER"), num(roles, "mover") > 0, mode + " mover CPU only in MOVER: " + m);
            if (mode.equals("INLINE"))
            {
                inlineSwitches = num(m, "ctxSwitchesPerCall");
            }
            if (mode.equals("BLOCKING"))
            {
                blockingSwitches = num(m, "ctxSwitchesPerCall");
            }
        }
        assertEquals(Set.of("INLINE", "DIRECT", "MOVER", "BLOCKING"), modeNames);
        assertTrue(blockingSwitches > 0.1 && blockingSwitches > inlineSwitches,
            "BLOCKING parks, so it switches context, INLINE does not: " + blockingSwitches + " vs " + inlineSwitches);

        final List<Map<String, Object>> batches = list(json, "batchSweep");
        assertEquals(2 * ReportRunner.BATCHES.length, batches.size(), "DIRECT and MOVER at every batch size");
        final Set<String> batchKeys = new HashSet<>();
        for (final Map<String, Object> p : batches)
        {
            batchKeys.add(p.get("mode") + "/" + (long)num(p, "batch"));
            final double rate = num(p, "callsPerSec");
            final double ns = num(p, "nsPerCall");
            assertTrue(rate > 0 && ns > 0, "batch point measured: " + p);
            assertEquals(1e9, rate * ns, 1e6, "calls/s and ns/call agree: " + p);
            assertTrue(num(p, "medianNsPerCall") > 0, "median batch round trip measured: " + p);
        }
        assertTrue(batchKeys.contains("DIRECT/1") && batchKeys.contains("MOVER/256"), batchKeys.toString());

        @SuppressWarnings("unchecked")
        final Map<String, Object> capacity = (Map<String, Object>)json.get("capacity");
        assertTrue(num(capacity, "measuredServiceNs") >= SERVICE_NS, "the handler spins its service time: " + capacity);
        // A saturated server completes calls no faster than its handler runs, and (even on a busy 2-CPU machine)
        // at more than a tenth of that rate.
        final double handlerRate = 1e9 / num(capacity, "measuredServiceNs");
        final double capacityRate = num(capacity, "callsPerSec");
        assertTrue(capacityRate <= 1.05 * handlerRate && capacityRate > handlerRate / 10,
            "capacity is a saturated server's rate: " + capacity);
        final List<Map<String, Object>> idle = list(json, "idle");
        assertEquals(ReportRunner.QUICK_LOADS.length * IdleSweep.STRATEGIES.size(), idle.size());
        final Set<String> strategies = new HashSet<>();
        for (final Map<String, Object> p : idle)
        {
            strategies.add((String)p.get("strategy"));
            final double load = num(p, "loadFraction");
            assertTrue(load > 0 && load <= 1, "load is a fraction of capacity: " + p);
            // On a machine oversubscribed by other work a starved server can fall so far behind at a high load
            // that no call due in the short interval completes; at the lowest load every strategy keeps up.
            assertTrue(num(p, "calls") > 0 || load > ReportRunner.QUICK_LOADS[0], "calls arrived at low load: " + p);
            if (num(p, "calls") > 0)
            {
                assertTrue(num(p, "p99Ns") >= num(p, "p50Ns") && num(p, "p50Ns") >= SERVICE_NS,
                    "a response takes at least the service time, p99 at least p50: " + p);
            }
            final double cpu = num(p, "cpuFraction");
            assertTrue(cpu > 0 && cpu <= 1.05, "CPU is a fraction of one core: " + p);
            assertTrue(num(p, "generatorLateP99Ns") >= 0, "the generator's lateness is recorded: " + p);
            assertTrue(String.valueOf(p.get("seats")).matches("generator@\\d+ server@\\d+|unpinned: .+"),
                "where the generator and the server ran: " + p);
        }
        assertEquals(Set.copyOf(IdleSweep.STRATEGIES), strategies);

        final List<Map<String, Object>> checks = list(json, "checks");
        assertEquals(4, checks.size(), "every claim judged: " + checks);
        for (final Map<String, Object> c : checks)
        {
            assertTrue(c.get("passed") instanceof Boolean && c.get("measured") instanceof String, c.toString());
        }
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> list(final Map<String, Object> json, final String key)
    {
        final Object v = json.get(key);
        assertTrue(v instanceof List && !((List<?>)v).isEmpty(), "report.json has a non-empty \"" + key + "\"");
        return (List<Map<String, Object>>)v;
    }

    private static double num(final Map<String, Object> m, final String key)
    {
        final Object v = m.get(key);
        assertTrue(v instanceof Double, "\"" + key + "\" is a number in " + m);
        return (Double)v;
    }
}
