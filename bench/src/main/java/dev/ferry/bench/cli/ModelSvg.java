package dev.ferry.bench.cli;

import java.util.List;
import java.util.Locale;

import dev.ferry.affinity.model.LatencyMatrix;
import dev.ferry.affinity.model.LevelMapping;

/**
 * Hand-written SVG pictures of the hardware model: a heatmap of a latency matrix, and predicted against measured
 * bars. No dependency; the output opens in any browser and renders on GitHub.
 *
 * <p>Stateless; safe to use from any thread.
 */
final class ModelSvg
{
    private static final int CELL = 48;
    private static final int MARGIN = 70;

    private ModelSvg()
    {
    }

    /**
     * @param matrix  the matrix.
     * @param mapping its levels, or null.
     * @param title   a caption.
     * @return the heatmap: one cell per CPU pair, colour by round trip (log scale), the ns in each cell.
     */
    static String heatmap(final LatencyMatrix matrix, final LevelMapping mapping, final String title)
    {
        final int n = matrix.size();
        final int cell = n > 16 ? Math.max(12, 768 / n) : CELL;
        double min = Double.MAX_VALUE;
        double max = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                if (i != j)
                {
                    min = Math.min(min, matrix.rttNs(i, j));
                    max = Math.max(max, matrix.rttNs(i, j));
                }
            }
        }
        final int size = MARGIN + n * cell + 20;
        final int legend = mapping == null ? 0 : 20 * mapping.inferred().groupCount() + 30;
        final StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" " +
            "font-size=\"12\">%n", Math.max(size, 420), size + legend + 20));
        sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        sb.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"20\" font-size=\"14\">%s</text>%n", escape(title)));
        for (int i = 0; i < n; i++)
        {
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%d</text>%n",
                MARGIN + i * cell + cell / 2, MARGIN - 8, matrix.cpu(i)));
            sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%d</text>%n",
                MARGIN - 8, MARGIN + i * cell + cell / 2 + 4, matrix.cpu(i)));
            for (int j = 0; j < n; j++)
            {
                final double v = matrix.rttNs(i, j);
                final String fill = i == j ? "#eeeeee" : colour(v, min, max);
                sb.append(String.format(Locale.ROOT,
                    "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"white\"><title>CPU %d - CPU %d: " +
                    "%.0f ns</title></rect>%n", MARGIN + j * cell, MARGIN + i * cell, cell, cell, fill,
                    matrix.cpu(i), matrix.cpu(j), v));
                if (i != j && cell >= 32)
                {
                    sb.append(String.format(Locale.ROOT,
                        "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">%.0f</text>%n",
                        MARGIN + j * cell + cell / 2, MARGIN + i * cell + cell / 2 + 4, v));
                }
            }
        }
        sb.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\">CPU pair round trip of one cache line, ns " +
            "(median); colour: log scale %.0f to %.0f ns</text>%n", size + 8, min, max));
        if (mapping != null)
        {
            for (int g = 0; g < mapping.inferred().groupCount(); g++)
            {
                final double v = mapping.inferred().groupRttNs(g);
                final int y = size + 20 + g * 20;
                sb.append(String.format(Locale.ROOT,
                    "<rect x=\"10\" y=\"%d\" width=\"14\" height=\"14\" fill=\"%s\"/><text x=\"30\" y=\"%d\">level %d: " +
                    "%s, %.0f ns, %d pair(s)</text>%n", y, colour(v, min, max), y + 12, g,
                    escape(mapping.groupLevel(g).label()), v, mapping.inferred().groupPairs(g)));
            }
        }
        sb.append("</svg>\n");
        return sb.toString();
    }

    /**
     * One bar pair per row.
     */
    static final class Bar
    {
        final String label;
        final double predicted;
        final double measured;

        Bar(final String label, final double predicted, final double measured)
        {
            this.label = label;
            this.predicted = predicted;
            this.measured = measured;
        }
    }

    /**
     * @param bars  the rows.
     * @param title a caption.
     * @param unit  the unit, e.g. {@code "ns per batch"}.
     * @return horizontal bars, predicted and measured side by side, on a log scale (modes differ by 100x).
     */
    static String bars(final List<Bar> bars, final String title, final String unit)
    {
        final int labelWidth = 260;
        final int plot = 460;
        final int row = 44;
        double min = Double.MAX_VALUE;
        double max = 0;
        for (final Bar b : bars)
        {
            min = Math.min(min, Math.min(b.predicted, b.measured));
            max = Math.max(max, Math.max(b.predicted, b.measured));
        }
        final double lo = Math.log10(min) - 0.3;
        final double hi = Math.log10(max) + 0.1;
        final int height = 60 + bars.size() * row + 40;
        final StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" " +
            "font-size=\"12\">%n", labelWidth + plot + 120, height));
        sb.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
        sb.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"20\" font-size=\"14\">%s</text>%n", escape(title)));
        sb.append(String.format(Locale.ROOT, "<rect x=\"10\" y=\"30\" width=\"12\" height=\"12\" fill=\"#4e79a7\"/>" +
            "<text x=\"26\" y=\"41\">predicted</text><rect x=\"100\" y=\"30\" width=\"12\" height=\"12\" " +
            "fill=\"#f28e2b\"/><text x=\"116\" y=\"41\">measured</text><text x=\"200\" y=\"41\">%s, log scale</text>%n",
            escape(unit)));
        int y = 60;
        for (final Bar b : bars)
        {
            sb.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\">%s</text>%n", y + 18, escape(b.label)));
            y = bar(sb, labelWidth, plot, y, b.predicted, lo, hi, "#4e79a7");
            y = bar(sb, labelWidth, plot, y, b.measured, lo, hi, "#f28e2b");
            y += row - 36;
        }
        sb.append("</svg>\n");
        return sb.toString();
    }

    private static int bar(final StringBuilder sb, final int x0, final int plot, final int y, final double v,
        final double lo, final double hi, final String fill)
    {
        final int w = (int)Math.max(2, plot * (Math.log10(v) - lo) / (hi - lo));
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"%s\"/>" +
            "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>%n", x0, y, w, fill, x0 + w + 4, y + 12, format(v)));
        return y + 18;
    }

    static String format(final double v)
    {
        if (v >= 1e6)
        {
            return String.format(Locale.ROOT, "%.2f M", v / 1e6);
        }
        if (v >= 1e4)
        {
            return String.format(Locale.ROOT, "%.1f k", v / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f", v);
    }

    private static String colour(final double v, final double min, final double max)
    {
        final double t = max <= min ? 0.5 : (Math.log(v) - Math.log(min)) / (Math.log(max) - Math.log(min));
        final int r = (int)(255 * Math.min(1, 0.2 + 0.8 * t));
        final int g = (int)(255 * (0.85 - 0.6 * t));
        final int b = (int)(255 * (0.95 - 0.8 * t));
        return String.format(Locale.ROOT, "#%02x%02x%02x", clamp(r), clamp(g), clamp(b));
    }

    private static int clamp(final int c)
    {
        return Math.max(0, Math.min(255, c));
    }

    private static String escape(final String s)
    {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
