package dev.ferry.affinity.model;

import dev.ferry.affinity.pin.Pinning;

/**
 * The machine's state, for benchmarks that compare figures measured one after another: a short two-thread
 * cache-line round trip ({@link Probes#pingPong}) on the last two CPUs this process may use. Some machines change
 * speed while running (a VM's host moving between a fast and a slow state: this project's 2-vCPU guest switches
 * between about 100 and 500 ns per line round trip), and two figures measured in different states compare
 * nothing; probing before and after each measurement tells the states apart.
 *
 * <p>Threading: static methods, safe from any thread, but run one probe at a time and never while something else
 * spins: a probe measures whatever competes with it.
 */
public final class MachineState
{
    /** What {@link #probe()} and {@link #across} return when the machine cannot be probed (fewer than two CPUs). */
    public static final long NOT_PROBED = 0;
    /** What {@link #across} returns when the probes before and after a measurement disagree. */
    public static final long CHANGED = -1;
    /** Probes within this fraction of the smaller one count as one state. */
    public static final double TOLERANCE = 0.2;

    /** About 0.1 s: 50 ms of warm-up, then 51 samples of 1,000 round trips. */
    private static final ProbeOptions PROBE = new ProbeOptions(2, 51, 1_000);
    private static final int[] CPUS;

    static
    {
        int[] cpus = null;
        if (Pinning.isAvailable())
        {
            final int[] allowed = Pinning.currentAffinity().toArray();
            if (allowed.length >= 2)
            {
                cpus = new int[] {allowed[allowed.length - 2], allowed[allowed.length - 1]};
            }
        }
        CPUS = cpus;
    }

    private MachineState()
    {
    }

    /**
     * @return the median line round trip in ns (at least 1), or {@link #NOT_PROBED}.
     */
    public static long probe()
    {
        return CPUS == null ? NOT_PROBED : Math.max(1, (long)Probes.pingPong(CPUS[0], CPUS[1], PROBE).median());
    }

    /**
     * @param before the probe before a measurement.
     * @param after  the probe after it.
     * @return the state the measurement ran in: the larger probe when the two are {@link #same}, {@link #CHANGED}
     * when they are not, {@link #NOT_PROBED} when either was not probed.
     */
    public static long across(final long before, final long after)
    {
        if (before <= NOT_PROBED || after <= NOT_PROBED)
        {
            return before == CHANGED || after == CHANGED ? CHANGED : NOT_PROBED;
        }
        return same(before, after) ? Math.max(before, after) : CHANGED;
    }

    /**
     * @param a a probe or a state from {@link #across}.
     * @param b another.
     * @return both were probed, in one state, and lie within {@link #TOLERANCE} of the smaller.
     */
    public static boolean same(final long a, final long b)
    {
        return a > 0 && b > 0 && Math.abs(a - b) <= TOLERANCE * Math.min(a, b);
    }
}
