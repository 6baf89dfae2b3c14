package dev.ferry.idle;

/**
 * The steps of {@link AdaptiveIdleStrategy}, from the hottest to the coolest: the software stand-in for
 * lowering a core's clock when it is mostly polling.
 *
 * <p>Immutable; safe to share between threads.
 */
public enum IdleLevel
{
    /** Doing work: not idle. */
    WORKING,
    /** Idle, re-polling at once in a tight loop. */
    SPIN,
    /** Idle, re-polling after {@link Thread#onSpinWait()}, which lets an SMT sibling run and saves power. */
    PAUSE,
    /** Idle, giving the CPU to any other runnable thread between polls. */
    YIELD,
    /** Idle, sleeping between polls for periods that grow from the park granularity to a maximum. */
    PARK;

    private static final IdleLevel[] VALUES = values();

    /**
     * @param ordinal an ordinal of this enum.
     * @return the level with that ordinal.
     */
    public static IdleLevel of(final int ordinal)
    {
        return VALUES[ordinal];
    }
}
