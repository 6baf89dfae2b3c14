package dev.ferry.affinity.topology;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Nests the groups read from sysfs into hwloc's tree, numbers the objects of each type in depth-first
 * order (hwloc's logical indexes) and gives each CPU its place.
 *
 * <p>Not thread-safe: used once, on one thread, by {@link SysfsReader}.
 */
final class TreeBuilder
{
    private static final ObjectType[] CPU_LEVELS = {
        ObjectType.PACKAGE, ObjectType.DIE, ObjectType.L3_CACHE, ObjectType.CLUSTER, ObjectType.L2_CACHE, ObjectType.CORE,
    };

    private TreeBuilder()
    {
    }

    private static final class Draft
    {
        final ObjectType type;
        final CpuSet cpus;
        final int osIndex;
        final String attributes;
        final List<Draft> children = new ArrayList<>();

        Draft(final ObjectType type, final CpuSet cpus, final int osIndex, final String attributes)
        {
            this.type = type;
            this.cpus = cpus;
            this.osIndex = osIndex;
            this.attributes = attributes;
        }
    }

    static Topology build(
        final Path root,
        final CpuSet present,
        final CpuSet online,
        final AllowedCpus allowed,
        final Map<ObjectType, List<CpuSet>> groups,
        final Map<CpuSet, Integer> packageOsIndex,
        final Map<CpuSet, Integer> numaOsIndex,
        final Map<Integer, Integer> kinds,
        final Map<Integer, Integer> coreIds,
        final boolean cachesKnown,
        final List<String> unknowns)
    {
        final int kindCount = (int)kinds.values().stream().distinct().count();
        final Map<CpuSet, ObjectType> realSets = new HashMap<>();
        for (final ObjectType type : new ObjectType[]{ ObjectType.CORE, ObjectType.L2_CACHE, ObjectType.L3_CACHE, ObjectType.PACKAGE })
        {
            for (final CpuSet set : groups.get(type))
            {
                realSets.putIfAbsent(set, type);
            }
        }

        final List<Draft> drafts = new ArrayList<>();
        for (final ObjectType type : CPU_LEVELS)
        {
            for (final CpuSet set : groups.get(type))
            {
                if ((type == ObjectType.DIE || type == ObjectType.CLUSTER) && (realSets.containsKey(set) || set.size() < 2))
                {
                    continue; // hwloc keeps dies and clusters only where they add structure
                }
                if (type == ObjectType.CLUSTER && groups.get(ObjectType.DIE).contains(set))
                {
                    continue;
                }
                int osIndex = -1;
                String attributes = "";
                if (type == ObjectType.PACKAGE)
                {
                    osIndex = packageOsIndex.getOrDefault(set, -1);
                }
                else if (type == ObjectType.CORE)
                {
                    osIndex = coreIds.getOrDefault(set.first(), -1);
                    if (kindCount > 1 && kinds.containsKey(set.first()))
                    {
                        attributes = "cpukind=" + kinds.get(set.first());
                    }
                }
                drafts.add(new Draft(type, set, osIndex, attributes));
            }
        }
        for (final int cpu : online.toArray())
        {
            drafts.add(new Draft(ObjectType.PU, CpuSet.of(cpu), cpu, allowed.cpus().contains(cpu) ? "" : "disallowed"));
        }
        drafts.sort(Comparator.<Draft>comparingInt(d -> -d.cpus.size()).thenComparingInt(d -> d.type.ordinal()));

        final Draft machine = new Draft(ObjectType.MACHINE, online, -1, "");
        for (final Draft draft : drafts)
        {
            deepestHolder(machine, draft.cpus, false).children.add(draft);
        }
        for (final CpuSet numa : groups.get(ObjectType.NUMA_NODE))
        {
            deepestHolder(machine, numa, true).children.add(new Draft(ObjectType.NUMA_NODE, numa, numaOsIndex.get(numa), ""));
        }
        sortChildren(machine);

        // Depth-first rank of every PU: objects of one type are numbered by the rank of their first PU.
        final Map<Integer, Integer> puRank = new HashMap<>();
        rankPus(machine, puRank);
        final Map<ObjectType, Map<CpuSet, Integer>> logical = new EnumMap<>(ObjectType.class);
        for (final ObjectType type : ObjectType.values())
        {
            final List<CpuSet> sets = new ArrayList<>();
            if (type == ObjectType.PU)
            {
                online.stream().forEach(cpu -> sets.add(CpuSet.of(cpu)));
            }
            else if (type == ObjectType.MACHINE)
            {
                sets.add(online);
            }
            else
            {
                sets.addAll(groups.get(type));
            }
            sets.sort(Comparator.comparingInt(set -> minRank(set, puRank)));
            final Map<CpuSet, Integer> index = new HashMap<>();
            for (int i = 0; i < sets.size(); i++)
            {
                index.put(sets.get(i), i);
            }
            logical.put(type, index);
        }

        final TopologyNode tree = freeze(machine, logical);

        final Map<ObjectType, List<CpuSet>> ordered = new EnumMap<>(ObjectType.class);
        final Map<ObjectType, Map<Integer, Integer>> indexOfCpu = new EnumMap<>(ObjectType.class);
        for (final Map.Entry<ObjectType, Map<CpuSet, Integer>> entry : logical.entrySet())
        {
            final List<CpuSet> list = new ArrayList<>(entry.getValue().keySet());
            list.sort(Comparator.comparingInt(entry.getValue()::get));
            ordered.put(entry.getKey(), List.copyOf(list));
            final Map<Integer, Integer> byCpu = new HashMap<>();
            entry.getValue().forEach((set, index) -> set.stream().forEach(cpu -> byCpu.put(cpu, index)));
            indexOfCpu.put(entry.getKey(), byCpu);
        }

        final Map<Integer, Integer> packageOfCpu = new HashMap<>();
        for (final CpuSet set : groups.get(ObjectType.PACKAGE))
        {
            final int id = packageOsIndex.getOrDefault(set, logical.get(ObjectType.PACKAGE).get(set));
            set.stream().forEach(cpu -> packageOfCpu.put(cpu, id));
        }
        final Map<Integer, Integer> numaOfCpu = new HashMap<>();
        numaOsIndex.forEach((set, node) -> set.stream().forEach(cpu -> numaOfCpu.put(cpu, node)));

        final List<Cpu> cpus = new ArrayList<>();
        for (final int id : present.toArray())
        {
            final boolean isOnline = online.contains(id);
            cpus.add(new Cpu(
                id,
                isOnline,
                allowed.cpus().contains(id),
                isOnline ? packageOfCpu.getOrDefault(id, -1) : -1,
                isOnline ? indexOfCpu.get(ObjectType.DIE).getOrDefault(id, -1) : -1,
                isOnline ? indexOfCpu.get(ObjectType.CORE).getOrDefault(id, -1) : -1,
                isOnline ? coreIds.getOrDefault(id, -1) : -1,
                isOnline ? indexOfCpu.get(ObjectType.L2_CACHE).getOrDefault(id, -1) : -1,
                isOnline ? indexOfCpu.get(ObjectType.L3_CACHE).getOrDefault(id, -1) : -1,
                isOnline ? numaOfCpu.getOrDefault(id, -1) : -1,
                isOnline ? kinds.getOrDefault(id, -1) : -1));
        }

        final List<CpuSet> kindSets = new ArrayList<>();
        for (int k = 0; k < kindCount; k++)
        {
            final int kind = k;
            kindSets.add(CpuSet.of(kinds.entrySet().stream()
                .filter(e -> e.getValue() == kind).mapToInt(Map.Entry::getKey).toArray()));
        }

        return new Topology(root, cpus, present, online, allowed, ordered, kindSets, tree, cachesKnown, unknowns);
    }

    private static Draft deepestHolder(final Draft from, final CpuSet cpus, final boolean memory)
    {
        Draft holder = from;
        boolean descended = true;
        while (descended)
        {
            descended = false;
            for (final Draft child : holder.children)
            {
                if (child.type != ObjectType.NUMA_NODE && child.cpus.containsAll(cpus) &&
                    !(memory && (child.type == ObjectType.CORE || child.type == ObjectType.PU)))
                {
                    holder = child;
                    descended = true;
                    break;
                }
            }
        }
        return holder;
    }

    private static void sortChildren(final Draft draft)
    {
        draft.children.sort(Comparator.<Draft>comparingInt(d -> d.type == ObjectType.NUMA_NODE ? 0 : 1)
            .thenComparing(d -> d.cpus));
        draft.children.forEach(TreeBuilder::sortChildren);
    }

    private static void rankPus(final Draft draft, final Map<Integer, Integer> rank)
    {
        if (draft.type == ObjectType.PU)
        {
            rank.put(draft.cpus.first(), rank.size());
        }
        draft.children.forEach(child -> rankPus(child, rank));
    }

    private static int minRank(final CpuSet set, final Map<Integer, Integer> rank)
    {
        return set.stream().map(cpu -> rank.getOrDefault(cpu, Integer.MAX_VALUE)).min().orElse(Integer.MAX_VALUE);
    }

    private static TopologyNode freeze(final Draft draft, final Map<ObjectType, Map<CpuSet, Integer>> logical)
    {
        final List<TopologyNode> children = new ArrayList<>();
        for (final Draft child : draft.children)
        {
            children.add(freeze(child, logical));
        }
        final int index = logical.get(draft.type).getOrDefault(draft.cpus, 0);
        final int osIndex = draft.type == ObjectType.MACHINE ? -1 : draft.osIndex;
        return new TopologyNode(draft.type, index, osIndex, draft.cpus, draft.attributes, children);
    }
}
