package dev.ferry.affinity.topology;

/**
 * The kinds of object in a {@link Topology} tree, named and ordered as hwloc names and nests them: a
 * package holds dies, dies hold L3 caches, and so on down to the processing units (hardware threads).
 * NUMA nodes are memory, attached beside the CPU objects whose CPUs they serve.
 *
 * <p>Immutable; safe to share between threads.
 */
public enum ObjectType
{
    /** The whole machine: the root of the tree. */
    MACHINE("Machine"),
    /** A physical processor package (socket). */
    PACKAGE("Package"),
    /** A die within a package; shown only when a package holds more than one. */
    DIE("Die"),
    /** A NUMA node: memory and the CPUs closest to it. */
    NUMA_NODE("NUMANode"),
    /** A group of CPUs sharing a level-3 cache. */
    L3_CACHE("L3Cache"),
    /** A cluster of cores (arm64 and hybrid x86), shown only when it groups more than one L2 or core. */
    CLUSTER("Group(Cluster)"),
    /** A group of CPUs sharing a level-2 cache. */
    L2_CACHE("L2Cache"),
    /** A physical core: its SMT siblings share it. */
    CORE("Core"),
    /** A processing unit: one hardware thread, what the operating system calls a CPU. */
    PU("PU");

    private final String hwlocName;

    ObjectType(final String hwlocName)
    {
        this.hwlocName = hwlocName;
    }

    /**
     * @return the name lstopo prints for this type, e.g. {@code L3Cache}.
     */
    public String hwlocName()
    {
        return hwlocName;
    }
}
