package dev.ferry.affinity.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the hwloc fixtures show beyond the per-PU agreement: offline and disallowed CPUs flagged, core
 * kinds, clusters and NUMA nodes, unknowns named; the live machine; bad roots.
 */
final class TopologyTest
{
    @Test
    void offlineCpusAreFlaggedNotDropped()
    {
        final Topology t = Topology.load(HwlocFixtures.root("16em64t-4s2c2t-offlines"));
        assertEquals(CpuSet.range(0, 15), t.present());
        assertEquals(CpuSet.of(2, 5, 13, 14), t.present().andNot(t.online()));
        assertEquals(16, t.cpus().size());
        final Cpu offline = t.cpu(13);
        assertFalse(offline.online());
        assertEquals(-1, offline.packageId());
        assertEquals(-1, offline.core());
        assertEquals(-1, offline.l3());
        assertTrue(t.unknowns().stream().anyMatch(u -> u.contains("offline CPUs 2,5,13-14")), t.unknowns().toString());
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> t.requireUsable(13));
        assertTrue(ex.getMessage().contains("CPU 13 is offline"), ex.getMessage());
        assertEquals(4, t.count(ObjectType.PACKAGE));
        assertEquals(7, t.count(ObjectType.CORE));
        assertEquals(CpuSet.of(0, 8), t.smtSiblings(8));
        assertTrue(t.cachesKnown());
        assertEquals(CpuSet.of(0, 4, 8, 12), t.sharingL3(4));
    }

    @Test
    void disallowedCpusComeFromTheV1CpusetAndAreFlagged()
    {
        final Topology t = Topology.load(HwlocFixtures.root("16amd64-8n2c-cpusets"));
        assertEquals(CpuSet.parseList("0-6,12-15"), t.allowed());
        assertTrue(t.allowedSource().contains("cgroup v1 cpuset"), t.allowedSource());
        assertTrue(t.allowedSource().contains("dummy"), t.allowedSource());
        assertEquals(CpuSet.parseList("0-3,5-6,12-15"), t.usable());
        final Cpu disallowed = t.cpu(9);
        assertTrue(disallowed.online());
        assertFalse(disallowed.allowed());
        assertFalse(disallowed.usable());
        assertEquals(4, disallowed.packageId(), "a disallowed CPU keeps its place in the topology");
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> t.requireUsable(9));
        assertEquals("CPU 9 is not in this process's allowed set 0-3,5-6,12-15", ex.getMessage());
        assertTrue(t.toTreeString().contains("PU L#8 (P#9 disallowed)"), t.toTreeString());
        assertEquals(8, t.count(ObjectType.PACKAGE));
        assertEquals(6, t.usableCount(ObjectType.PACKAGE));
        assertEquals(8, t.count(ObjectType.NUMA_NODE), "all 8 nodes hold CPUs; hwloc hides 4 that the cpuset's mems exclude");
    }

    @Test
    void hybridCoreKindsMatchHwlocs() throws IOException
    {
        final String name = "20em64t-hybrid-1p6c2t+2ca4co1t";
        final Topology t = Topology.load(HwlocFixtures.root(name));
        final HwlocConsole hwloc = HwlocConsole.parse(HwlocFixtures.console(name));
        assertEquals(hwloc.kinds, t.kinds());
        assertEquals(List.of(CpuSet.range(12, 19), CpuSet.range(0, 11)), t.kinds());
        assertEquals(1, t.cpu(0).kind());
        assertEquals(0, t.cpu(19).kind());
        assertTrue(t.toTreeString().contains("Core L#0 (P#0 cpukind=1)"), t.toTreeString());
        assertEquals(CpuSet.range(12, 15), t.sharingL2(13), "four E-cores share an L2");
        assertEquals(14, t.usableCores().size());
        assertEquals(CpuSet.parseList("0,2,4,6,8,10,12-19"), t.onePerCore());
    }

    @Test
    void armClustersAndNumaNodesNestAsInLstopo()
    {
        final Topology t = Topology.load(HwlocFixtures.root("128arm-2pa2n8cluster4co"));
        assertEquals(2, t.count(ObjectType.PACKAGE));
        assertEquals(4, t.count(ObjectType.NUMA_NODE));
        assertEquals(32, t.count(ObjectType.CLUSTER));
        assertEquals(List.of(CpuSet.range(0, 127)), t.kinds(), "all cores alike: one kind");
        final String tree = t.toTreeString();
        assertTrue(tree.startsWith("Machine\n  Package L#0 (P#36)\n    L3Cache L#0\n      NUMANode L#0 (P#0)\n" +
            "      Group(Cluster) L#0\n        L2Cache L#0\n          Core L#0 (P#0)\n            PU L#0 (P#0)\n"), tree);
    }

    @Test
    void aMachineWithoutCachesSaysSo()
    {
        final Topology t = Topology.load(HwlocFixtures.root("2arm-2c"));
        assertEquals(-1, t.cpu(0).l3());
        assertTrue(t.sharingL3(0).isEmpty());
        assertFalse(t.cachesKnown());
        assertTrue(t.unknowns().stream().anyMatch(u -> u.startsWith("caches of CPUs 0-1")), t.unknowns().toString());
        assertEquals(3, t.cpu(1).packageId());
    }

    @Test
    void liveMachine()
    {
        assumeTrue(Files.isDirectory(Path.of("/sys/devices/system/cpu")), "not Linux: no /sys/devices/system/cpu");
        final Topology t = Topology.live();
        final int processors = Runtime.getRuntime().availableProcessors();
        assertEquals(processors, t.usable().size(), t + " vs availableProcessors " + processors);
        assertTrue(t.allowed().containsAll(t.usable()));
        for (final int cpu : t.usable().toArray())
        {
            assertTrue(t.smtSiblings(cpu).contains(cpu));
            t.requireUsable(cpu);
        }
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> t.requireUsable(4096));
        assertTrue(ex.getMessage().contains("allowed set is " + t.usable()), ex.getMessage());
    }

    @Test
    void aMissingRootIsNamed(@TempDir final Path dir)
    {
        final Path missing = dir.resolve("nowhere");
        final TopologyException ex = assertThrows(TopologyException.class, () -> Topology.load(missing));
        assertTrue(ex.getMessage().contains(missing.toString()), ex.getMessage());
        assertTrue(ex.getMessage().contains("does not exist"), ex.getMessage());
    }

    @Test
    void aRootWithoutSysfsNamesTheMissingPath(@TempDir final Path dir) throws IOException
    {
        Files.createDirectories(dir.resolve("proc"));
        final TopologyException ex = assertThrows(TopologyException.class, () -> Topology.load(dir));
        assertTrue(ex.getMessage().contains(dir.resolve("sys/devices/system/cpu").toString()), ex.getMessage());
    }

    @Test
    void aHandMadeTreeWithV2CpusetAndNoFilesBeyondTheBasics(@TempDir final Path dir) throws IOException
    {
        for (int cpu = 0; cpu < 4; cpu++)
        {
            final Path topo = dir.resolve("sys/devices/system/cpu/cpu" + cpu + "/topology");
            Files.createDirectories(topo);
            Files.writeString(topo.resolve("thread_siblings_list"), cpu < 2 ? "0-1\n" : "2-3\n");
            Files.writeString(topo.resolve("physical_package_id"), "0\n");
            Files.writeString(topo.resolve("core_id"), (cpu / 2) + "\n");
        }
        Files.createDirectories(dir.resolve("proc/self"));
        Files.createDirectories(dir.resolve("sys/fs/cgroup/box"));
        Files.writeString(dir.resolve("proc/mounts"), "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n");
        Files.writeString(dir.resolve("proc/self/cgroup"), "0::/box/inner\n");
        Files.writeString(dir.resolve("sys/fs/cgroup/box/cpuset.cpus.effective"), "1-2\n");

        final Topology t = Topology.load(dir);
        assertEquals(CpuSet.of(1, 2), t.allowed(), t.allowedSource());
        assertTrue(t.allowedSource().contains("cgroup v2"), t.allowedSource());
        assertEquals(2, t.count(ObjectType.CORE));
        assertEquals(CpuSet.of(1, 2), t.onePerCore());
        assertTrue(t.unknowns().stream().anyMatch(u -> u.contains("NUMA")), t.unknowns().toString());
        assertEquals(-1, t.cpu(0).numaNode());
        assertEquals(-1, t.cpu(0).kind());
    }
}
