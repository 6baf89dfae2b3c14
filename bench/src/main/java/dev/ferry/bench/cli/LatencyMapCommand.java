package dev.ferry.bench.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

import dev.ferry.affinity.model.LatencyMatrix;
import dev.ferry.affinity.model.LevelInference;
import dev.ferry.affinity.model.LevelMapping;
import dev.ferry.affinity.model.ProbeOptions;
import dev.ferry.affinity.model.Probes;
import dev.ferry.affinity.topology.CpuSet;
import dev.ferry.affinity.topology.Topology;
import dev.ferry.bench.report.JsonWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry-bench latency-map}: measures the core-to-core latency matrix (a cache line bounced between two
 * pinned threads for every CPU pair), groups the pairs into levels, maps them onto the topology and reports where
 * measurement and sysfs disagree. Text table, {@code --json}, and an SVG heatmap with {@code --svg FILE}.
 *
 * <p>Not thread-safe: picocli builds and runs one instance on one thread.
 */
@Command(
    name = "latency-map",
    mixinStandardHelpOptions = true,
    description = {
        "Measures the round trip of one cache line between every pair of CPUs (two pinned threads ping-pong a fresh,",
        "padded line), groups the pairs into levels and maps them onto the machine's topology.",
    })
public final class LatencyMapCommand implements Callable<Integer>
{
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--cpus", paramLabel = "LIST", description = "CPUs to measure, e.g. 0-3,8. Default: all usable.")
    private String cpus;

    @Option(names = "--json", description = "Print one JSON object: {\"cpus\", \"rttNs\", \"levels\"}.")
    private boolean json;

    @Option(names = "--svg", paramLabel = "FILE", description = "Also write a heatmap of the matrix as SVG.")
    private Path svg;

    @Option(names = "--rounds", defaultValue = "1000", description = "Round trips per sample. Default: ${DEFAULT-VALUE}")
    private int rounds;

    @Option(names = "--samples", defaultValue = "201", description = "Samples per pair (median). Default: ${DEFAULT-VALUE}")
    private int samples;

    @Option(names = "--warmup", defaultValue = "20", description = "Warm-up samples per pair. Default: ${DEFAULT-VALUE}")
    private int warmup;

    @Override
    public Integer call() throws IOException
    {
        final Topology topology = Topology.live();
        final CpuSet set = cpus == null ? topology.usable() : CpuSet.parseList(cpus);
        set.stream().forEach(topology::requireUsable);
        if (set.size() < 2)
        {
            throw new IllegalArgumentException("a latency map needs at least two CPUs; " + set + " has " + set.size() +
                " (usable: " + topology.usable() + ")");
        }
        final PrintWriter err = spec.commandLine().getErr();
        final String pinning = Probes.pinningNote();
        if (pinning != null)
        {
            err.println("warning: " + pinning);
        }
        final LatencyMatrix matrix = Probes.latencyMatrix(set.toArray(), new ProbeOptions(warmup, samples, rounds),
            (what, done, total) ->
            {
                err.printf(Locale.ROOT, "\rmeasuring %s (%d/%d)   ", what, done, total);
                err.flush();
            });
        err.println();
        err.flush();
        final LevelMapping mapping = LevelMapping.map(topology, LevelInference.infer(matrix));
        final PrintWriter out = spec.commandLine().getOut();
        out.print(json ? toJson(matrix, mapping) : toText(matrix, mapping));
        out.flush();
        if (svg != null)
        {
            Files.writeString(svg, ModelSvg.heatmap(matrix, mapping, "Core-to-core latency map"),
                StandardCharsets.UTF_8);
            err.println("heatmap written to " + svg);
            err.flush();
        }
        return 0;
    }

    /**
     * @param m       the matrix.
     * @param mapping its levels.
     * @return the matrix as a table, then the levels, disagreements and notes.
     */
    static String toText(final LatencyMatrix m, final LevelMapping mapping)
    {
        final StringBuilder sb = new StringBuilder("Round trip of one cache line, ns (median; spread p10-p90 in %)\n");
        sb.append(String.format(Locale.ROOT, "%6s", "CPU"));
        for (int j = 0; j < m.size(); j++)
        {
            sb.append(String.format(Locale.ROOT, "%12d", m.cpu(j)));
        }
        sb.append('\n');
        for (int i = 0; i < m.size(); i++)
        {
            sb.append(String.format(Locale.ROOT, "%6d", m.cpu(i)));
            for (int j = 0; j < m.size(); j++)
            {
                sb.append(i == j ? String.format(Locale.ROOT, "%12s", "-") :
                    String.format(Locale.ROOT, "%7.0f (%2.0f)", m.rttNs(i, j), 100 * m.spread(i, j)));
            }
            sb.append('\n');
        }
        sb.append("\nLevels (inferred from the matrix alone, named from sysfs):\n");
        for (int g = 0; g < mapping.inferred().groupCount(); g++)
        {
            sb.append(String.format(Locale.ROOT, "  %d: %-22s %7.0f ns  %d pair(s)%n", g,
                mapping.groupLevel(g).label(), mapping.inferred().groupRttNs(g), mapping.inferred().groupPairs(g)));
        }
        sb.append(String.format(Locale.ROOT, "Agreement with sysfs: %.1f%% of pairs%n", 100 * mapping.agreement()));
        for (final String d : mapping.disagreements())
        {
            sb.append("  disagrees: ").append(d).append('\n');
        }
        for (final String n : mapping.notes())
        {
            sb.append("  note: ").append(n).append('\n');
        }
        return sb.toString();
    }

    /**
     * @param m       the matrix.
     * @param mapping its levels.
     * @return {@code {"cpus": [...], "rttNs": [[...], ...], "levels": [...]}}; each level an object with its name,
     *         round trip and pairs; then agreement, disagreements and notes.
     */
    static String toJson(final LatencyMatrix m, final LevelMapping mapping)
    {
        final JsonWriter j = new JsonWriter().beginObject().name("cpus").beginArray();
        for (int i = 0; i < m.size(); i++)
        {
            j.value(m.cpu(i));
        }
        j.endArray().name("rttNs").beginArray();
        for (int i = 0; i < m.size(); i++)
        {
            j.beginArray();
            for (int k = 0; k < m.size(); k++)
            {
                j.value(Math.round(m.rttNs(i, k)));
            }
            j.endArray();
        }
        j.endArray().name("levels").beginArray();
        for (int g = 0; g < mapping.inferred().groupCount(); g++)
        {
            j.beginObject().field("level", mapping.groupLevel(g).label())
                .field("rttNs", Math.round(mapping.inferred().groupRttNs(g)))
                .name("pairs").beginArray();
            for (int a = 0; a < m.size(); a++)
            {
                for (int b = a + 1; b < m.size(); b++)
                {
                    if (mapping.inferred().group(a, b) == g)
                    {
                        j.beginArray().value(m.cpu(a)).value(m.cpu(b)).endArray();
                    }
                }
            }
            j.endArray().endObject();
        }
        j.endArray().name("disagreements").beginArray();
        mapping.disagreements().forEach(j::value);
        j.endArray().name("notes").beginArray();
        mapping.notes().forEach(j::value);
        j.endArray().endObject();
        return j + "\n";
    }
}
