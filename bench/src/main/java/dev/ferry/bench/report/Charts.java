package dev.ferry.bench.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Draws the report's charts as PNG files with XChart: round-trip percentiles per mode, ns per call against batch
 * size, and p99 latency against CPU for each idle strategy.
 *
 * <p>Stateless; each method writes its own file. Runs headless.
 */
public final class Charts
{
    /** The modes chart's file name. */
    public static final String MODES = "modes.png";
    /** The batch sweep chart's file name. */
    public static final String BATCH = "batch-sweep.png";
    /** The idle sweep chart's file name. */
    public static final String IDLE = "idle-tradeoff.png";

    private Charts()
    {
    }

    /**
     * Writes the three charts into a directory.
     *
     * @param r   a report.
     * @param dir an existing directory.
     * @return the file names written.
     * @throws IOException if a file cannot be written.
     */
    public static String[] write(final Report r, final Path dir) throws IOException
    {
        System.setProperty("java.awt.headless", "true");
        final List<String> written = new ArrayList<>();

        final CategoryChart modes = new CategoryChartBuilder().width(900).height(500)
            .title("Round trip by mode (log scale)").xAxisTitle("mode").yAxisTitle("ns").build();
        // Bars start at 0, which a logarithmic axis cannot show: draw the percentiles as markers.
        modes.getStyler().setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Scatter);
        modes.getStyler().setYAxisLogarithmic(true);
        final List<String> names = new ArrayList<>();
        final List<Double> p50 = new ArrayList<>();
        final List<Double> p99 = new ArrayList<>();
        final List<Double> p999 = new ArrayList<>();
        for (final Report.ModeResult m : r.modes())
        {
            names.add(m.mode());
            p50.add((double)Math.max(1, m.rttP50Ns()));
            p99.add((double)Math.max(1, m.rttP99Ns()));
            p999.add((double)Math.max(1, m.rttP999Ns()));
        }
        if (!names.isEmpty())
        {
            modes.addSeries("p50", names, p50);
            modes.addSeries("p99", names, p99);
            modes.addSeries("p99.9", names, p999);
            BitmapEncoder.saveBitmap(modes, dir.resolve(MODES).toString(), BitmapEncoder.BitmapFormat.PNG);
            written.add(MODES);
        }

        final XYChart batch = new XYChartBuilder().width(900).height(500)
            .title("ns per call against batch size").xAxisTitle("batch size (calls per flush)").yAxisTitle("ns/call")
            .build();
        batch.getStyler().setXAxisLogarithmic(true).setYAxisLogarithmic(true);
        int batchSeries = 0;
        for (final String mode : new String[] {"DIRECT", "MOVER"})
        {
            final double[][] xy = r.batchSweep().stream().filter(p -> p.mode().equals(mode))
                .map(p -> new double[] {p.batch(), p.nsPerCall()}).toArray(double[][]::new);
            if (xy.length > 0)
            {
                batch.addSeries(mode, column(xy, 0), column(xy, 1));
                batchSeries++;
            }
        }
        if (batchSeries > 0)
        {
            BitmapEncoder.saveBitmap(batch, dir.resolve(BATCH).toString(), BitmapEncoder.BitmapFormat.PNG);
            written.add(BATCH);
        }

        final XYChart idle = new XYChartBuilder().width(900).height(560)
            .title("Idle strategies: p99 response time against server CPU (each point one load)")
            .xAxisTitle("server CPU (fraction of one core)").yAxisTitle("p99 response time (ns)").build();
        idle.getStyler().setYAxisLogarithmic(true).setXAxisLogarithmic(true);
        int idleSeries = 0;
        for (final String s : IdleSweep.STRATEGIES)
        {
            final double[][] xy = r.idle().stream().filter(p -> p.strategy().equals(s))
                .map(p -> new double[] {Math.max(1e-4, p.cpuFraction()), Math.max(1, p.p99Ns())})
                .toArray(double[][]::new);
            if (xy.length > 0)
            {
                final XYSeries series = idle.addSeries(s, column(xy, 0), column(xy, 1));
                series.setMarker(SeriesMarkers.CIRCLE);
                idleSeries++;
            }
        }
        if (idleSeries > 0)
        {
            BitmapEncoder.saveBitmap(idle, dir.resolve(IDLE).toString(), BitmapEncoder.BitmapFormat.PNG);
            written.add(IDLE);
        }
        return written.toArray(new String[0]);
    }

    static double[] column(final double[][] rows, final int c)
    {
        final double[] out = new double[rows.length];
        for (int i = 0; i < rows.length; i++)
        {
            out[i] = rows[i][c];
        }
        return out;
    }
}
