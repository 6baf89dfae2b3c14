package dev.ferry.affinity.model;

/**
 * How far apart two CPUs sit, from nearest to farthest: what a cache line crossing between them goes through.
 * The order of the constants is the order of their expected latency.
 *
 * <p>An enum: immutable and safe to share between threads.
 */
public enum Level
{
    /** Hardware threads of one physical core: the line stays in the core's own L1/L2. */
    SMT_SIBLING("SMT sibling"),
    /** Different cores sharing an L2 cache or a cluster (Intel E-core cluster, AMD Bulldozer module, arm64 cluster). */
    SHARED_L2("shared L2 or cluster"),
    /** Different cores sharing an L3 cache (one ring, mesh or CCX). */
    SHARED_L3("shared L3"),
    /** The same package, no shared cache between them (another die, CCD or NUMA node of the package), or caches unknown. */
    SAME_PACKAGE("same package"),
    /** Different packages (sockets). */
    OTHER_PACKAGE("other package");

    private final String label;

    Level(final String label)
    {
        this.label = label;
    }

    /**
     * @return a short human-readable name, e.g. {@code "shared L3"}.
     */
    public String label()
    {
        return label;
    }
}
