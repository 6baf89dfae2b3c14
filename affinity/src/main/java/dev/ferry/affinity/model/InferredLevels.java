package dev.ferry.affinity.model;

import java.util.Arrays;

/**
 * Levels inferred from a latency matrix alone: the CPU pairs grouped by round trip, group 0 the fastest.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class InferredLevels
{
    private final LatencyMatrix matrix;
    private final int[][] group;
    private final double[] groupRttNs;
    private final int[] groupPairs;
    private final double noise;

    InferredLevels(final LatencyMatrix matrix, final int[][] group, final double[] groupRttNs, final int[] groupPairs,
        final double noise)
    {
        this.matrix = matrix;
        this.group = group;
        this.groupRttNs = groupRttNs;
        this.groupPairs = groupPairs;
        this.noise = noise;
    }

    /**
     * @return the matrix the levels were inferred from.
     */
    public LatencyMatrix matrix()
    {
        return matrix;
    }

    /**
     * @return how many groups (distinct levels) the matrix shows.
     */
    public int groupCount()
    {
        return groupRttNs.length;
    }

    /**
     * @param i a row of the matrix.
     * @param j another row.
     * @return the group of that pair, 0 the fastest; -1 on the diagonal.
     */
    public int group(final int i, final int j)
    {
        return group[i][j];
    }

    /**
     * @param g a group.
     * @return the median round trip of its pairs, in ns.
     */
    public double groupRttNs(final int g)
    {
        return groupRttNs[g];
    }

    /**
     * @param g a group.
     * @return how many CPU pairs (unordered) it holds.
     */
    public int groupPairs(final int g)
    {
        return groupPairs[g];
    }

    /**
     * @return the relative noise the grouping allowed for.
     */
    public double noise()
    {
        return noise;
    }

    @Override
    public String toString()
    {
        return "InferredLevels{groups=" + groupCount() + ", rttNs=" + Arrays.toString(groupRttNs) +
            ", pairs=" + Arrays.toString(groupPairs) + "}";
    }
}
