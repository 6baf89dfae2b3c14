package dev.ferry.affinity.topology;

/**
 * One CPU (hardware thread, hwloc's PU) present on the machine, and where it sits in the {@link Topology}.
 * Every location is -1 where it is unknown: an offline CPU has no topology in sysfs, a VM may hide its
 * caches, a machine may have no NUMA information. {@link Topology#unknowns()} says which.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class Cpu
{
    private final int id;
    private final boolean online;
    private final boolean allowed;
    private final int packageId;
    private final int die;
    private final int core;
    private final int coreId;
    private final int l2;
    private final int l3;
    private final int numaNode;
    private final int kind;

    Cpu(
        final int id,
        final boolean online,
        final boolean allowed,
        final int packageId,
        final int die,
        final int core,
        final int coreId,
        final int l2,
        final int l3,
        final int numaNode,
        final int kind)
    {
        this.id = id;
        this.online = online;
        this.allowed = allowed;
        this.packageId = packageId;
        this.die = die;
        this.core = core;
        this.coreId = coreId;
        this.l2 = l2;
        this.l3 = l3;
        this.numaNode = numaNode;
        this.kind = kind;
    }

    /**
     * @return the operating-system index (hwloc's {@code P#}), as in {@code /sys/devices/system/cpu/cpuN}.
     */
    public int id()
    {
        return id;
    }

    /**
     * @return whether the CPU is online.
     */
    public boolean online()
    {
        return online;
    }

    /**
     * @return whether this process may run on the CPU (scheduler affinity and cgroup cpuset).
     */
    public boolean allowed()
    {
        return allowed;
    }

    /**
     * @return whether the CPU is both online and allowed: whether a thread can be pinned to it.
     */
    public boolean usable()
    {
        return online && allowed;
    }

    /**
     * @return the package's operating-system index ({@code physical_package_id}, hwloc's package {@code P#};
     *         where sysfs gives none, the package's logical index), or -1 if unknown.
     */
    public int packageId()
    {
        return packageId;
    }

    /**
     * @return the logical index of the CPU's die, unique machine-wide, or -1 if unknown.
     */
    public int die()
    {
        return die;
    }

    /**
     * @return the logical index of the CPU's physical core, unique machine-wide (hwloc's core {@code L#}),
     *         shared by exactly the core's SMT siblings, or -1 if unknown.
     */
    public int core()
    {
        return core;
    }

    /**
     * @return sysfs's {@code core_id} (hwloc's core {@code P#}), unique only within a package, or -1.
     */
    public int coreId()
    {
        return coreId;
    }

    /**
     * @return the logical index of the L2 cache the CPU uses, unique machine-wide, or -1 if it has none or
     *         it is unknown.
     */
    public int l2()
    {
        return l2;
    }

    /**
     * @return the logical index of the L3 cache the CPU uses, unique machine-wide, shared by exactly the
     *         CPUs of that cache, or -1 if it has none or it is unknown.
     */
    public int l3()
    {
        return l3;
    }

    /**
     * @return the operating-system index of the CPU's NUMA node, or -1 if unknown.
     */
    public int numaNode()
    {
        return numaNode;
    }

    /**
     * @return the CPU's core kind on a hybrid chip, ranked as hwloc ranks kinds: 0 for the least powerful
     *         (e.g. E-cores) upwards; 0 for every CPU when all are alike; -1 if unknown.
     */
    public int kind()
    {
        return kind;
    }

    @Override
    public String toString()
    {
        return "Cpu{" + id + (online ? "" : " offline") + (allowed ? "" : " disallowed") +
            ", package=" + packageId + ", core=" + core + ", l2=" + l2 + ", l3=" + l3 +
            ", numa=" + numaNode + ", kind=" + kind + "}";
    }
}
