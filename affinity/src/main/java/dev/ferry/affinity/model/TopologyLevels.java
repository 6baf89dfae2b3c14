package dev.ferry.affinity.model;

import dev.ferry.affinity.topology.CpuSet;
import dev.ferry.affinity.topology.ObjectType;
import dev.ferry.affinity.topology.Topology;

/**
 * The {@link Level} of a pair of CPUs as sysfs describes the machine: the closest object of the
 * {@link Topology} the two share.
 *
 * <p>Stateless; safe to use from any thread.
 */
public final class TopologyLevels
{
    private TopologyLevels()
    {
    }

    /**
     * @param topology the machine.
     * @param a        an online CPU.
     * @param b        another online CPU.
     * @return the closest level they share. Where sysfs hides caches (many VMs), two cores of one package are
     *         {@link Level#SAME_PACKAGE}; where it hides packages, {@link Level#OTHER_PACKAGE}.
     * @throws IllegalArgumentException if {@code a == b}.
     */
    public static Level levelOf(final Topology topology, final int a, final int b)
    {
        if (a == b)
        {
            throw new IllegalArgumentException("CPU " + a + " paired with itself has no level: pass two CPUs");
        }
        if (shared(topology, ObjectType.CORE, a, b))
        {
            return Level.SMT_SIBLING;
        }
        if (shared(topology, ObjectType.L2_CACHE, a, b) || shared(topology, ObjectType.CLUSTER, a, b))
        {
            return Level.SHARED_L2;
        }
        if (shared(topology, ObjectType.L3_CACHE, a, b))
        {
            return Level.SHARED_L3;
        }
        if (shared(topology, ObjectType.PACKAGE, a, b))
        {
            return Level.SAME_PACKAGE;
        }
        return Level.OTHER_PACKAGE;
    }

    /**
     * @param topology the machine.
     * @param cpus     the CPUs of a latency matrix, in its row order.
     * @return the level of every pair (diagonal null).
     */
    public static Level[][] levels(final Topology topology, final int[] cpus)
    {
        final Level[][] levels = new Level[cpus.length][cpus.length];
        for (int i = 0; i < cpus.length; i++)
        {
            for (int j = 0; j < cpus.length; j++)
            {
                if (i != j)
                {
                    levels[i][j] = levelOf(topology, cpus[i], cpus[j]);
                }
            }
        }
        return levels;
    }

    private static boolean shared(final Topology topology, final ObjectType type, final int a, final int b)
    {
        final CpuSet group = topology.groupOf(type, a);
        return !group.isEmpty() && group.contains(b);
    }
}
