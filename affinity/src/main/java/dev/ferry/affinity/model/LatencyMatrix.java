package dev.ferry.affinity.model;

import java.util.Arrays;

/**
 * Round-trip times of one cache line between every pair of a set of CPUs, in nanoseconds: the median of the
 * samples, and their relative spread. Symmetric; the diagonal is 0.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class LatencyMatrix
{
    private final int[] cpus;
    private final double[][] rttNs;
    private final double[][] spread;

    /**
     * @param cpus   the CPUs, one per row and column, distinct.
     * @param rttNs  median round trip between the CPUs of row and column (n x n, symmetric, diagonal ignored).
     * @param spread relative spread of each median (n x n), or null for none.
     * @throws IllegalArgumentException if the shapes disagree or a round trip is negative or not a number.
     */
    public LatencyMatrix(final int[] cpus, final double[][] rttNs, final double[][] spread)
    {
        final int n = cpus.length;
        if (rttNs.length != n || (spread != null && spread.length != n))
        {
            throw new IllegalArgumentException("a latency matrix for " + n + " CPUs needs " + n + " rows, got " +
                rttNs.length);
        }
        this.cpus = cpus.clone();
        this.rttNs = new double[n][];
        this.spread = new double[n][];
        for (int i = 0; i < n; i++)
        {
            if (rttNs[i].length != n || (spread != null && spread[i].length != n))
            {
                throw new IllegalArgumentException("row " + i + " of the latency matrix has " + rttNs[i].length +
                    " entries; expected " + n);
            }
            this.rttNs[i] = rttNs[i].clone();
            this.rttNs[i][i] = 0;
            this.spread[i] = spread == null ? new double[n] : spread[i].clone();
            for (int j = 0; j < n; j++)
            {
                if (!(rttNs[i][j] >= 0))
                {
                    throw new IllegalArgumentException("round trip CPU " + cpus[i] + " to CPU " + cpus[j] + " is " +
                        rttNs[i][j] + " ns; it must be a non-negative number");
                }
            }
        }
    }

    /**
     * @return the CPUs, in row order.
     */
    public int[] cpus()
    {
        return cpus.clone();
    }

    /**
     * @return how many CPUs.
     */
    public int size()
    {
        return cpus.length;
    }

    /**
     * @param i row.
     * @return the CPU of that row.
     */
    public int cpu(final int i)
    {
        return cpus[i];
    }

    /**
     * @param i row.
     * @param j column.
     * @return the median round trip in ns.
     */
    public double rttNs(final int i, final int j)
    {
        return rttNs[i][j];
    }

    /**
     * @param i row.
     * @param j column.
     * @return the relative spread of that median (0 if unknown).
     */
    public double spread(final int i, final int j)
    {
        return spread[i][j];
    }

    /**
     * @param cpu a CPU of the matrix.
     * @return its row.
     * @throws IllegalArgumentException if the CPU is not in the matrix.
     */
    public int indexOf(final int cpu)
    {
        for (int i = 0; i < cpus.length; i++)
        {
            if (cpus[i] == cpu)
            {
                return i;
            }
        }
        throw new IllegalArgumentException("CPU " + cpu + " is not in the latency matrix of CPUs " +
            Arrays.toString(cpus) + "; measure it with --cpus");
    }

    /**
     * @param a a CPU.
     * @param b another CPU.
     * @return the median round trip between them, in ns.
     */
    public double rttBetween(final int a, final int b)
    {
        return rttNs[indexOf(a)][indexOf(b)];
    }

    /**
     * @return a copy of the medians, row by row.
     */
    public double[][] toArray()
    {
        final double[][] copy = new double[rttNs.length][];
        for (int i = 0; i < rttNs.length; i++)
        {
            copy[i] = rttNs[i].clone();
        }
        return copy;
    }

    @Override
    public String toString()
    {
        return "LatencyMatrix{cpus=" + Arrays.toString(cpus) + "}";
    }
}
