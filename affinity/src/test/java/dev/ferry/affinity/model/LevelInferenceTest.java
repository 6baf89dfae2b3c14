package dev.ferry.affinity.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;

import dev.ferry.affinity.topology.HwlocFixtures;
import dev.ferry.affinity.topology.Topology;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Levels inferred from latency matrices alone: synthetic matrices made from each hwloc fixture machine with
 * published per-level round trips and 10% noise must group at least 99% of CPU pairs correctly.
 */
final class LevelInferenceTest
{
    private static final int SEEDS = 20;

    static Stream<String> fixtures()
    {
        return HwlocFixtures.names().stream();
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void groupsAtLeast99PercentOfPairsCorrectlyWithTenPercentNoise(final String name)
    {
        final Topology topology = Topology.load(HwlocFixtures.root(name));
        final int[] cpus = topology.usable().toArray();
        long pairs = 0;
        double correct = 0;
        for (int seed = 0; seed < SEEDS; seed++)
        {
            final LatencyMatrix matrix = PublishedLatencies.SERVER.synthesize(topology, cpus, 0.10, new Random(seed));
            final LevelMapping mapping = LevelMapping.map(topology, LevelInference.infer(matrix, 0.10));
            final long n = (long)cpus.length * (cpus.length - 1) / 2;
            pairs += n;
            correct += mapping.fractionGroupedCorrectly() * n;
            assertTrue(mapping.fractionGroupedCorrectly() >= 0.99,
                name + " seed " + seed + ": " + mapping + "; " + mapping.notes());
        }
        assertTrue(correct / pairs >= 0.99, name + ": " + correct / pairs);
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void findsAsManyLevelsAsTheMachineHasAndNamesThem(final String name)
    {
        final Topology topology = Topology.load(HwlocFixtures.root(name));
        final int[] cpus = topology.usable().toArray();
        final LatencyMatrix matrix = PublishedLatencies.SERVER.synthesize(topology, cpus, 0.10, new Random(42));
        final LevelMapping mapping = LevelMapping.map(topology, LevelInference.infer(matrix, 0.10));
        final TreeSet<Level> present = new TreeSet<>();
        for (int i = 0; i < cpus.length; i++)
        {
            for (int j = i + 1; j < cpus.length; j++)
            {
                present.add(mapping.expected(i, j));
            }
        }
        assertEquals(present.size(), mapping.inferred().groupCount(), name + ": " + present + " vs " + mapping.inferred());
        int g = 0;
        for (final Level level : present)
        {
            assertEquals(level, mapping.groupLevel(g), name + " group " + g);
            assertEquals(PublishedLatencies.SERVER.rttNs(level), mapping.inferred().groupRttNs(g),
                PublishedLatencies.SERVER.rttNs(level) * 0.1, name + " group " + g + " median");
            g++;
        }
        assertEquals(1.0, mapping.agreement(), name + ": " + mapping.disagreements());
        assertTrue(mapping.disagreements().isEmpty());
    }

    @Test
    void levelsCloserThanTheNoiseCannotBeToldApartAndTheScoreSaysSo()
    {
        final Topology topology = Topology.load(HwlocFixtures.root("16em64t-4s2c2t"));
        final int[] cpus = topology.usable().toArray();
        final PublishedLatencies flat = new PublishedLatencies("too flat", 100, 105, 110, 115, 120);
        final LatencyMatrix matrix = flat.synthesize(topology, cpus, 0.10, new Random(1));
        final LevelMapping mapping = LevelMapping.map(topology, LevelInference.infer(matrix, 0.10));
        assertEquals(1, mapping.inferred().groupCount(), mapping.inferred().toString());
        assertTrue(mapping.fractionGroupedCorrectly() < 0.5, mapping.toString());
        assertTrue(mapping.notes().stream().anyMatch(n -> n.contains("does not tell these levels apart")),
            mapping.notes().toString());
    }

    @Test
    void inferenceAllowsForTheMeasuredSpread()
    {
        final int[] cpus = {0, 1, 2};
        final double[][] rtt = {{0, 100, 125}, {100, 0, 125}, {125, 125, 0}};
        final double[][] tight = {{0, 0.02, 0.02}, {0.02, 0, 0.02}, {0.02, 0.02, 0}};
        final double[][] noisy = {{0, 0.5, 0.5}, {0.5, 0, 0.5}, {0.5, 0.5, 0}};
        assertEquals(2, LevelInference.infer(new LatencyMatrix(cpus, rtt, tight)).groupCount());
        assertEquals(1, LevelInference.infer(new LatencyMatrix(cpus, rtt, noisy)).groupCount());
    }

    @Test
    void refusesWhatItCannotGroup()
    {
        final LatencyMatrix one = new LatencyMatrix(new int[] {0}, new double[][] {{0}}, null);
        assertThrows(IllegalArgumentException.class, () -> LevelInference.infer(one, 0.1));
        final LatencyMatrix two = new LatencyMatrix(new int[] {0, 1}, new double[][] {{0, 1}, {1, 0}}, null);
        assertThrows(IllegalArgumentException.class, () -> LevelInference.infer(two, 0));
    }
}
