package dev.ferry.affinity.model;

import java.util.EnumMap;
import java.util.Map;
import java.util.Random;

import dev.ferry.affinity.topology.Topology;

/**
 * Published core-to-core latencies per {@link Level}, as round trips of one cache line in nanoseconds, and
 * synthetic latency matrices made from them for machines we do not have. The figures are ballpark values
 * from published core-to-core latency measurements (AnandTech's core-to-core test in its CPU reviews,
 * Chips and Cheese's "Core to Core Latency Data on Large Systems"); {@code docs/hardware-model.md} cites them.
 * Those articles report one-way figures (half a round trip); the values here are doubled.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class PublishedLatencies
{
    /**
     * A modern two-socket server (Intel Xeon Scalable with SMT, or AMD EPYC): SMT siblings about 8 ns one way,
     * a shared L2 cluster about 20 ns, one L3 (mesh, ring or CCX) about 45 ns, another die or CCD of the package
     * about 100 ns, the other socket about 200 ns.
     */
    public static final PublishedLatencies SERVER = new PublishedLatencies("two-socket server (Xeon/EPYC class)",
        16, 40, 90, 200, 400);

    private final String name;
    private final EnumMap<Level, Double> rttNs = new EnumMap<>(Level.class);

    /**
     * @param name            what machine class the figures describe.
     * @param smtRttNs        round trip between SMT siblings.
     * @param sharedL2RttNs   between cores sharing an L2 or a cluster.
     * @param sharedL3RttNs   between cores sharing an L3.
     * @param samePackageRttNs between cores of one package sharing no cache.
     * @param otherPackageRttNs between packages.
     */
    public PublishedLatencies(
        final String name,
        final double smtRttNs,
        final double sharedL2RttNs,
        final double sharedL3RttNs,
        final double samePackageRttNs,
        final double otherPackageRttNs)
    {
        this.name = name;
        rttNs.put(Level.SMT_SIBLING, smtRttNs);
        rttNs.put(Level.SHARED_L2, sharedL2RttNs);
        rttNs.put(Level.SHARED_L3, sharedL3RttNs);
        rttNs.put(Level.SAME_PACKAGE, samePackageRttNs);
        rttNs.put(Level.OTHER_PACKAGE, otherPackageRttNs);
    }

    /**
     * @return what machine class the figures describe.
     */
    public String name()
    {
        return name;
    }

    /**
     * @param level a level.
     * @return the round trip of one line at that level, in ns.
     */
    public double rttNs(final Level level)
    {
        return rttNs.get(level);
    }

    /**
     * @return every level's round trip.
     */
    public Map<Level, Double> asMap()
    {
        return new EnumMap<>(rttNs);
    }

    /**
     * A latency matrix as the machine would measure: each pair's published round trip for its level, times a
     * factor drawn uniformly from {@code [1 - noise, 1 + noise]} (the same for both directions).
     *
     * @param topology the machine (e.g. an hwloc fixture).
     * @param cpus     the CPUs to include.
     * @param noise    relative noise, e.g. 0.1 for 10%.
     * @param random   the source of noise (seed it for a repeatable matrix).
     * @return the matrix.
     */
    public LatencyMatrix synthesize(final Topology topology, final int[] cpus, final double noise, final Random random)
    {
        final int n = cpus.length;
        final double[][] rtt = new double[n][n];
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                final double base = rttNs(TopologyLevels.levelOf(topology, cpus[i], cpus[j]));
                final double value = base * (1 + noise * (2 * random.nextDouble() - 1));
                rtt[i][j] = value;
                rtt[j][i] = value;
            }
        }
        return new LatencyMatrix(cpus, rtt, null);
    }

    @Override
    public String toString()
    {
        return name + " " + rttNs;
    }
}
