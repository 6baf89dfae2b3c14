package dev.ferry.bench.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns a JMH result file ({@code -rf json}) into PNG charts: throughput per benchmark ({@code jmh-throughput.png},
 * one chart per score unit), sample-time percentiles p50/p99/p99.9 ({@code jmh-latency.png}) and, when the run used
 * {@code -prof gc}, bytes allocated per operation ({@code jmh-alloc.png}); plus a text table of the same.
 * Benchmarks are labelled {@code Class.method} without the package and the {@code Benchmark} suffix, with their
 * parameters in brackets.
 *
 * <p>Stateless; each call reads its own file and writes its own charts.
 */
public final class JmhCharts
{
    /** The throughput chart's file name. */
    public static final String THROUGHPUT = "jmh-throughput.png";
    /** The latency chart's file name. */
    public static final String LATENCY = "jmh-latency.png";
    /** The allocation chart's file name. */
    public static final String ALLOC = "jmh-alloc.png";

    private JmhCharts()
    {
    }

    /**
     * One benchmark result, as charted.
     *
     * @param label       {@code Class.method[params]}.
     * @param mode        JMH's mode: thrpt, avgt, sample, ss.
     * @param score       the primary score.
     * @param unit        its unit.
     * @param p50         the median (sample mode; else the score).
     * @param p99         the 99th percentile (sample mode; else the score).
     * @param p999        the 99.9th percentile (sample mode; else the score).
     * @param bytesPerOp  {@code gc.alloc.rate.norm}, or NaN without {@code -prof gc}.
     */
    public record Result(
        String label, String mode, double score, String unit, double p50, double p99, double p999, double bytesPerOp)
    {
    }

    /**
     * @param json the contents of a JMH {@code -rf json} file.
     * @return its results, in file order.
     * @throws IllegalArgumentException if it is not a JMH result file.
     */
    @SuppressWarnings("unchecked")
    public static List<Result> parse(final String json)
    {
        final Object root = JsonReader.parse(json);
        if (!(root instanceof List))
        {
            throw new IllegalArgumentException("not a JMH result file: expected a JSON array of results (run JMH with "
                + "-rf json -rff FILE)");
        }
        final List<Result> results = new ArrayList<>();
        for (final Object o : (List<Object>)root)
        {
            if (!(o instanceof Map) || !((Map<String, Object>)o).containsKey("primaryMetric"))
            {
                throw new IllegalArgumentException("not a JMH result file: an entry has no \"primaryMetric\"");
            }
            final Map<String, Object> r = (Map<String, Object>)o;
            final Map<String, Object> primary = (Map<String, Object>)r.get("primaryMetric");
            final Map<String, Object> percentiles = (Map<String, Object>)primary.get("scorePercentiles");
            final double score = number(primary.get("score"));
            double bytes = Double.NaN;
            final Object secondary = r.get("secondaryMetrics");
            if (secondary instanceof Map && ((Map<String, Object>)secondary).get("gc.alloc.rate.norm") instanceof Map)
            {
                bytes = number(((Map<String, Object>)((Map<String, Object>)secondary).get("gc.alloc.rate.norm"))
                    .get("score"));
            }
            results.add(new Result(label(r), String.valueOf(r.get("mode")), score,
                String.valueOf(primary.get("scoreUnit")),
                percentile(percentiles, "50.0", score), percentile(percentiles, "99.0", score),
                percentile(percentiles, "99.9", score), bytes));
        }
        return results;
    }

    /**
     * Reads a JMH result file and writes its charts.
     *
     * @param jmhJson the JMH result file.
     * @param outDir  an existing directory for the charts.
     * @return the file names written.
     * @throws IOException if a file cannot be read or written.
     */
    public static List<String> write(final Path jmhJson, final Path outDir) throws IOException
    {
        return write(parse(Files.readString(jmhJson, StandardCharsets.UTF_8)), outDir);
    }

    /**
     * Writes the charts of parsed results.
     *
     * @param results JMH results.
     * @param outDir  an existing directory for the charts.
     * @return the file names written.
     * @throws IOException if a file cannot be written.
     */
    public static List<String> write(final List<Result> results, final Path outDir) throws IOException
    {
        System.setProperty("java.awt.headless", "true");
        final List<String> written = new ArrayList<>();
        final Map<String, List<Result>> byUnit = new TreeMap<>();
        for (final Result r : results)
        {
            if (!r.mode().equals("sample"))
            {
                byUnit.computeIfAbsent(r.mode() + " " + r.unit(), k -> new ArrayList<>()).add(r);
            }
        }
        int n = 0;
        for (final Map.Entry<String, List<Result>> e : byUnit.entrySet())
        {
            final String file = n++ == 0 ? THROUGHPUT : THROUGHPUT.replace(".png", "-" + n + ".png");
            final CategoryChart chart = chart("JMH " + e.getKey() + " (log scale)", e.getValue().get(0).unit());
            chart.addSeries("score", labels(e.getValue()), values(e.getValue(), Result::score));
            save(chart, outDir.resolve(file));
            written.add(file);
        }
        final List<Result> sampled = results.stream().filter(r -> r.mode().equals("sample")).toList();
        if (!sampled.isEmpty())
        {
            final CategoryChart chart = chart("JMH sample time: p50, p99, p99.9 (log scale)", sampled.get(0).unit());
            chart.addSeries("p50", labels(sampled), values(sampled, Result::p50));
            chart.addSeries("p99", labels(sampled), values(sampled, Result::p99));
            chart.addSeries("p99.9", labels(sampled), values(sampled, Result::p999));
            save(chart, outDir.resolve(LATENCY));
            written.add(LATENCY);
        }
        final List<Result> allocating = results.stream().filter(r -> !Double.isNaN(r.bytesPerOp())).toList();
        if (!allocating.isEmpty())
        {
            final CategoryChart chart = new CategoryChartBuilder().width(1200).height(650)
                .title("Bytes allocated per operation (-prof gc)").yAxisTitle("B/op").build();
            chart.getStyler().setXAxisLabelRotation(60).setLegendVisible(false);
            chart.addSeries("B/op", labels(allocating), values(allocating, Result::bytesPerOp));
            save(chart, outDir.resolve(ALLOC));
            written.add(ALLOC);
        }
        return written;
    }

    /**
     * @param results JMH results.
     * @return them as a text table: label, mode, score, unit, p99 (sample mode), B/op.
     */
    public static String table(final List<Result> results)
    {
        int width = 9;
        for (final Result r : results)
        {
            width = Math.max(width, r.label().length());
        }
        final StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-" + width + "s  %-6s  %14s  %-8s  %14s"
            + "  %10s%n", "benchmark", "mode", "score", "unit", "p99", "B/op"));
        for (final Result r : results)
        {
            b.append(String.format(Locale.ROOT, "%-" + width + "s  %-6s  %14.1f  %-8s  %14s  %10s%n", r.label(),
                r.mode(), r.score(), r.unit(), r.mode().equals("sample") ? String.format(Locale.ROOT, "%.0f", r.p99())
                    : "", Double.isNaN(r.bytesPerOp()) ? "" : String.format(Locale.ROOT, "%.1f", r.bytesPerOp())));
        }
        return b.toString();
    }

    private static CategoryChart chart(final String title, final String unit)
    {
        final CategoryChart chart = new CategoryChartBuilder().width(1200).height(650).title(title).yAxisTitle(unit)
            .build();
        // Bars start at 0, which a logarithmic axis cannot show: draw the scores as markers.
        chart.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Scatter);
        chart.getStyler().setYAxisLogarithmic(true).setXAxisLabelRotation(60);
        return chart;
    }

    private static void save(final CategoryChart chart, final Path file) throws IOException
    {
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static List<String> labels(final List<Result> results)
    {
        return results.stream().map(Result::label).toList();
    }

    private static List<Double> values(
        final List<Result> results, final java.util.function.ToDoubleFunction<Result> f)
    {
        final List<Double> out = new ArrayList<>();
        for (final Result r : results)
        {
            // A logarithmic axis needs positive values; NaN (JMH had too few samples) plots as the smallest.
            final double v = f.applyAsDouble(r);
            out.add(Double.isFinite(v) && v > 0 ? v : 1e-3);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static String label(final Map<String, Object> r)
    {
        final String benchmark = String.valueOf(r.get("benchmark"));
        final String[] parts = benchmark.split("\\.");
        String label = parts.length >= 2
            ? parts[parts.length - 2].replaceFirst("Benchmark$", "") + "." + parts[parts.length - 1] : benchmark;
        if (r.get("params") instanceof Map)
        {
            final StringBuilder p = new StringBuilder();
            for (final Map.Entry<String, Object> e : ((Map<String, Object>)r.get("params")).entrySet())
            {
                p.append(p.length() == 0 ? "[" : ",").append(e.getKey()).append('=').append(e.getValue());
            }
            label += p.append(']');
        }
        return label;
    }

    private static double percentile(final Map<String, Object> percentiles, final String key, final double fallback)
    {
        return percentiles == null || !percentiles.containsKey(key) ? fallback : number(percentiles.get(key));
    }

    private static double number(final Object o)
    {
        if (o instanceof Double d)
        {
            return d;
        }
        if (o instanceof String s)
        {
            try
            {
                return Double.parseDouble(s);
            }
            catch (final NumberFormatException ex)
            {
                return Double.NaN;
            }
        }
        return Double.NaN;
    }
}
