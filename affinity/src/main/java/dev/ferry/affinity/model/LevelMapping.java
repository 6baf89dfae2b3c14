package dev.ferry.affinity.model;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import dev.ferry.affinity.topology.Topology;

/**
 * A latency matrix mapped onto the machine's topology: each group of pairs the measurement shows
 * ({@link InferredLevels}) is named by the {@link Level} sysfs gives most of its pairs, and every pair where
 * measurement and sysfs disagree is reported: a VM that hides SMT (two "cores" at sibling latency), levels sysfs
 * tells apart that cost the same, or one level that measures as two.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class LevelMapping
{
    /**
     * Round trips below this look like SMT siblings (published sibling round trips are 10 to 30 ns; no two
     * separate cores bounce a line this fast).
     */
    public static final double SIBLING_RTT_NS = 40;

    private final InferredLevels inferred;
    private final Level[][] expected;
    private final Level[] groupLevel;
    private final List<String> disagreements;
    private final List<String> notes;
    private final int pairs;
    private final int agreeing;
    private final int rankCorrect;

    private LevelMapping(final InferredLevels inferred, final Level[][] expected)
    {
        this.inferred = inferred;
        this.expected = expected;
        final int n = inferred.matrix().size();
        final int groups = inferred.groupCount();
        this.groupLevel = new Level[groups];
        final List<Map<Level, Integer>> votes = new ArrayList<>();
        for (int g = 0; g < groups; g++)
        {
            votes.add(new EnumMap<>(Level.class));
        }
        final TreeSet<Level> present = new TreeSet<>();
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                votes.get(inferred.group(i, j)).merge(expected[i][j], 1, Integer::sum);
                present.add(expected[i][j]);
            }
        }
        final List<String> notes = new ArrayList<>();
        for (int g = 0; g < groups; g++)
        {
            Level best = null;
            int bestVotes = -1;
            for (final Map.Entry<Level, Integer> e : votes.get(g).entrySet())
            {
                if (e.getValue() > bestVotes)
                {
                    best = e.getKey();
                    bestVotes = e.getValue();
                }
            }
            groupLevel[g] = best;
            if (votes.get(g).size() > 1)
            {
                notes.add(String.format("measured group %d (%.0f ns) holds pairs sysfs puts at %s: the measurement " +
                    "does not tell these levels apart", g, inferred.groupRttNs(g), votes.get(g).keySet()));
            }
            if (inferred.groupRttNs(g) < SIBLING_RTT_NS && best != Level.SMT_SIBLING)
            {
                notes.add(String.format("measured group %d bounces a line in %.0f ns, as SMT siblings do, but sysfs " +
                    "calls its pairs %s: the VM may hide SMT (its vCPUs share physical cores)", g,
                    inferred.groupRttNs(g), best == null ? "unknown" : best.label()));
            }
        }
        for (int g = 1; g < groups; g++)
        {
            if (groupLevel[g] == groupLevel[g - 1])
            {
                notes.add(String.format("sysfs calls measured groups %d (%.0f ns) and %d (%.0f ns) both %s: the " +
                    "measurement splits one level in two (another die, a mesh's distance, or a busy CPU)", g - 1,
                    inferred.groupRttNs(g - 1), g, inferred.groupRttNs(g), groupLevel[g].label()));
            }
        }
        final List<Level> ranks = new ArrayList<>(present);
        final List<String> disagreements = new ArrayList<>();
        int agreeing = 0;
        int rankCorrect = 0;
        int pairs = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                pairs++;
                final int g = inferred.group(i, j);
                if (groupLevel[g] == expected[i][j])
                {
                    agreeing++;
                }
                else
                {
                    disagreements.add(String.format("CPUs %d-%d: sysfs says %s, measured %.0f ns is with the %s pairs",
                        inferred.matrix().cpu(i), inferred.matrix().cpu(j), expected[i][j].label(),
                        inferred.matrix().rttNs(i, j), groupLevel[g].label()));
                }
                if (g == ranks.indexOf(expected[i][j]))
                {
                    rankCorrect++;
                }
            }
        }
        this.disagreements = List.copyOf(disagreements);
        this.notes = List.copyOf(notes);
        this.pairs = pairs;
        this.agreeing = agreeing;
        this.rankCorrect = rankCorrect;
    }

    /**
     * Maps the levels inferred from a matrix onto a topology.
     *
     * @param topology the machine the matrix was measured on (or synthesised for).
     * @param inferred the levels inferred from the matrix alone.
     * @return the mapping.
     * @throws IllegalArgumentException if a CPU of the matrix is not online in the topology.
     */
    public static LevelMapping map(final Topology topology, final InferredLevels inferred)
    {
        return new LevelMapping(inferred, TopologyLevels.levels(topology, inferred.matrix().cpus()));
    }

    /**
     * @return the inferred levels.
     */
    public InferredLevels inferred()
    {
        return inferred;
    }

    /**
     * @param i a row of the matrix.
     * @param j another row.
     * @return the level sysfs gives the pair.
     */
    public Level expected(final int i, final int j)
    {
        return expected[i][j];
    }

    /**
     * @param i a row of the matrix.
     * @param j another row.
     * @return the level the measurement puts the pair at: its group's name.
     */
    public Level measured(final int i, final int j)
    {
        return groupLevel[inferred.group(i, j)];
    }

    /**
     * @param g a group of {@link #inferred()}.
     * @return the level most of its pairs have in sysfs.
     */
    public Level groupLevel(final int g)
    {
        return groupLevel[g];
    }

    /**
     * @return one line per pair where measurement and sysfs disagree.
     */
    public List<String> disagreements()
    {
        return disagreements;
    }

    /**
     * @return what the disagreements suggest: hidden SMT, levels that cost the same, a level measured as two.
     */
    public List<String> notes()
    {
        return notes;
    }

    /**
     * @return the fraction of pairs whose measured level is sysfs's level.
     */
    public double agreement()
    {
        return pairs == 0 ? 1 : (double)agreeing / pairs;
    }

    /**
     * The strict score of the inference: a pair is grouped correctly when its group's rank (0 the fastest) is the
     * rank of its sysfs level among the levels the machine has. Merging two levels, or splitting one, costs every
     * pair above the mistake.
     *
     * @return the fraction of pairs grouped correctly.
     */
    public double fractionGroupedCorrectly()
    {
        return pairs == 0 ? 1 : (double)rankCorrect / pairs;
    }

    @Override
    public String toString()
    {
        return String.format("LevelMapping{groups=%d, agreement=%.4f, groupedCorrectly=%.4f, disagreements=%d}",
            inferred.groupCount(), agreement(), fractionGroupedCorrectly(), disagreements.size());
    }
}
