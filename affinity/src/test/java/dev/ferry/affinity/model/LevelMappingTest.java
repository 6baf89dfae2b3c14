package dev.ferry.affinity.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import dev.ferry.affinity.topology.HwlocFixtures;
import dev.ferry.affinity.topology.Topology;
import org.junit.jupiter.api.Test;

/**
 * Levels of CPU pairs as sysfs gives them, and the mapping of a measured matrix onto them, with the
 * disagreements a VM produces.
 */
final class LevelMappingTest
{
    @Test
    void levelsFromSysfsOfAFourSocketXeonWithSmt()
    {
        final Topology t = Topology.load(HwlocFixtures.root("16em64t-4s2c2t"));
        assertEquals(Level.SMT_SIBLING, TopologyLevels.levelOf(t, 0, 8));
        assertEquals(Level.SHARED_L3, TopologyLevels.levelOf(t, 0, 4));
        assertEquals(Level.OTHER_PACKAGE, TopologyLevels.levelOf(t, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> TopologyLevels.levelOf(t, 3, 3));
    }

    @Test
    void levelsFromSysfsOfAHybridLaptopAndABulldozerServer()
    {
        final Topology hybrid = Topology.load(HwlocFixtures.root("20em64t-hybrid-1p6c2t+2ca4co1t"));
        assertEquals(Level.SMT_SIBLING, TopologyLevels.levelOf(hybrid, 0, 1));
        assertEquals(Level.SHARED_L3, TopologyLevels.levelOf(hybrid, 0, 2));
        assertEquals(Level.SHARED_L2, TopologyLevels.levelOf(hybrid, 12, 15));
        assertEquals(Level.SHARED_L3, TopologyLevels.levelOf(hybrid, 12, 16));
        final Topology bulldozer = Topology.load(HwlocFixtures.root("64amd64-4s2n4ca2co"));
        assertEquals(Level.SHARED_L2, TopologyLevels.levelOf(bulldozer, 0, 1));
        assertEquals(Level.SHARED_L3, TopologyLevels.levelOf(bulldozer, 0, 2));
        assertEquals(Level.SAME_PACKAGE, TopologyLevels.levelOf(bulldozer, 0, 8));
        assertEquals(Level.OTHER_PACKAGE, TopologyLevels.levelOf(bulldozer, 0, 16));
    }

    @Test
    void twoCoresAtSiblingLatencyAreReportedAsHiddenSmt()
    {
        // The 2-core arm machine, measured as a VM whose two "cores" are one core's hyperthreads would measure.
        final Topology t = Topology.load(HwlocFixtures.root("2arm-2c"));
        final LatencyMatrix m = new LatencyMatrix(new int[] {0, 1}, new double[][] {{0, 18}, {18, 0}}, null);
        final LevelMapping mapping = LevelMapping.map(t, LevelInference.infer(m, 0.1));
        assertEquals(Level.SAME_PACKAGE, mapping.expected(0, 1));
        assertTrue(mapping.notes().stream().anyMatch(n -> n.contains("may hide SMT")), mapping.notes().toString());

        final LatencyMatrix real = new LatencyMatrix(new int[] {0, 1}, new double[][] {{0, 145}, {145, 0}}, null);
        assertTrue(LevelMapping.map(t, LevelInference.infer(real, 0.1)).notes().isEmpty());
    }

    @Test
    void pairsMeasuredAtAnotherLevelThanSysfsSaysAreListed()
    {
        final Topology t = Topology.load(HwlocFixtures.root("16em64t-4s2c2t"));
        final int[] cpus = t.usable().toArray();
        final LatencyMatrix clean = PublishedLatencies.SERVER.synthesize(t, cpus, 0.05, new Random(7));
        final double[][] rtt = clean.toArray();
        // CPUs 0 and 1 sit in different packages, but measure as if they shared an L3 (a mislabelled VM topology).
        final int a = clean.indexOf(0);
        final int b = clean.indexOf(1);
        rtt[a][b] = PublishedLatencies.SERVER.rttNs(Level.SHARED_L3);
        rtt[b][a] = rtt[a][b];
        final LevelMapping mapping = LevelMapping.map(t, LevelInference.infer(new LatencyMatrix(cpus, rtt, null), 0.1));
        assertEquals(Level.OTHER_PACKAGE, mapping.expected(a, b));
        assertEquals(Level.SHARED_L3, mapping.measured(a, b));
        assertEquals(1, mapping.disagreements().size(), mapping.disagreements().toString());
        assertTrue(mapping.disagreements().get(0).startsWith("CPUs 0-1: sysfs says other package"),
            mapping.disagreements().get(0));
    }
}
