package dev.ferry.affinity.model;

import java.util.Arrays;

/**
 * The summary of repeated samples of one measurement: median, 10th and 90th percentiles, minimum and count.
 * Probes report medians, so that a sample disturbed by another thread or the scheduler does not move the figure.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class Stats
{
    private final double median;
    private final double p10;
    private final double p90;
    private final double min;
    private final int count;

    private Stats(final double median, final double p10, final double p90, final double min, final int count)
    {
        this.median = median;
        this.p10 = p10;
        this.p90 = p90;
        this.min = min;
        this.count = count;
    }

    /**
     * @param samples at least one sample; the array is not modified.
     * @return their summary.
     * @throws IllegalArgumentException if there is no sample.
     */
    public static Stats of(final double... samples)
    {
        if (samples.length == 0)
        {
            throw new IllegalArgumentException("no samples to summarise: take at least one");
        }
        final double[] s = samples.clone();
        Arrays.sort(s);
        return new Stats(percentile(s, 0.5), percentile(s, 0.1), percentile(s, 0.9), s[0], s.length);
    }

    /**
     * @param value a value known exactly (e.g. a published figure).
     * @return a summary with that value at every percentile.
     */
    public static Stats exactly(final double value)
    {
        return new Stats(value, value, value, value, 1);
    }

    private static double percentile(final double[] sorted, final double q)
    {
        final double pos = q * (sorted.length - 1);
        final int lo = (int)Math.floor(pos);
        final int hi = (int)Math.ceil(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    /**
     * @return the median.
     */
    public double median()
    {
        return median;
    }

    /**
     * @return the 10th percentile.
     */
    public double p10()
    {
        return p10;
    }

    /**
     * @return the 90th percentile.
     */
    public double p90()
    {
        return p90;
    }

    /**
     * @return the smallest sample.
     */
    public double min()
    {
        return min;
    }

    /**
     * @return how many samples.
     */
    public int count()
    {
        return count;
    }

    /**
     * @return the relative spread, (p90 - p10) / median; 0 when the median is 0.
     */
    public double spread()
    {
        return median == 0 ? 0 : (p90 - p10) / median;
    }

    @Override
    public String toString()
    {
        return String.format("%.1f (p10 %.1f, p90 %.1f, n=%d)", median, p10, p90, count);
    }
}
