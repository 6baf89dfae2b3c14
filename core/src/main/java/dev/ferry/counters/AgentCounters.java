package dev.ferry.counters;

import dev.ferry.idle.AdaptiveIdleStrategy;
import dev.ferry.idle.IdleLevel;
import org.agrona.concurrent.IdleStrategy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The counters of one agent (a server, a mover, or a client): calls, batches, empty polls, back-pressure events,
 * completions posted, calls timed out and late replies dropped (clients), and, where the agent idles with an
 * {@link AdaptiveIdleStrategy}, the time spent at each idle level.
 *
 * <p>Threading: single writer. Only the agent's own thread calls the {@code on*} methods (plain reads and
 * opaque writes: no fences on the hot path); any thread may read the getters or take a {@link #snapshot()} while it
 * runs, and sees values that are at most a few updates behind.
 */
public final class AgentCounters
{
    private static final VarHandle CALLS;
    private static final VarHandle BATCHES;
    private static final VarHandle EMPTY_POLLS;
    private static final VarHandle BACK_PRESSURE;
    private static final VarHandle COMPLETIONS;
    private static final VarHandle TIMEOUTS;
    private static final VarHandle LATE_REPLIES;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            CALLS = lookup.findVarHandle(AgentCounters.class, "calls", long.class);
            BATCHES = lookup.findVarHandle(AgentCounters.class, "batches", long.class);
            EMPTY_POLLS = lookup.findVarHandle(AgentCounters.class, "emptyPolls", long.class);
            BACK_PRESSURE = lookup.findVarHandle(AgentCounters.class, "backPressure", long.class);
            COMPLETIONS = lookup.findVarHandle(AgentCounters.class, "completions", long.class);
            TIMEOUTS = lookup.findVarHandle(AgentCounters.class, "timeouts", long.class);
            LATE_REPLIES = lookup.findVarHandle(AgentCounters.class, "lateReplies", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final String name;
    private volatile IdleStrategy idleStrategy;

    @SuppressWarnings("unused")
    private long p01, p02, p03, p04, p05, p06, p07;
    private long calls;
    private long batches;
    private long emptyPolls;
    private long backPressure;
    private long completions;
    private long timeouts;
    private long lateReplies;
    @SuppressWarnings("unused")
    private long p11, p12, p13, p14, p15, p16, p17;

    /**
     * @param name the agent's name, such as {@code server-0}, {@code mover-1} or {@code client-7}.
     */
    public AgentCounters(final String name)
    {
        this.name = name;
    }

    /**
     * Names the idle strategy whose per-level times {@link #snapshot()} reports.
     *
     * @param idleStrategy the strategy the agent idles with.
     */
    public void idleStrategy(final IdleStrategy idleStrategy)
    {
        this.idleStrategy = idleStrategy;
    }

    /**
     * Counts one batch of work.
     *
     * @param callsInBatch calls in the batch, at least 1.
     */
    public void onBatch(final int callsInBatch)
    {
        CALLS.setOpaque(this, calls + callsInBatch);
        BATCHES.setOpaque(this, batches + 1);
    }

    /** Counts one poll that found nothing to do. */
    public void onEmptyPoll()
    {
        EMPTY_POLLS.setOpaque(this, emptyPolls + 1);
    }

    /** Counts one time a full ring or an exhausted slot pool pushed back. */
    public void onBackPressure()
    {
        BACK_PRESSURE.setOpaque(this, backPressure + 1);
    }

    /**
     * Counts completions handed to clients' completion rings.
     *
     * @param n how many.
     */
    public void onCompletions(final int n)
    {
        COMPLETIONS.setOpaque(this, completions + n);
    }

    /** Counts one call that timed out: its deadline passed before its reply arrived. Clients only. */
    public void onTimeout()
    {
        TIMEOUTS.setOpaque(this, timeouts + 1);
    }

    /** Counts one reply that arrived after its call had timed out, and was dropped. Clients only. */
    public void onLateReply()
    {
        LATE_REPLIES.setOpaque(this, lateReplies + 1);
    }

    /**
     * @return the agent's name.
     */
    public String name()
    {
        return name;
    }

    /**
     * @return calls handled, moved or submitted so far.
     */
    public long calls()
    {
        return (long)CALLS.getOpaque(this);
    }

    /**
     * @return batches so far.
     */
    public long batches()
    {
        return (long)BATCHES.getOpaque(this);
    }

    /**
     * @return polls that found no work.
     */
    public long emptyPolls()
    {
        return (long)EMPTY_POLLS.getOpaque(this);
    }

    /**
     * @return back-pressure events: a ring that was full or a client out of free slots.
     */
    public long backPressure()
    {
        return (long)BACK_PRESSURE.getOpaque(this);
    }

    /**
     * @return completions this agent put into clients' completion rings.
     */
    public long completions()
    {
        return (long)COMPLETIONS.getOpaque(this);
    }

    /**
     * @return calls that timed out (clients; 0 for other agents).
     */
    public long timeouts()
    {
        return (long)TIMEOUTS.getOpaque(this);
    }

    /**
     * @return replies that arrived after their call had timed out, dropped (clients; 0 for other agents).
     */
    public long lateReplies()
    {
        return (long)LATE_REPLIES.getOpaque(this);
    }

    /**
     * @return a consistent-enough copy of every counter, for reporting.
     */
    public Snapshot snapshot()
    {
        final long[] idleNanos = new long[IdleLevel.values().length];
        final IdleStrategy idle = idleStrategy;
        if (idle instanceof AdaptiveIdleStrategy)
        {
            for (final IdleLevel level : IdleLevel.values())
            {
                idleNanos[level.ordinal()] = ((AdaptiveIdleStrategy)idle).nanosAt(level);
            }
        }
        return new Snapshot(name, calls(), batches(), emptyPolls(), backPressure(), completions(), timeouts(),
            lateReplies(), idleNanos);
    }

    /**
     * An immutable copy of an agent's counters.
     *
     * @param name         the agent's name.
     * @param calls        calls so far.
     * @param batches      batches so far.
     * @param emptyPolls   polls that found nothing.
     * @param backPressure back-pressure events.
     * @param completions  completions posted to clients.
     * @param timeouts     calls that timed out (clients).
     * @param lateReplies  replies dropped because their call had timed out (clients).
     * @param idleNanos    nanoseconds at each {@link IdleLevel}, indexed by ordinal; zeros when the agent does not
     *                     idle adaptively.
     */
    public record Snapshot(
        String name,
        long calls,
        long batches,
        long emptyPolls,
        long backPressure,
        long completions,
        long timeouts,
        long lateReplies,
        long[] idleNanos)
    {
        /**
         * @return calls per batch, or 0 before the first batch.
         */
        public double meanBatchSize()
        {
            return batches == 0 ? 0.0 : calls / (double)batches;
        }

        /**
         * @param level an idle level.
         * @return nanoseconds spent at it.
         */
        public long idleNanos(final IdleLevel level)
        {
            return idleNanos[level.ordinal()];
        }

        @Override
        public String toString()
        {
            final StringBuilder sb = new StringBuilder(name).append(": calls=").append(calls)
                .append(" batches=").append(batches)
                .append(String.format(" meanBatch=%.2f", meanBatchSize()))
                .append(" emptyPolls=").append(emptyPolls)
                .append(" backPressure=").append(backPressure)
                .append(" completions=").append(completions);
            if (timeouts != 0 || lateReplies != 0)
            {
                sb.append(" timeouts=").append(timeouts).append(" lateReplies=").append(lateReplies);
            }
            for (final IdleLevel level : IdleLevel.values())
            {
                if (idleNanos[level.ordinal()] != 0)
                {
                    sb.append(' ').append(level.name().toLowerCase(java.util.Locale.ROOT)).append("Ns=")
                        .append(idleNanos[level.ordinal()]);
                }
            }
            return sb.toString();
        }
    }
}
