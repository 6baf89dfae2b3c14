package dev.ferry.affinity.placement;

import java.util.Arrays;

import dev.ferry.affinity.topology.CpuSet;

/**
 * The rules a placement follows. Servers always get a physical core each; the policy says where movers go,
 * whether CPU 0 (which takes most interrupts) is avoided, which CPUs may be used at all, whether agents may
 * share CPUs when there are too few (oversubscription, said out loud), or gives explicit CPU lists.
 *
 * <p>Immutable; each {@code with...} method returns a new policy. Safe to share between threads.
 */
public final class PlacementPolicy
{
    private final MoverPlacement movers;
    private final boolean avoidCpu0;
    private final boolean oversubscribe;
    private final CpuSet restrictTo;
    private final int[] explicitServers;
    private final int[] explicitMovers;
    private final int[] explicitClients;

    private PlacementPolicy(
        final MoverPlacement movers,
        final boolean avoidCpu0,
        final boolean oversubscribe,
        final CpuSet restrictTo,
        final int[] explicitServers,
        final int[] explicitMovers,
        final int[] explicitClients)
    {
        this.movers = movers;
        this.avoidCpu0 = avoidCpu0;
        this.oversubscribe = oversubscribe;
        this.restrictTo = restrictTo;
        this.explicitServers = explicitServers;
        this.explicitMovers = explicitMovers;
        this.explicitClients = explicitClients;
    }

    /**
     * @return one physical core per server, each mover on its server's SMT sibling where there is one else on
     *         a core of its own, CPU 0 allowed, no oversubscription, every allowed CPU usable.
     */
    public static PlacementPolicy defaults()
    {
        return new PlacementPolicy(MoverPlacement.SIBLING_OR_OWN_CORE, false, false, null, null, null, null);
    }

    /**
     * @param placement where movers go.
     * @return a policy like this one with that mover placement.
     */
    public PlacementPolicy withMovers(final MoverPlacement placement)
    {
        return new PlacementPolicy(placement, avoidCpu0, oversubscribe, restrictTo, explicitServers, explicitMovers, explicitClients);
    }

    /**
     * @param avoid whether to keep agents off CPU 0 (and, with SMT, off CPU 0's core).
     * @return a policy like this one, avoiding CPU 0 or not.
     */
    public PlacementPolicy withAvoidCpu0(final boolean avoid)
    {
        return new PlacementPolicy(movers, avoid, oversubscribe, restrictTo, explicitServers, explicitMovers, explicitClients);
    }

    /**
     * @param allow whether agents may share CPUs when there are too few cores; the placement then says so.
     * @return a policy like this one, oversubscribing or not.
     */
    public PlacementPolicy withOversubscribe(final boolean allow)
    {
        return new PlacementPolicy(movers, avoidCpu0, allow, restrictTo, explicitServers, explicitMovers, explicitClients);
    }

    /**
     * @param cpus the only CPUs agents may use (still limited to what the process is allowed).
     * @return a policy like this one, restricted to those CPUs.
     */
    public PlacementPolicy withCpus(final CpuSet cpus)
    {
        return new PlacementPolicy(movers, avoidCpu0, oversubscribe, cpus, explicitServers, explicitMovers, explicitClients);
    }

    /**
     * Explicit CPU lists, one entry per agent: server {@code i} on {@code servers[i]} and so on. Each CPU must
     * be allowed; servers must be on distinct physical cores and no CPU may be given twice, unless
     * oversubscription is allowed.
     *
     * @param servers the servers' CPUs.
     * @param movers  the movers' CPUs.
     * @param clients the clients' CPUs.
     * @return a policy like this one with those lists.
     */
    public PlacementPolicy withExplicitCpus(final int[] servers, final int[] movers, final int[] clients)
    {
        return new PlacementPolicy(this.movers, avoidCpu0, oversubscribe, restrictTo,
            servers.clone(), movers.clone(), clients.clone());
    }

    /**
     * @return where movers go.
     */
    public MoverPlacement movers()
    {
        return movers;
    }

    /**
     * @return whether CPU 0 is avoided.
     */
    public boolean avoidCpu0()
    {
        return avoidCpu0;
    }

    /**
     * @return whether agents may share CPUs.
     */
    public boolean oversubscribe()
    {
        return oversubscribe;
    }

    /**
     * @return the CPUs agents are restricted to, or {@code null} for every allowed CPU.
     */
    public CpuSet restrictTo()
    {
        return restrictTo;
    }

    /**
     * @return whether explicit CPU lists were given.
     */
    public boolean explicit()
    {
        return explicitServers != null;
    }

    int[] explicitServers()
    {
        return explicitServers;
    }

    int[] explicitMovers()
    {
        return explicitMovers;
    }

    int[] explicitClients()
    {
        return explicitClients;
    }

    @Override
    public String toString()
    {
        return "PlacementPolicy{movers=" + movers + ", avoidCpu0=" + avoidCpu0 + ", oversubscribe=" + oversubscribe +
            (restrictTo == null ? "" : ", cpus=" + restrictTo) +
            (explicitServers == null ? "" : ", servers=" + Arrays.toString(explicitServers) +
                ", movers=" + Arrays.toString(explicitMovers) + ", clients=" + Arrays.toString(explicitClients)) + "}";
    }
}
