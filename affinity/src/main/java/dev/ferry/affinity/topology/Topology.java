package dev.ferry.affinity.topology;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A machine's CPU topology in hwloc's terms, read from Linux sysfs and procfs under a filesystem root:
 * packages, dies, NUMA nodes, L3 and L2 sharing groups, clusters, physical cores and their SMT siblings
 * (processing units), core kinds on hybrid chips, which CPUs are online and which this process may use.
 *
 * <p>Offline and disallowed CPUs are kept and flagged, never dropped: {@link #cpus()} lists every CPU
 * present. What sysfs does not say (a VM without cache directories, an offline CPU's place) is unknown:
 * such locations are -1 and {@link #unknowns()} says why.
 *
 * <p>Immutable once read; safe to share between threads. {@link #load} and {@link #live} may be called
 * from any thread; each call reads the files afresh.
 */
public final class Topology
{
    private final Path root;
    private final List<Cpu> cpus;
    private final Cpu[] byId;
    private final CpuSet present;
    private final CpuSet online;
    private final AllowedCpus allowed;
    private final CpuSet usable;
    private final Map<ObjectType, List<CpuSet>> groups;
    private final List<CpuSet> kinds;
    private final TopologyNode tree;
    private final boolean cachesKnown;
    private final List<String> unknowns;

    Topology(
        final Path root,
        final List<Cpu> cpus,
        final CpuSet present,
        final CpuSet online,
        final AllowedCpus allowed,
        final Map<ObjectType, List<CpuSet>> groups,
        final List<CpuSet> kinds,
        final TopologyNode tree,
        final boolean cachesKnown,
        final List<String> unknowns)
    {
        this.root = root;
        this.cpus = List.copyOf(cpus);
        this.byId = new Cpu[present.last() + 1];
        for (final Cpu cpu : cpus)
        {
            byId[cpu.id()] = cpu;
        }
        this.present = present;
        this.online = online;
        this.allowed = allowed;
        this.usable = online.and(allowed.cpus());
        this.groups = Map.copyOf(groups);
        this.kinds = List.copyOf(kinds);
        this.tree = tree;
        this.cachesKnown = cachesKnown;
        this.unknowns = List.copyOf(unknowns);
    }

    /**
     * Reads the topology of the machine this JVM runs on.
     *
     * @return the topology.
     * @throws TopologyException if {@code /sys/devices/system/cpu} is missing (not Linux, or no sysfs).
     */
    public static Topology live()
    {
        return load(Path.of("/"));
    }

    /**
     * Reads the topology under a filesystem root, as hwloc does with {@code HWLOC_FSROOT}: the files are
     * {@code ROOT/sys/devices/system/...} and {@code ROOT/proc/...}.
     *
     * @param root {@code /} for this machine, or a directory holding a copy of another machine's sys/ and proc/.
     * @return the topology.
     * @throws TopologyException if the root is missing or holds no sysfs CPU tree; the message names the path.
     */
    public static Topology load(final Path root)
    {
        return new SysfsReader(root).read();
    }

    /**
     * @return the filesystem root the topology was read under.
     */
    public Path root()
    {
        return root;
    }

    /**
     * @return every CPU present, online or not, allowed or not, by ascending index.
     */
    public List<Cpu> cpus()
    {
        return cpus;
    }

    /**
     * @param id an operating-system CPU index.
     * @return that CPU.
     * @throws IllegalArgumentException if no such CPU is present.
     */
    public Cpu cpu(final int id)
    {
        if (id < 0 || id >= byId.length || byId[id] == null)
        {
            throw new IllegalArgumentException("CPU " + id + " is not present on this machine; present: " + present);
        }
        return byId[id];
    }

    /**
     * @return the CPUs present (directories {@code cpuN} in sysfs).
     */
    public CpuSet present()
    {
        return present;
    }

    /**
     * @return the CPUs online.
     */
    public CpuSet online()
    {
        return online;
    }

    /**
     * @return the CPUs this process may use (scheduler affinity and cgroup cpuset), online or not.
     */
    public CpuSet allowed()
    {
        return allowed.cpus();
    }

    /**
     * @return where the allowed set came from: files read and what each said.
     */
    public String allowedSource()
    {
        return allowed.source();
    }

    /**
     * @return the CPUs both online and allowed: those a thread can be pinned to.
     */
    public CpuSet usable()
    {
        return usable;
    }

    /**
     * Checks that a thread could be pinned to a CPU.
     *
     * @param cpu an operating-system CPU index.
     * @throws IllegalArgumentException naming the allowed set, if the CPU is absent, offline or not allowed.
     */
    public void requireUsable(final int cpu)
    {
        if (!present.contains(cpu))
        {
            throw new IllegalArgumentException("CPU " + cpu + " is not present on this machine; " +
                "this process's allowed set is " + usable);
        }
        if (!online.contains(cpu))
        {
            throw new IllegalArgumentException("CPU " + cpu + " is offline; this process's allowed set is " + usable);
        }
        if (!allowed.cpus().contains(cpu))
        {
            throw new IllegalArgumentException("CPU " + cpu + " is not in this process's allowed set " + usable);
        }
    }

    /**
     * The groups of one type, in logical order (hwloc's {@code L#}); each holds online CPUs, allowed or not.
     *
     * @param type the type; {@link ObjectType#MACHINE} gives one set, {@link ObjectType#PU} one per online CPU.
     * @return the groups; empty where the type is absent or unknown (see {@link #unknowns()}).
     */
    public List<CpuSet> groups(final ObjectType type)
    {
        return groups.getOrDefault(type, List.of());
    }

    /**
     * @param type the type.
     * @return how many objects of that type hold at least one online CPU.
     */
    public int count(final ObjectType type)
    {
        return groups(type).size();
    }

    /**
     * @param type the type.
     * @return how many objects of that type hold at least one usable (online and allowed) CPU.
     */
    public int usableCount(final ObjectType type)
    {
        return (int)groups(type).stream().filter(set -> set.intersects(usable)).count();
    }

    /**
     * @param cpu an online CPU.
     * @return the hardware threads of its physical core, itself included; empty if unknown or offline.
     */
    public CpuSet smtSiblings(final int cpu)
    {
        return groupOf(ObjectType.CORE, cpu);
    }

    /**
     * @param cpu an online CPU.
     * @return the CPUs sharing an L3 cache with it, itself included; empty if it has none or it is unknown.
     */
    public CpuSet sharingL3(final int cpu)
    {
        return groupOf(ObjectType.L3_CACHE, cpu);
    }

    /**
     * @param cpu an online CPU.
     * @return the CPUs sharing an L2 cache with it, itself included; empty if it has none or it is unknown.
     */
    public CpuSet sharingL2(final int cpu)
    {
        return groupOf(ObjectType.L2_CACHE, cpu);
    }

    /**
     * @param cpu an online CPU.
     * @return the online CPUs of its package, itself included; empty if unknown.
     */
    public CpuSet samePackage(final int cpu)
    {
        return groupOf(ObjectType.PACKAGE, cpu);
    }

    /**
     * @param cpu an online CPU.
     * @return the online CPUs of its NUMA node, itself included; empty if unknown.
     */
    public CpuSet sameNumaNode(final int cpu)
    {
        return groupOf(ObjectType.NUMA_NODE, cpu);
    }

    /**
     * @param type a grouping type.
     * @param cpu  an operating-system CPU index.
     * @return the group of that type holding the CPU, or the empty set.
     */
    public CpuSet groupOf(final ObjectType type, final int cpu)
    {
        for (final CpuSet set : groups(type))
        {
            if (set.contains(cpu))
            {
                return set;
            }
        }
        return CpuSet.empty();
    }

    /**
     * The physical cores this process can use, each as its usable hardware threads, in logical order. A
     * usable CPU whose core is unknown counts as a core of its own (listed after the known ones).
     *
     * @return one non-empty set per usable physical core.
     */
    public List<CpuSet> usableCores()
    {
        final List<CpuSet> result = new ArrayList<>();
        CpuSet covered = CpuSet.empty();
        for (final CpuSet core : groups(ObjectType.CORE))
        {
            final CpuSet mine = core.and(usable);
            if (!mine.isEmpty())
            {
                result.add(mine);
                covered = covered.or(core);
            }
        }
        usable.andNot(covered).stream().forEach(cpu -> result.add(CpuSet.of(cpu)));
        return Collections.unmodifiableList(result);
    }

    /**
     * @return one usable CPU per usable physical core: the lowest-numbered usable thread of each.
     */
    public CpuSet onePerCore()
    {
        return CpuSet.of(usableCores().stream().mapToInt(CpuSet::first).toArray());
    }

    /**
     * @return the core kinds, least powerful first (index = {@link Cpu#kind()}); empty if unknown.
     */
    public List<CpuSet> kinds()
    {
        return kinds;
    }

    /**
     * @return the tree of objects, rooted at the machine; holds online CPUs, disallowed ones flagged.
     */
    public TopologyNode tree()
    {
        return tree;
    }

    /**
     * @return the tree as lstopo prints it on a console, one object per line.
     */
    public String toTreeString()
    {
        final StringBuilder sb = new StringBuilder();
        tree.appendTree(sb, 0);
        return sb.toString();
    }

    /**
     * @return whether sysfs describes the caches of at least one online CPU; false on VMs that hide them, where
     *         an L3 or L2 count of 0 means unknown, not absent.
     */
    public boolean cachesKnown()
    {
        return cachesKnown;
    }

    /**
     * @return what could not be read, one sentence each, naming the files that were missing.
     */
    public List<String> unknowns()
    {
        return unknowns;
    }

    @Override
    public String toString()
    {
        return "Topology{root=" + root + ", present=" + present + ", online=" + online + ", allowed=" + allowed() +
            ", packages=" + count(ObjectType.PACKAGE) + ", cores=" + count(ObjectType.CORE) +
            ", l3=" + count(ObjectType.L3_CACHE) + ", numa=" + count(ObjectType.NUMA_NODE) + "}";
    }
}
