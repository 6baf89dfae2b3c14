package dev.ferry.affinity.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Infers the levels of a machine from its latency matrix alone, without sysfs: the round trips of all CPU
 * pairs, on a log scale, split wherever two consecutive values differ by more than noise can explain.
 *
 * <p>With relative noise {@code n}, two measurements of one level differ at most by the ratio
 * {@code (1 + n) / (1 - n)}; a larger ratio between consecutive sorted values starts a new level. Two levels are
 * told apart when their true round trips differ by more than {@code ((1 + n) / (1 - n))^2} (about 1.5 at 10%),
 * which published per-level latencies do by a factor of two or more.
 *
 * <p>Stateless; safe to use from any thread.
 */
public final class LevelInference
{
    /** The least relative noise assumed for a measured matrix. */
    public static final double MIN_NOISE = 0.1;
    /** The most relative noise assumed for a measured matrix. */
    public static final double MAX_NOISE = 0.3;

    private LevelInference()
    {
    }

    /**
     * Infers levels allowing for the noise the measurement shows: the median spread of its pairs, kept within
     * [{@link #MIN_NOISE}, {@link #MAX_NOISE}].
     *
     * @param matrix a latency matrix of at least two CPUs.
     * @return the levels.
     */
    public static InferredLevels infer(final LatencyMatrix matrix)
    {
        final int n = matrix.size();
        final List<Double> spreads = new ArrayList<>();
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                spreads.add(matrix.spread(i, j) / 2);
            }
        }
        double noise = MIN_NOISE;
        if (!spreads.isEmpty())
        {
            spreads.sort(Double::compare);
            noise = Math.max(MIN_NOISE, Math.min(MAX_NOISE, spreads.get(spreads.size() / 2)));
        }
        return infer(matrix, noise);
    }

    /**
     * @param matrix a latency matrix of at least two CPUs.
     * @param noise  the relative noise to allow for, in (0, 1), e.g. 0.1 for 10%.
     * @return the levels.
     * @throws IllegalArgumentException if the matrix has fewer than two CPUs or the noise is out of range.
     */
    public static InferredLevels infer(final LatencyMatrix matrix, final double noise)
    {
        final int n = matrix.size();
        if (n < 2)
        {
            throw new IllegalArgumentException("a latency matrix of " + n + " CPU(s) has no pair to group: " +
                "measure at least two CPUs");
        }
        if (!(noise > 0 && noise < 1))
        {
            throw new IllegalArgumentException("noise must be in (0, 1), e.g. 0.1 for 10%; got " + noise);
        }
        final int pairs = n * (n - 1) / 2;
        final double[] logs = new double[pairs];
        final int[] pairI = new int[pairs];
        final int[] pairJ = new int[pairs];
        int k = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                logs[k] = Math.log(Math.max(matrix.rttNs(i, j), 1e-3));
                pairI[k] = i;
                pairJ[k] = j;
                k++;
            }
        }
        final Integer[] order = new Integer[pairs];
        for (int p = 0; p < pairs; p++)
        {
            order[p] = p;
        }
        Arrays.sort(order, (x, y) -> Double.compare(logs[x], logs[y]));
        final double maxGap = Math.log((1 + noise) / (1 - noise));

        final int[][] group = new int[n][n];
        for (final int[] row : group)
        {
            Arrays.fill(row, -1);
        }
        final List<double[]> members = new ArrayList<>();
        List<Double> current = new ArrayList<>();
        int g = 0;
        for (int r = 0; r < pairs; r++)
        {
            final int p = order[r];
            if (r > 0 && logs[p] - logs[order[r - 1]] > maxGap)
            {
                members.add(toArray(current));
                current = new ArrayList<>();
                g++;
            }
            current.add(matrix.rttNs(pairI[p], pairJ[p]));
            group[pairI[p]][pairJ[p]] = g;
            group[pairJ[p]][pairI[p]] = g;
        }
        members.add(toArray(current));
        final double[] rtt = new double[members.size()];
        final int[] count = new int[members.size()];
        for (int m = 0; m < rtt.length; m++)
        {
            rtt[m] = Stats.of(members.get(m)).median();
            count[m] = members.get(m).length;
        }
        return new InferredLevels(matrix, group, rtt, count, noise);
    }

    private static double[] toArray(final List<Double> values)
    {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }
}
