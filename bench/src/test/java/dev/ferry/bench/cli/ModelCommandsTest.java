package dev.ferry.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Map;

import dev.ferry.Mode;
import dev.ferry.affinity.model.CostModel;
import dev.ferry.affinity.model.LatencyMatrix;
import dev.ferry.affinity.model.LevelInference;
import dev.ferry.affinity.model.LevelMapping;
import dev.ferry.affinity.model.MachineCosts;
import dev.ferry.affinity.model.ModelPlacement;
import dev.ferry.affinity.model.Stats;
import dev.ferry.affinity.topology.Topology;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The output of {@code latency-map} and {@code model} for fixed figures: the JSON shapes the issue specifies, the
 * tolerance verdicts, and the SVG pictures; and that both commands are wired into {@code ferry-bench}.
 */
final class ModelCommandsTest
{
    private static LatencyMatrix twoCpus()
    {
        return new LatencyMatrix(new int[] {0, 1}, new double[][] {{0, 143.4}, {143.4, 0}},
            new double[][] {{0, 0.05}, {0.05, 0}});
    }

    @Test
    void latencyMapJsonHasCpusRttAndLevels()
    {
        final LatencyMatrix m = twoCpus();
        final LevelMapping mapping = LevelMapping.map(Topology.live(), LevelInference.infer(m));
        final String json = LatencyMapCommand.toJson(m, mapping);
        assertTrue(json.startsWith("{\"cpus\":[0,1],\"rttNs\":[[0,143],[143,0]],\"levels\":[{\"level\":\""), json);
        assertTrue(json.contains("\"rttNs\":143,\"pairs\":[[0,1]]}]"), json);
        final String text = LatencyMapCommand.toText(m, mapping);
        assertTrue(text.contains("143 ( 5)"), text);
        final String svg = ModelSvg.heatmap(m, mapping, "map");
        assertTrue(svg.startsWith("<svg") && svg.trim().endsWith("</svg>"), svg);
        assertTrue(svg.contains("CPU 0 - CPU 1: 143 ns"), svg);
    }

    @Test
    void modelJsonHasOneObjectPerRowWithTheIssuesFields()
    {
        final MachineCosts costs = new MachineCosts((a, b) -> a == b ? 0 : 140, 0, 1, 140,
            Map.of(1, Stats.exactly(300), 32, Stats.exactly(1900)),
            Map.of(1, Stats.exactly(10), 32, Stats.exactly(320)), Map.of(), Stats.exactly(10), Stats.exactly(58_000),
            Stats.exactly(60_000), Stats.exactly(11), Stats.exactly(400), Map.of(1_000L, Stats.exactly(70_000)));
        final CostModel model = new CostModel(costs);
        final List<ModelCommand.Row> rows = List.of(
            new ModelCommand.Row(model.predict(Mode.DIRECT, ModelPlacement.of(0, 1), 1), Stats.exactly(400)),
            new ModelCommand.Row(model.predict(Mode.DIRECT, ModelPlacement.of(0, 1), 32), Stats.exactly(2231)));
        final String json = ModelCommand.toJson(rows);
        assertTrue(json.startsWith("[{\"mode\":\"DIRECT\",\"placement\":\"client@0 server@1\",\"batch\":1," +
            "\"predictedRttNs\":321,\"measuredRttNs\":400,\"predictedCallsPerSec\":3115265," +
            "\"measuredCallsPerSec\":2500000,\"validated\":true,\"withinTolerance\":true,"), json);
        assertTrue(json.contains("\"batch\":32,\"predictedRttNs\":2231,\"measuredRttNs\":2231"), json);
        final String text = ModelCommand.toText(costs, rows);
        assertTrue(text.contains("-19.8% ") && text.contains("within 25%"), text);
        final List<ModelCommand.Row> off = List.of(
            new ModelCommand.Row(model.predict(Mode.DIRECT, ModelPlacement.of(0, 1), 1), Stats.exactly(1000)));
        assertTrue(ModelCommand.toText(costs, off).contains("OUTSIDE 25%"));
        assertTrue(ModelCommand.toJson(off).contains("\"withinTolerance\":false"));
        final String bars = ModelSvg.bars(List.of(new ModelSvg.Bar("DIRECT", 321, 400)), "bars", "ns");
        assertTrue(bars.contains(">321<") && bars.contains(">400<"), bars);
    }

    @Test
    void bothCommandsAreSubcommandsOfFerryBench()
    {
        final CommandLine cli = FerryBench.commandLine();
        final StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("help"));
        assertTrue(out.toString().contains("latency-map") && out.toString().contains("model"), out.toString());
    }
}
