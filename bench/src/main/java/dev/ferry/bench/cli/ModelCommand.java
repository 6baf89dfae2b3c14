package dev.ferry.bench.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

import dev.ferry.Handler;
import dev.ferry.Mode;
import dev.ferry.affinity.model.CostModel;
import dev.ferry.affinity.model.FerryCalls;
import dev.ferry.affinity.model.LatencyMatrix;
import dev.ferry.affinity.model.LevelInference;
import dev.ferry.affinity.model.LevelMapping;
import dev.ferry.affinity.model.MachineCosts;
import dev.ferry.affinity.model.ModelPlacement;
import dev.ferry.affinity.model.Prediction;
import dev.ferry.affinity.model.ProbeOptions;
import dev.ferry.affinity.model.Probes;
import dev.ferry.affinity.model.PublishedLatencies;
import dev.ferry.affinity.model.Simulation;
import dev.ferry.affinity.model.Stats;
import dev.ferry.affinity.model.Term;
import dev.ferry.affinity.topology.Topology;
import dev.ferry.bench.report.JsonWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry-bench model}: probes the machine, builds the cost model from the probes, predicts each mode's
 * round trip and throughput, measures the same calls through a real kernel in the same run, and prints predicted
 * against measured (text, {@code --json}, and with {@code --out DIR} the files and SVG pictures).
 *
 * <p>Not thread-safe: picocli builds and runs one instance on one thread.
 */
@Command(
    name = "model",
    mixinStandardHelpOptions = true,
    description = {
        "Probes the machine (line round trip, ring hops by batch, handler, wake-ups, spin-wait, yield, parkNanos),",
        "predicts each mode's round trip and calls/s from the probes, and measures the same calls in the same run.",
    })
public final class ModelCommand implements Callable<Integer>
{
    /** A prediction counts as validated within this relative error of its measurement. */
    static final double TOLERANCE = 0.25;
    private static final int LENGTH = 64;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", description = "Print a JSON array: one object per mode, placement and batch.")
    private boolean json;

    @Option(names = "--out", paramLabel = "DIR", description = "Write model.json, model.txt, latency-map.svg and " +
        "model-rtt.svg (predicted against measured) into DIR.")
    private Path out;

    @Option(names = "--client", defaultValue = "-1", description = "The client's CPU. Default: the first usable.")
    private int client;

    @Option(names = "--server", defaultValue = "-1", description = "The server's CPU. Default: the second usable.")
    private int server;

    @Option(names = "--rounds", defaultValue = "100", description = "Round trips per probe sample. Default: ${DEFAULT-VALUE}")
    private int rounds;

    @Option(names = "--samples", defaultValue = "1001", description = "Samples per probe and per measurement (median). " +
        "Default: ${DEFAULT-VALUE}")
    private int samples;

    @Option(names = "--attempts", defaultValue = "3", description = "Attempts at a run in which the machine keeps "
        + "its speed (the line round trip within 20% of the model's before every measurement); the last is "
        + "printed. Default: ${DEFAULT-VALUE}")
    private int attempts;

    @Option(names = "--simulate", paramLabel = "FSROOT", description = "Also simulate the machine whose sys/ and " +
        "proc/ are under FSROOT (e.g. an hwloc test dump) with published per-level latencies: where should the mover go?")
    private Path simulate;

    /**
     * One row: a prediction and its measurement.
     */
    static final class Row
    {
        final Prediction prediction;
        final Stats measured;

        Row(final Prediction prediction, final Stats measured)
        {
            this.prediction = prediction;
            this.measured = measured;
        }

        double measuredCallsPerSec()
        {
            return prediction.batch() * 1e9 / measured.median();
        }

        double error()
        {
            return (prediction.rttNs() - measured.median()) / measured.median();
        }

        boolean validated()
        {
            return prediction.caveat() == null;
        }
    }

    @Override
    public Integer call() throws IOException
    {
        final Topology topology = Topology.live();
        final int[] usable = topology.usable().toArray();
        if (usable.length < 2)
        {
            throw new IllegalArgumentException("the model needs two usable CPUs for client and server; usable: " +
                topology.usable());
        }
        final int c = client >= 0 ? client : usable[0];
        final int s = server >= 0 ? server : usable[1];
        topology.requireUsable(c);
        topology.requireUsable(s);
        final PrintWriter err = spec.commandLine().getErr();
        final String pinning = Probes.pinningNote();
        if (pinning != null)
        {
            err.println("warning: " + pinning);
        }
        if (attempts < 1)
        {
            throw new IllegalArgumentException("--attempts is " + attempts + "; it must be at least 1");
        }
        final ProbeOptions options = new ProbeOptions(20, samples, rounds);
        final LatencyMatrix matrix = Probes.latencyMatrix(usable, options, (what, done, total) ->
            progress(err, "latency map " + what, done, total));
        final Handler handler = FerryCalls.checksumHandler();
        MachineCosts costs = null;
        List<Row> rows = null;
        Drift drift = null;
        for (int attempt = 1; attempt <= attempts; attempt++)
        {
            costs = MachineCosts.measure(c, s, new int[] {1, 32}, handler, LENGTH, options,
                (what, done, total) -> progress(err, "probe " + what, done, total));
            drift = new Drift(costs.calibrationLineRttNs());
            rows = measureCases(new CostModel(costs), c, s, usable, handler, options, drift, err);
            err.println();
            if (drift.stable())
            {
                break;
            }
            err.println("warning: attempt " + attempt + " of " + attempts + ": " + drift.describe()
                + (attempt < attempts ? "; measuring again" : "; predictions and measurements of this run are not "
                + "comparable"));
        }
        err.flush();

        final String text = toText(costs, rows) + drift.note() + (simulate == null ? "" : simulation(costs));
        final String jsonText = toJson(rows);
        final PrintWriter stdout = spec.commandLine().getOut();
        stdout.print(json ? jsonText : text);
        stdout.flush();
        if (out != null)
        {
            Files.createDirectories(out);
            Files.writeString(out.resolve("model.json"), jsonText, StandardCharsets.UTF_8);
            Files.writeString(out.resolve("model.txt"), text, StandardCharsets.UTF_8);
            final LevelMapping mapping = LevelMapping.map(topology, LevelInference.infer(matrix));
            Files.writeString(out.resolve("latency-map.svg"),
                ModelSvg.heatmap(matrix, mapping, "Core-to-core latency map"), StandardCharsets.UTF_8);
            final List<ModelSvg.Bar> bars = new ArrayList<>();
            for (final Row r : rows)
            {
                bars.add(new ModelSvg.Bar(label(r.prediction) + (r.validated() ? "" : " (not validated)"),
                    r.prediction.rttNs(), r.measured.median()));
            }
            Files.writeString(out.resolve("model-rtt.svg"),
                ModelSvg.bars(bars, "Ferry round trip per batch: predicted against measured", "ns per batch"),
                StandardCharsets.UTF_8);
            err.println("wrote model.json, model.txt, latency-map.svg, model-rtt.svg to " + out);
            err.flush();
        }
        return 0;
    }

    private List<Row> measureCases(
        final CostModel model,
        final int c,
        final int s,
        final int[] usable,
        final Handler handler,
        final ProbeOptions options,
        final Drift drift,
        final PrintWriter err)
    {
        // BLOCKING first: wake-ups cost what the rest of the machine lets them, so it is measured right after the
        // wake-up probe.
        final List<Object[]> cases = List.of(
            new Object[] {Mode.BLOCKING, ModelPlacement.of(c, s), 1},
            new Object[] {Mode.DIRECT, ModelPlacement.of(c, s), 1},
            new Object[] {Mode.DIRECT, ModelPlacement.of(c, s), 32},
            new Object[] {Mode.MOVER, ModelPlacement.withMover(c, s, usable.length > 2 ? usable[2] : s), 1},
            new Object[] {Mode.INLINE, ModelPlacement.of(c, s), 1});
        final ProbeOptions check = options.withSamples(Math.min(options.samples(), 201));
        final List<Row> rows = new ArrayList<>();
        int done = 0;
        for (final Object[] k : cases)
        {
            final Mode mode = (Mode)k[0];
            final ModelPlacement placement = (ModelPlacement)k[1];
            final int batch = (Integer)k[2];
            progress(err, "Ferry " + mode + " batch " + batch, ++done, cases.size());
            drift.check(Probes.pingPong(c, s, check).median());
            // One batch per sample (the clock costs ~25 ns against a round trip of 1 us or more), so the median
            // drops the batches the scheduler interrupted; INLINE is too fast for that and times 100.
            final ProbeOptions callOptions = new ProbeOptions(20, samples, mode == Mode.INLINE ? 100 : 1);
            rows.add(new Row(model.predict(mode, placement, batch),
                FerryCalls.measure(mode, placement, batch, handler, LENGTH, callOptions)));
        }
        drift.check(Probes.pingPong(c, s, check).median());
        return rows;
    }

    /**
     * Whether the machine kept its speed through one attempt: the line round trip probed before each measurement
     * and at the end, against the one the model was built on. A VM whose host switches between a fast and a slow
     * state (this project's development VM does, between about 110 and 600 ns) would otherwise compare predictions
     * made in one state with measurements taken in the other.
     */
    static final class Drift
    {
        /** A line round trip further than this fraction from the model's makes the attempt unstable. */
        static final double LIMIT = 0.20;
        private final double baseNs;
        private double minNs = Double.MAX_VALUE;
        private double maxNs;

        Drift(final double baseNs)
        {
            this.baseNs = baseNs;
        }

        void check(final double lineRttNs)
        {
            minNs = Math.min(minNs, lineRttNs);
            maxNs = Math.max(maxNs, lineRttNs);
        }

        boolean stable()
        {
            return maxNs == 0 || (minNs >= baseNs * (1 - LIMIT) && maxNs <= baseNs * (1 + LIMIT));
        }

        String describe()
        {
            return String.format(Locale.ROOT, "the line round trip was %.0f ns when probed for the model and "
                + "%.0f-%.0f ns while Ferry was measured", baseNs, minNs, maxNs);
        }

        String note()
        {
            return "\n" + (stable() ? "Stable run: " : "UNSTABLE run, predictions and measurements not comparable: ")
                + describe() + String.format(Locale.ROOT, " (limit +-%.0f%%).%n", 100 * LIMIT);
        }
    }

    private static void progress(final PrintWriter err, final String what, final int done, final int total)
    {
        err.printf(Locale.ROOT, "\r%-60s (%d/%d)", what, done, total);
        err.flush();
    }

    private static String label(final Prediction p)
    {
        return p.mode() + " " + p.placement() + " batch " + p.batch();
    }

    static String toText(final MachineCosts costs, final List<Row> rows)
    {
        final StringBuilder sb = new StringBuilder();
        sb.append("Probes (medians, this run):\n");
        sb.append(String.format(Locale.ROOT, "  line round trip %s: %.0f ns%n", costs.calibrationPair(),
            costs.calibrationLineRttNs()));
        for (final Map.Entry<Integer, Stats> e : costs.ringRtt().entrySet())
        {
            sb.append(String.format(Locale.ROOT, "  ring round trip, batch %d: %.0f ns (%.2f line transfers per hop, " +
                "%.1f ns per message per hop)%n", e.getKey(), e.getValue().median(),
                costs.transfersPerHop(e.getKey()), e.getValue().median() / (2.0 * e.getKey())));
        }
        for (final Map.Entry<Integer, Stats> e : costs.localBatch().entrySet())
        {
            final Stats staged = costs.staging().get(e.getKey());
            sb.append(String.format(Locale.ROOT, "  Ferry's local path (INLINE), batch %d: %.0f ns (%.1f ns per call)%s%n",
                e.getKey(), e.getValue().median(), e.getValue().median() / e.getKey(), staged == null ? ""
                    : String.format(Locale.ROOT, "; the client's staging of it: %.0f ns (%.1f ns per call)",
                        staged.median(), staged.median() / e.getKey())));
        }
        sb.append(String.format(Locale.ROOT, "  handler: %.1f ns (fastest sample; median %.1f ns)%n",
            costs.handler().min(), costs.handler().median()));
        sb.append(String.format(Locale.ROOT, "  park/unpark round trip: %.1f us; blocking-queue round trip: %.1f us%n",
            costs.wakeRtt().median() / 1e3, costs.queueRtt().median() / 1e3));
        sb.append(String.format(Locale.ROOT, "  Thread.onSpinWait: %.1f ns; Thread.yield: %.0f ns%n",
            costs.spinWait().median(), costs.yieldCost().median()));
        for (final Map.Entry<Long, Stats> e : costs.park().entrySet())
        {
            sb.append(String.format(Locale.ROOT, "  parkNanos(%d us) really sleeps %.1f us%n", e.getKey() / 1000,
                e.getValue().median() / 1e3));
        }
        sb.append("\nPredicted against measured (round trip of one batch; calls/s of one client):\n");
        sb.append(String.format(Locale.ROOT, "  %-42s %12s %12s %8s %14s %14s%n", "mode placement batch",
            "pred ns", "meas ns", "error", "pred calls/s", "meas calls/s"));
        for (final Row r : rows)
        {
            sb.append(String.format(Locale.ROOT, "  %-42s %12.0f %12.0f %+7.1f%% %14.0f %14.0f %s%n",
                label(r.prediction), r.prediction.rttNs(), r.measured.median(), 100 * r.error(),
                r.prediction.callsPerSec(), r.measuredCallsPerSec(),
                !r.validated() ? "(not validated: see caveat)" :
                    Math.abs(r.error()) <= TOLERANCE ? "within 25%" : "OUTSIDE 25%"));
        }
        sb.append("\nTerms:\n");
        for (final Row r : rows)
        {
            sb.append(r.prediction.explain().replaceAll("(?m)^", "  "));
        }
        return sb.toString();
    }

    private String simulation(final MachineCosts costs)
    {
        final Topology other = Topology.load(simulate);
        final Simulation sim = new Simulation(other, PublishedLatencies.SERVER, costs);
        final StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
            "%nSimulated: %s with %s latencies %s%n", simulate, PublishedLatencies.SERVER.name(),
            PublishedLatencies.SERVER.asMap()));
        for (final int batch : new int[] {1, 32})
        {
            final List<Prediction> p = sim.moverPlacements(batch);
            for (final Prediction x : p)
            {
                sb.append(String.format(Locale.ROOT, "  MOVER batch %d, %s: %.0f ns, %.0f calls/s%n", batch,
                    sim.describe(x), x.rttNs(), x.callsPerSec()));
            }
            if (p.size() > 1)
            {
                final Prediction last = p.get(p.size() - 1);
                sb.append(String.format(Locale.ROOT, "  -> the mover on the server's sibling saves %.0f ns per batch " +
                    "(%.0f%%) against %s%n", last.rttNs() - p.get(0).rttNs(),
                    100 * (last.rttNs() - p.get(0).rttNs()) / last.rttNs(), last.placement()));
            }
        }
        return sb.toString();
    }

    static String toJson(final List<Row> rows)
    {
        final JsonWriter j = new JsonWriter().beginArray();
        for (final Row r : rows)
        {
            j.beginObject()
                .field("mode", r.prediction.mode().name())
                .field("placement", r.prediction.placement().toString())
                .field("batch", r.prediction.batch())
                .field("predictedRttNs", Math.round(r.prediction.rttNs()))
                .field("measuredRttNs", Math.round(r.measured.median()))
                .field("predictedCallsPerSec", Math.round(r.prediction.callsPerSec()))
                .field("measuredCallsPerSec", Math.round(r.measuredCallsPerSec()))
                .field("validated", r.validated())
                .field("withinTolerance", Math.abs(r.error()) <= TOLERANCE)
                .field("caveat", r.prediction.caveat())
                .name("terms").beginArray();
            for (final Term t : r.prediction.terms())
            {
                j.value(t.toString());
            }
            j.endArray().endObject();
        }
        return j.endArray() + "\n";
    }
}
