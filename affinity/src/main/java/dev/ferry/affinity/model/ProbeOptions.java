package dev.ferry.affinity.model;

/**
 * How long a probe measures: warm-up samples thrown away, samples kept, and rounds per sample (the probe reports
 * the median over samples of the mean over rounds). Slow probes (wake-ups, parks) scale their rounds down by
 * {@link #slowRounds()}.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class ProbeOptions
{
    private final int warmupSamples;
    private final int samples;
    private final int rounds;

    /**
     * @param warmupSamples samples taken first and discarded (JIT, caches, frequency), at least 0.
     * @param samples       samples kept, at least 1.
     * @param rounds        round trips per sample, at least 1.
     * @throws IllegalArgumentException if a count is out of range.
     */
    public ProbeOptions(final int warmupSamples, final int samples, final int rounds)
    {
        if (warmupSamples < 0 || samples < 1 || rounds < 1)
        {
            throw new IllegalArgumentException("probe options need warm-up >= 0, samples >= 1 and rounds >= 1; got " +
                warmupSamples + ", " + samples + ", " + rounds);
        }
        this.warmupSamples = warmupSamples;
        this.samples = samples;
        this.rounds = rounds;
    }

    /**
     * Many short samples: on a shared machine a sample the scheduler interrupts is an outlier the median drops,
     * where one long sample would average the interruption in.
     *
     * @return 20 warm-up samples, 201 samples of 1,000 rounds each.
     */
    public static ProbeOptions defaults()
    {
        return new ProbeOptions(20, 201, 1_000);
    }

    /**
     * @return 2 warm-up samples, 7 samples of 2,000 rounds: for tests and quick looks.
     */
    public static ProbeOptions quick()
    {
        return new ProbeOptions(2, 7, 2_000);
    }

    /**
     * @return samples discarded first.
     */
    public int warmupSamples()
    {
        return warmupSamples;
    }

    /**
     * @return samples kept.
     */
    public int samples()
    {
        return samples;
    }

    /**
     * @return round trips per sample.
     */
    public int rounds()
    {
        return rounds;
    }

    /**
     * @return rounds per sample for probes costing tens of microseconds a round: a hundredth of {@link #rounds()},
     *         at least 1 (the clock's cost is nothing against a wake-up, and one round per sample lets the median
     *         drop the rounds the scheduler interrupted).
     */
    public int slowRounds()
    {
        return Math.max(1, rounds / 100);
    }

    /**
     * @param rounds round trips per sample.
     * @return these options with that many rounds.
     */
    public ProbeOptions withRounds(final int rounds)
    {
        return new ProbeOptions(warmupSamples, samples, rounds);
    }

    /**
     * @param samples samples kept.
     * @return these options with that many samples.
     */
    public ProbeOptions withSamples(final int samples)
    {
        return new ProbeOptions(warmupSamples, samples, rounds);
    }

    @Override
    public String toString()
    {
        return "ProbeOptions{warmup=" + warmupSamples + ", samples=" + samples + ", rounds=" + rounds + "}";
    }
}
