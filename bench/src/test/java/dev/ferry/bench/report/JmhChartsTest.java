package dev.ferry.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import dev.ferry.bench.cli.FerryBench;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code ferry-bench jmh-chart} on a small JMH result file in JMH 1.37's format: one throughput result with
 * {@code -prof gc} metrics and parameters, one sample-time result.
 */
final class JmhChartsTest
{
    private static final String RESULTS = """
        [
          {"jmhVersion":"1.37","benchmark":"dev.ferry.bench.jmh.peers.ArrayBlockingQueueBenchmark.batch32",
           "mode":"thrpt","threads":1,"forks":1,"params":{"size":"32"},
           "primaryMetric":{"score":534021.8,"scoreError":"NaN","scoreConfidence":["NaN","NaN"],
             "scorePercentiles":{"0.0":534021.8,"50.0":534021.8,"99.0":534021.8,"99.9":534021.8},
             "scoreUnit":"ops/s","rawData":[[534021.8]]},
           "secondaryMetrics":{"gc.alloc.rate.norm":{"score":7.6,"scoreError":"NaN","scoreUnit":"B/op"}}},
          {"jmhVersion":"1.37","benchmark":"dev.ferry.bench.jmh.peers.SynchronousQueueBenchmark.roundTrip",
           "mode":"sample","threads":1,"forks":1,
           "primaryMetric":{"score":16641.1,"scoreError":120.5,"scoreConfidence":[16520.6,16761.6],
             "scorePercentiles":{"0.0":3000.0,"50.0":4400.0,"90.0":9000.0,"99.0":49135.0,"99.9":3800000.0},
             "scoreUnit":"ns/op"},
           "secondaryMetrics":{}}
        ]
        """;

    @TempDir
    Path dir;

    @Test
    void parsesLabelsScoresPercentilesAndAllocation()
    {
        final List<JmhCharts.Result> results = JmhCharts.parse(RESULTS);
        assertEquals(2, results.size());
        final JmhCharts.Result thrpt = results.get(0);
        assertEquals("ArrayBlockingQueue.batch32[size=32]", thrpt.label());
        assertEquals(534021.8, thrpt.score(), 1e-9);
        assertEquals(7.6, thrpt.bytesPerOp(), 1e-9);
        final JmhCharts.Result sample = results.get(1);
        assertEquals("SynchronousQueue.roundTrip", sample.label());
        assertEquals(4400.0, sample.p50(), 1e-9);
        assertEquals(49135.0, sample.p99(), 1e-9);
        assertEquals(3800000.0, sample.p999(), 1e-9);
        assertTrue(Double.isNaN(sample.bytesPerOp()), "no -prof gc metric: NaN, not 0");
        assertTrue(JmhCharts.table(results).contains("49135"), JmhCharts.table(results));
    }

    @Test
    void commandWritesTheCharts() throws IOException
    {
        final Path json = dir.resolve("results.json");
        Files.writeString(json, RESULTS);
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final CommandLine cli = FerryBench.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        final Path charts = dir.resolve("charts");
        assertEquals(0, cli.execute("jmh-chart", json.toString(), "--out", charts.toString()), err.toString());
        for (final String f : new String[] {JmhCharts.THROUGHPUT, JmhCharts.LATENCY, JmhCharts.ALLOC})
        {
            assertTrue(Files.size(charts.resolve(f)) > 1000, f + " written");
        }
        assertTrue(out.toString().contains("ArrayBlockingQueue.batch32"), out.toString());
    }

    @Test
    void refusesWhatIsNotAJmhResultFile() throws IOException
    {
        assertThrows(IllegalArgumentException.class, () -> JmhCharts.parse("{\"modes\":[]}"));
        final StringWriter err = new StringWriter();
        final CommandLine cli = FerryBench.commandLine();
        cli.setErr(new PrintWriter(err, true));
        cli.setOut(new PrintWriter(new StringWriter(), true));
        assertEquals(1, cli.execute("jmh-chart", dir.resolve("missing.json").toString()));
        assertTrue(err.toString().contains("-rf json"), "says how to make one: " + err);
    }
}
