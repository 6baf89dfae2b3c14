package dev.ferry.affinity.model;

import dev.ferry.affinity.topology.Topology;

/**
 * The round trip of one cache line between two CPUs, measured or taken from published per-level figures.
 *
 * <p>Implementations are immutable and safe to share between threads.
 */
@FunctionalInterface
public interface LineLatency
{
    /**
     * @param a a CPU.
     * @param b a CPU; the same CPU gives 0.
     * @return the round trip in ns.
     */
    double rttNs(int a, int b);

    /**
     * @param matrix a measured matrix.
     * @return its round trips (0 on the diagonal).
     */
    static LineLatency of(final LatencyMatrix matrix)
    {
        return (a, b) -> a == b ? 0 : matrix.rttBetween(a, b);
    }

    /**
     * @param topology  a machine.
     * @param published per-level round trips.
     * @return each pair's published round trip for the level sysfs gives it.
     */
    static LineLatency of(final Topology topology, final PublishedLatencies published)
    {
        return (a, b) -> a == b ? 0 : published.rttNs(TopologyLevels.levelOf(topology, a, b));
    }
}
