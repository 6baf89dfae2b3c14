package dev.ferry.affinity.topology;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a {@link Topology} from Linux sysfs and procfs under a filesystem root, the way hwloc's Linux
 * backend does, trusting nothing: every file may be missing, and a missing file is reported as unknown.
 *
 * <p>Not thread-safe: one instance reads one topology on one thread, then is dropped.
 */
final class SysfsReader
{
    private static final Pattern CPU_DIR = Pattern.compile("cpu(\\d+)");
    private static final Pattern NODE_DIR = Pattern.compile("node(\\d+)");
    private static final Pattern INDEX_DIR = Pattern.compile("index(\\d+)");

    private final Path root;
    private final Path cpuDir;
    private final List<String> unknowns = new ArrayList<>();
    private boolean cachesKnown;

    SysfsReader(final Path root)
    {
        this.root = root;
        this.cpuDir = root.resolve("sys/devices/system/cpu");
    }

    Topology read()
    {
        if (!Files.isDirectory(root))
        {
            throw new TopologyException("filesystem root " + root + " does not exist or is not a directory: " +
                "pass a directory holding sys/ and proc/ (a copy of a Linux machine's /sys and /proc), or / for this machine");
        }
        if (!Files.isDirectory(cpuDir))
        {
            throw new TopologyException("no sysfs CPU tree under " + root + ": missing " + cpuDir +
                " (expected the layout of Linux /sys/devices/system/cpu; pass a root holding sys/ and proc/)");
        }
        final CpuSet present = listCpus();
        if (present.isEmpty())
        {
            throw new TopologyException("no CPU under " + cpuDir + ": expected directories cpu0, cpu1, ...");
        }

        final CpuSet online = readOnline(present);
        final CpuSet offline = present.andNot(online);
        if (!offline.isEmpty())
        {
            unknowns.add("offline CPUs " + offline + ": their topology is unknown while they are offline");
        }
        final AllowedCpus allowed = AllowedCpus.read(root, present);
        if (!allowed.restricted())
        {
            unknowns.add("allowed CPUs: " + allowed.source());
        }

        final Map<ObjectType, List<CpuSet>> groups = new EnumMap<>(ObjectType.class);
        final Map<CpuSet, Integer> packageOsIndex = new HashMap<>();
        groups.put(ObjectType.PACKAGE, readPackages(online, packageOsIndex));
        groups.put(ObjectType.DIE, readDies(online));
        groups.put(ObjectType.CLUSTER, readClusters(online));
        groups.put(ObjectType.CORE, readCores(online));
        final Map<Integer, List<CpuSet>> caches = readCaches(online);
        groups.put(ObjectType.L2_CACHE, caches.getOrDefault(2, List.of()));
        groups.put(ObjectType.L3_CACHE, caches.getOrDefault(3, List.of()));
        final Map<CpuSet, Integer> numaOsIndex = new HashMap<>();
        groups.put(ObjectType.NUMA_NODE, readNumaNodes(online, numaOsIndex));
        final Map<Integer, Integer> kinds = readKinds(online);
        final Map<Integer, Integer> coreIds = readInts(online, "topology/core_id");

        return TreeBuilder.build(
            root, present, online, allowed, groups, packageOsIndex, numaOsIndex, kinds, coreIds, cachesKnown, unknowns);
    }

    private CpuSet listCpus()
    {
        final List<Integer> ids = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(cpuDir))
        {
            for (final Path dir : dirs)
            {
                final Matcher m = CPU_DIR.matcher(dir.getFileName().toString());
                if (m.matches() && Files.isDirectory(dir))
                {
                    ids.add(Integer.parseInt(m.group(1)));
                }
            }
        }
        catch (final IOException ex)
        {
            throw new TopologyException("cannot list " + cpuDir + ": " + ex);
        }
        return CpuSet.of(ids.stream().mapToInt(Integer::intValue).toArray());
    }

    private CpuSet readOnline(final CpuSet present)
    {
        final String list = AllowedCpus.readFirstLine(cpuDir.resolve("online"));
        if (list != null)
        {
            return CpuSet.parseList(list).and(present);
        }
        final List<Integer> online = new ArrayList<>();
        for (final int cpu : present.toArray())
        {
            final String flag = AllowedCpus.readFirstLine(cpuDir.resolve("cpu" + cpu).resolve("online"));
            if (flag == null || !"0".equals(flag))
            {
                online.add(cpu);
            }
        }
        return CpuSet.of(online.stream().mapToInt(Integer::intValue).toArray());
    }

    private List<CpuSet> readPackages(final CpuSet online, final Map<CpuSet, Integer> osIndex)
    {
        final Map<Integer, Integer> ids = readInts(online, "topology/physical_package_id");
        final boolean byId = ids.size() == online.size() && ids.values().stream().allMatch(id -> id >= 0);
        if (byId)
        {
            final Map<Integer, List<Integer>> byPackage = new TreeMap<>();
            ids.forEach((cpu, id) -> byPackage.computeIfAbsent(id, k -> new ArrayList<>()).add(cpu));
            final List<CpuSet> result = new ArrayList<>();
            byPackage.forEach((id, cpus) ->
            {
                final CpuSet set = CpuSet.of(cpus.stream().mapToInt(Integer::intValue).toArray());
                osIndex.put(set, id);
                result.add(set);
            });
            result.sort(Comparator.naturalOrder());
            return result;
        }
        final Map<Integer, CpuSet> sets = readSets(online,
            "topology/package_cpus", "topology/core_siblings", "topology/package_cpus_list", "topology/core_siblings_list");
        if (sets.size() < online.size())
        {
            unknowns.add("packages of CPUs " + online.andNot(CpuSet.of(keys(sets))) +
                ": no topology/physical_package_id, package_cpus_list or core_siblings_list");
        }
        return partition(online, sets);
    }

    private List<CpuSet> readDies(final CpuSet online)
    {
        final Map<Integer, Integer> dieIds = readInts(online, "topology/die_id");
        final Map<Integer, CpuSet> sets = readSets(online, "topology/die_cpus", "topology/die_cpus_list");
        sets.keySet().removeIf(cpu -> dieIds.getOrDefault(cpu, 0) < 0);
        return partition(online, sets);
    }

    private List<CpuSet> readClusters(final CpuSet online)
    {
        final Map<Integer, Integer> clusterIds = readInts(online, "topology/cluster_id");
        final Map<Integer, CpuSet> sets = readSets(online, "topology/cluster_cpus", "topology/cluster_cpus_list");
        sets.keySet().removeIf(cpu -> clusterIds.getOrDefault(cpu, 0) < 0);
        return partition(online, sets);
    }

    private List<CpuSet> readCores(final CpuSet online)
    {
        final Map<Integer, CpuSet> sets = readSets(online,
            "topology/core_cpus", "topology/thread_siblings", "topology/core_cpus_list", "topology/thread_siblings_list");
        if (isAmdWithComputeUnits())
        {
            // AMD family 15h lists both cores of a compute unit as thread siblings; like hwloc, take siblings
            // whose core_id differs for the separate cores they are.
            final Map<Integer, Integer> coreIds = readInts(online, "topology/core_id");
            sets.replaceAll((cpu, set) -> coreIds.containsKey(cpu) ?
                CpuSet.of(set.stream().filter(o -> coreIds.getOrDefault(o, -1).equals(coreIds.get(cpu))).toArray()) : set);
        }
        final CpuSet missing = online.andNot(CpuSet.of(keys(sets)));
        if (!missing.isEmpty())
        {
            // Fall back on hwloc's other source: CPUs with the same package and core_id share a core.
            final Map<Integer, Integer> coreIds = readInts(missing, "topology/core_id");
            final Map<Integer, Integer> packageIds = readInts(missing, "topology/physical_package_id");
            final Map<String, List<Integer>> byKey = new HashMap<>();
            for (final int cpu : missing.toArray())
            {
                if (coreIds.containsKey(cpu) && packageIds.containsKey(cpu) && coreIds.get(cpu) >= 0)
                {
                    byKey.computeIfAbsent(packageIds.get(cpu) + "/" + coreIds.get(cpu), k -> new ArrayList<>()).add(cpu);
                }
            }
            for (final List<Integer> cpus : byKey.values())
            {
                final CpuSet set = CpuSet.of(cpus.stream().mapToInt(Integer::intValue).toArray());
                for (final int cpu : cpus)
                {
                    sets.put(cpu, set);
                }
            }
            final CpuSet stillMissing = online.andNot(CpuSet.of(keys(sets)));
            if (!stillMissing.isEmpty())
            {
                unknowns.add("physical cores (SMT siblings) of CPUs " + stillMissing +
                    ": no topology/thread_siblings_list, core_cpus_list or core_id");
            }
        }
        return partition(online, sets);
    }

    private boolean isAmdWithComputeUnits()
    {
        final List<String> cpuinfo = AllowedCpus.readLines(root.resolve("proc/cpuinfo"));
        if (cpuinfo == null)
        {
            return false;
        }
        boolean amd = false;
        boolean family15h = false;
        for (final String line : cpuinfo)
        {
            final int colon = line.indexOf(':');
            if (colon < 0)
            {
                continue;
            }
            final String key = line.substring(0, colon).trim();
            final String value = line.substring(colon + 1).trim();
            if ("vendor_id".equals(key))
            {
                amd = "AuthenticAMD".equals(value);
            }
            else if ("cpu family".equals(key))
            {
                family15h = "21".equals(value);
                break;
            }
        }
        return amd && family15h;
    }

    private Map<Integer, List<CpuSet>> readCaches(final CpuSet online)
    {
        final Map<Integer, Map<Integer, CpuSet>> byLevel = new TreeMap<>();
        final List<Integer> noCacheDir = new ArrayList<>();
        for (final int cpu : online.toArray())
        {
            final Path cacheDir = cpuDir.resolve("cpu" + cpu).resolve("cache");
            if (!Files.isDirectory(cacheDir))
            {
                noCacheDir.add(cpu);
                continue;
            }
            try (DirectoryStream<Path> indexes = Files.newDirectoryStream(cacheDir))
            {
                for (final Path index : indexes)
                {
                    if (!INDEX_DIR.matcher(index.getFileName().toString()).matches())
                    {
                        continue;
                    }
                    final Integer level = parseInt(AllowedCpus.readFirstLine(index.resolve("level")));
                    final String type = AllowedCpus.readFirstLine(index.resolve("type"));
                    if (level == null || "Instruction".equals(type))
                    {
                        continue;
                    }
                    final CpuSet shared = readSet(index, "shared_cpu_map", "shared_cpu_list");
                    if (shared != null)
                    {
                        byLevel.computeIfAbsent(level, k -> new HashMap<>()).put(cpu, shared.or(CpuSet.of(cpu)));
                    }
                }
            }
            catch (final IOException ex)
            {
                noCacheDir.add(cpu);
            }
        }
        cachesKnown = noCacheDir.size() < online.size();
        if (!noCacheDir.isEmpty())
        {
            final CpuSet set = CpuSet.of(noCacheDir.stream().mapToInt(Integer::intValue).toArray());
            unknowns.add("caches of CPUs " + set + ": no cpuN/cache directory (VMs often hide it), " +
                "so L2 and L3 sharing is unknown there");
        }
        final Map<Integer, List<CpuSet>> result = new TreeMap<>();
        byLevel.forEach((level, sets) -> result.put(level, partition(online, sets)));
        return result;
    }

    private List<CpuSet> readNumaNodes(final CpuSet online, final Map<CpuSet, Integer> osIndex)
    {
        final Path nodeDir = root.resolve("sys/devices/system/node");
        final List<CpuSet> result = new ArrayList<>();
        if (!Files.isDirectory(nodeDir))
        {
            unknowns.add("NUMA nodes: no " + nodeDir + " directory");
            return result;
        }
        final TreeSet<Integer> nodes = new TreeSet<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(nodeDir))
        {
            for (final Path dir : dirs)
            {
                final Matcher m = NODE_DIR.matcher(dir.getFileName().toString());
                if (m.matches())
                {
                    nodes.add(Integer.parseInt(m.group(1)));
                }
            }
        }
        catch (final IOException ex)
        {
            unknowns.add("NUMA nodes: cannot list " + nodeDir + ": " + ex);
            return result;
        }
        CpuSet covered = CpuSet.empty();
        for (final int node : nodes)
        {
            final CpuSet set = readSet(nodeDir.resolve("node" + node), "cpumap", "cpulist");
            if (set != null && set.intersects(online))
            {
                final CpuSet cpus = set.and(online).andNot(covered);
                if (!cpus.isEmpty())
                {
                    covered = covered.or(cpus);
                    osIndex.put(cpus, node);
                    result.add(cpus);
                }
            }
        }
        if (!online.andNot(covered).isEmpty())
        {
            unknowns.add("NUMA node of CPUs " + online.andNot(covered) + ": in no node's cpulist or cpumap");
        }
        result.sort(Comparator.naturalOrder());
        return result;
    }

    private Map<Integer, Integer> readKinds(final CpuSet online)
    {
        final String[][] sources = {
            { "cpu_capacity" },
            { "cpufreq/base_frequency" },
            { "cpufreq/cpuinfo_max_freq" },
            { "acpi_cppc/highest_perf" },
        };
        for (final String[] source : sources)
        {
            final Map<Integer, Integer> values = readInts(online, source[0]);
            if (values.size() == online.size() && !values.isEmpty())
            {
                final int[] distinct = values.values().stream().mapToInt(Integer::intValue).distinct().sorted().toArray();
                final Map<Integer, Integer> kinds = new HashMap<>();
                values.forEach((cpu, value) -> kinds.put(cpu, Arrays.binarySearch(distinct, value)));
                return kinds;
            }
        }
        unknowns.add("core kinds: no cpu_capacity, cpufreq base or maximum frequency, or acpi_cppc/highest_perf for every online CPU");
        return Map.of();
    }

    private Map<Integer, Integer> readInts(final CpuSet cpus, final String file)
    {
        final Map<Integer, Integer> result = new HashMap<>();
        for (final int cpu : cpus.toArray())
        {
            final Integer value = parseInt(AllowedCpus.readFirstLine(cpuDir.resolve("cpu" + cpu).resolve(file)));
            if (value != null)
            {
                result.put(cpu, value);
            }
        }
        return result;
    }

    private Map<Integer, CpuSet> readSets(final CpuSet cpus, final String... files)
    {
        final Map<Integer, CpuSet> result = new HashMap<>();
        for (final int cpu : cpus.toArray())
        {
            final CpuSet set = readSet(cpuDir.resolve("cpu" + cpu), files);
            if (set != null)
            {
                result.put(cpu, set.or(CpuSet.of(cpu)));
            }
        }
        return result;
    }

    /**
     * Reads the first of the given files that exists and parses: names ending in {@code list} are lists,
     * the others masks. Callers name masks first, as hwloc reads them: where a dump's list and mask
     * disagree, hwloc's view is the mask's.
     */
    private static CpuSet readSet(final Path dir, final String... files)
    {
        for (final String file : files)
        {
            final String text = AllowedCpus.readFirstLine(dir.resolve(file));
            if (text == null)
            {
                continue;
            }
            try
            {
                return file.endsWith("list") ? CpuSet.parseList(text) : CpuSet.parseMask(text);
            }
            catch (final IllegalArgumentException ex)
            {
                // A malformed file is as good as a missing one: try the next name.
            }
        }
        return null;
    }

    /**
     * Turns each CPU's view of its group into disjoint groups: CPUs that name each other, directly or
     * through others, end in one group (union-find), so inconsistent files cannot make groups overlap.
     * Only the given CPUs take part; CPUs with no view are in no group.
     */
    private static List<CpuSet> partition(final CpuSet cpus, final Map<Integer, CpuSet> views)
    {
        final int size = cpus.last() + 1;
        final int[] parent = new int[Math.max(size, 0)];
        for (int i = 0; i < parent.length; i++)
        {
            parent[i] = i;
        }
        views.forEach((cpu, view) -> view.and(cpus).stream().forEach(other -> union(parent, cpu, other)));
        final Map<Integer, List<Integer>> byRoot = new HashMap<>();
        for (final int cpu : keys(views))
        {
            if (cpus.contains(cpu))
            {
                byRoot.computeIfAbsent(find(parent, cpu), k -> new ArrayList<>()).add(cpu);
            }
        }
        final List<CpuSet> result = new ArrayList<>();
        for (final List<Integer> members : byRoot.values())
        {
            result.add(CpuSet.of(members.stream().mapToInt(Integer::intValue).toArray()));
        }
        result.sort(Comparator.naturalOrder());
        return result;
    }

    private static int find(final int[] parent, final int x)
    {
        int r = x;
        while (parent[r] != r)
        {
            r = parent[r];
        }
        int i = x;
        while (parent[i] != r)
        {
            final int next = parent[i];
            parent[i] = r;
            i = next;
        }
        return r;
    }

    private static void union(final int[] parent, final int a, final int b)
    {
        final int ra = find(parent, a);
        final int rb = find(parent, b);
        if (ra != rb)
        {
            parent[Math.max(ra, rb)] = Math.min(ra, rb);
        }
    }

    private static int[] keys(final Map<Integer, ?> map)
    {
        return map.keySet().stream().mapToInt(Integer::intValue).toArray();
    }

    private static Integer parseInt(final String text)
    {
        if (text == null)
        {
            return null;
        }
        try
        {
            return Integer.valueOf(text.trim());
        }
        catch (final NumberFormatException ex)
        {
            return null;
        }
    }
}
