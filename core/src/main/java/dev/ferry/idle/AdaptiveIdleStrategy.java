package dev.ferry.idle;

import org.agrona.concurrent.IdleStrategy;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * Ferry's adaptive throttling: an idle poller steps down from {@link IdleLevel#SPIN} through
 * {@link IdleLevel#PAUSE} and {@link IdleLevel#YIELD} to {@link IdleLevel#PARK} with periods that double from the
 * machine's real park granularity up to a maximum; the first poll that finds work puts it back to
 * {@link IdleLevel#WORKING}. It is the software stand-in for throttling the clock of a core that is mostly polling.
 *
 * <p>The steps come from an {@link IdleCalibration}: {@value #DEFAULT_SPINS} re-polls, then a pause phase of at
 * most an eighth of a real park, then {@value #DEFAULT_YIELDS} yields, then parks whose real periods double from the
 * park granularity up to {@link IdleCalibration#defaultMaxParkNs()} (eight park granularities): a short pause phase,
 * since on a machine with fewer cores than runnable threads a pausing poller holds a CPU the thread it waits for may
 * need, and a longest park that bounds how long a message waits for a poller no producer wakes.
 *
 * <p>Around these steps, a few adaptations make the strategy cheaper than its steps suggest: the pause budget grows
 * when spells end while pausing and shrinks when yields ran other threads or spells outlast the longest park; yields
 * thin out while they find the CPU free; with a {@link WakeSignal} every park asks for {@link #SIGNALLED_PARK_NS} and
 * a server's spells that end parked shrink its pause budget; parks ask for each period minus the timer slack.
 * docs/idle-strategy.md states each rule, why it is there, and how the defaults were tuned (ferry-bench report's
 * idle sweep on a 2-vCPU KVM guest).
 *
 * <p>It tracks its duty cycle: the time spent at each idle level (clock reads only from the pause phase on) and the
 * number of idle calls at each level.
 *
 * <p>Threading: {@link #idle(int)}, {@link #idle()} and {@link #reset()} belong to the one polling thread that
 * owns the instance, as with every Agrona {@link IdleStrategy}. {@link #level()}, {@link #nanosAt(IdleLevel)},
 * {@link #callsAt(IdleLevel)} and {@link #dutyCycle()} may be read from any thread while it runs.
 */
public final class AdaptiveIdleStrategy implements IdleStrategy
{
    /**
     * What every park asks for when producers wake the poller ({@link #wakeSignal(WakeSignal)}), in ns, unless the
     * longest park is longer: only a safety net, since the signal's handshake loses no wake-up. A timer that may
     * fire before the next scheduler tick is expensive on a virtual machine even when it never fires: on a KVM guest
     * a thread parked with a 400 µs timeout and woken by {@code unpark} burned 18-19 µs of CPU per wake-up, against
     * 5.3-5.9 µs parked without a timeout or with one of 10 ms or more.
     */
    public static final long SIGNALLED_PARK_NS = 10_000_000L;

    /** Re-polls before pausing, in the calibrated defaults. */
    public static final int DEFAULT_SPINS = 20;
    /** Yields before parking, in the calibrated defaults. */
    public static final int DEFAULT_YIELDS = 4;

    /** At most every 64th call of the pause phase yields instead of pausing: see {@link #idle()}. */
    private static final int PAUSES_PER_YIELD_MASK = 63;
    /** At least every 1024th call of the pause phase yields, when yields find no one else wanting the CPU. */
    private static final int MAX_PAUSES_PER_YIELD_MASK = 1023;
    /** While yields find the CPU free, only every 16th spell yields (once) before parking: see {@link #yieldsIn}. */
    private static final int SPELLS_PER_YIELD_PROBE = 16;

    private static final VarHandle LEVEL;
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

    static
    {
        try
        {
            LEVEL = MethodHandles.lookup().findVarHandle(AdaptiveIdleStrategy.class, "level", int.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private static final int WORKING = IdleLevel.WORKING.ordinal();
    private static final int SPIN = IdleLevel.SPIN.ordinal();
    private static final int PAUSE = IdleLevel.PAUSE.ordinal();
    private static final int YIELD = IdleLevel.YIELD.ordinal();
    private static final int PARK = IdleLevel.PARK.ordinal();

    private final int maxSpins;
    private final int maxPauses;
    private final int maxYields;
    private final long minParkNs;
    private final long maxParkNs;
    private final double spinNs;
    private final long parkSlackNs;
    private final int minPauses;
    private final int yieldFloorPauses;
    private final long contendedYieldNs;
    private final long createdNs = System.nanoTime();

    // Owned by the idling thread; others read them through the VarHandles.
    private int level = WORKING;
    private int count;
    private int spells;
    private long parkNs;
    private int pauseBudget;
    private int pausesPerYieldMask = PAUSES_PER_YIELD_MASK;
    private long firstParkNs;
    private WakeSignal wakeSignal;
    private boolean shrinkAfterParks;
    private long phaseStartNs;
    private long spellStartNs;
    private final long[] nanos = new long[IdleLevel.values().length];
    private final long[] calls = new long[IdleLevel.values().length];

    /**
     * An adaptive strategy calibrated for this machine with {@link IdleCalibration#machine()}, parking at most
     * {@link IdleCalibration#defaultMaxParkNs()} at a time.
     */
    public AdaptiveIdleStrategy()
    {
        this(IdleCalibration.machine());
    }

    private AdaptiveIdleStrategy(final IdleCalibration calibration)
    {
        this(calibration, calibration.defaultMaxParkNs());
    }

    /**
     * An adaptive strategy whose steps follow a calibration.
     *
     * @param calibration what idling costs on the target machine.
     * @param maxParkNs   the longest single park, at least the calibration's park granularity: the worst
     *                    latency this strategy adds to a message that arrives while it sleeps.
     */
    public AdaptiveIdleStrategy(final IdleCalibration calibration, final long maxParkNs)
    {
        this(
            DEFAULT_SPINS,
            (int)Math.max(16, Math.min(1_000_000, calibration.parkGranularityNs() / 8 / calibration.pauseNs())),
            DEFAULT_YIELDS,
            calibration.parkGranularityNs(),
            maxParkNs,
            calibration.spinNs(),
            calibration.parkGranularityNs() - 1_000L,
            (long)(2 * calibration.yieldNs()));
    }

    /**
     * An adaptive strategy with explicit steps.
     *
     * @param maxSpins  idle calls that re-poll at once before pausing; at least 0.
     * @param maxPauses the most idle calls that pause once each before yielding (the pause budget adapts between a
     *                  thirty-second of it and all of it); at least 0.
     * @param maxYields idle calls that yield once each before parking; at least 0.
     * @param minParkNs the first park period; positive.
     * @param maxParkNs the longest park period; at least {@code minParkNs}.
     * @param spinNs    the estimated cost of one idle call in the spin phase, for the time accounting.
     */
    public AdaptiveIdleStrategy(
        final int maxSpins,
        final int maxPauses,
        final int maxYields,
        final long minParkNs,
        final long maxParkNs,
        final double spinNs)
    {
        this(maxSpins, maxPauses, maxYields, minParkNs, maxParkNs, spinNs, 0L, 0L);
    }

    private AdaptiveIdleStrategy(
        final int maxSpins,
        final int maxPauses,
        final int maxYields,
        final long minParkNs,
        final long maxParkNs,
        final double spinNs,
        final long parkSlackNs,
        final long contendedYieldNs)
    {
        if (maxSpins < 0 || maxPauses < 0 || maxYields < 0)
        {
            throw new IllegalArgumentException("maxSpins, maxPauses and maxYields must be 0 or more; got "
                + maxSpins + ", " + maxPauses + ", " + maxYields);
        }
        if (minParkNs <= 0 || maxParkNs < minParkNs)
        {
            throw new IllegalArgumentException("need 0 < minParkNs <= maxParkNs; got minParkNs=" + minParkNs
                + ", maxParkNs=" + maxParkNs + " (maxParkNs must be at least the park granularity)");
        }
        this.maxSpins = maxSpins;
        this.maxPauses = maxPauses;
        this.maxYields = maxYields;
        this.minParkNs = minParkNs;
        this.maxParkNs = maxParkNs;
        this.spinNs = spinNs;
        this.parkNs = minParkNs;
        this.firstParkNs = minParkNs;
        this.contendedYieldNs = contendedYieldNs;
        this.parkSlackNs = Math.max(0L, parkSlackNs);
        this.minPauses = Math.min(maxPauses, Math.max(1, maxPauses / 32));
        this.yieldFloorPauses = Math.min(maxPauses, Math.max(1, maxPauses / 8));
        this.pauseBudget = maxPauses;
    }

    @Override
    public void idle(final int workCount)
    {
        if (workCount > 0)
        {
            reset();
        }
        else
        {
            idle();
        }
    }

    @Override
    public void idle()
    {
        final int level = this.level;
        if (level <= SPIN)
        {
            if (level == WORKING)
            {
                setLevel(SPIN);
                count = 0;
                spells++;
            }
            if (count < maxSpins)
            {
                count++;
                return;
            }
            endSpinPhase();
        }
        if (this.level == PAUSE)
        {
            if (count < pauseBudget)
            {
                if ((++count & pausesPerYieldMask) == 0)
                {
                    // Give the CPU to any thread that waits for it, such as the very thread this poller waits for
                    // when both share a CPU; returns at once when no one else wants it.
                    timedYield();
                }
                else
                {
                    Thread.onSpinWait();
                }
                return;
            }
            enter(PAUSE, YIELD, System.nanoTime());
        }
        if (this.level == YIELD)
        {
            if (count < yieldsIn(spells))
            {
                count++;
                timedYield();
                return;
            }
            enter(YIELD, PARK, System.nanoTime());
        }
        final long parkFor = parkNs;
        final WakeSignal signal = this.wakeSignal;
        if (signal != null)
        {
            signal.sleeping();
            LockSupport.parkNanos(parkFor);
            signal.awake();
        }
        else
        {
            LockSupport.parkNanos(Math.max(1_000L, parkFor - parkSlackNs));
            parkNs = Math.min(maxParkNs, parkFor << 1);
        }
        final long now = System.nanoTime();
        add(PARK, now - phaseStartNs, 1);
        phaseStartNs = now;
    }

    @Override
    public void reset()
    {
        final int level = this.level;
        if (level != WORKING)
        {
            if (level == PAUSE)
            {
                pauseBudget = Math.min(maxPauses, Math.max(1, pauseBudget << 1));
            }
            else if (level == YIELD)
            {
                if (yieldsWereContended())
                {
                    pauseBudget = Math.max(yieldFloorPauses, pauseBudget >> 1);
                }
                else
                {
                    // The yields found the CPU free: nobody needed it, and a longer pause would have caught this work.
                    pauseBudget = Math.min(maxPauses, Math.max(1, pauseBudget << 1));
                }
            }
            else if (level == PARK && System.nanoTime() - spellStartNs > maxParkNs)
            {
                pauseBudget = Math.max(minPauses, pauseBudget >> 1);
            }
            else if (level == PARK && wakeSignal != null && shrinkAfterParks)
            {
                pauseBudget = Math.max(minPauses, pauseBudget - (pauseBudget >> 2));
            }
            if (level == SPIN)
            {
                add(SPIN, (long)(count * spinNs), count);
            }
            else if (level != PARK)
            {
                add(level, System.nanoTime() - phaseStartNs, count);
            }
            setLevel(WORKING);
            count = 0;
            parkNs = firstParkNs;
        }
    }

    /**
     * Yields before parking in the given spell: all {@link #maxYields()} while yields run other threads; while the
     * last yields found nobody else wanting the CPU, one yield (a probe of the CPU) every
     * {@value #SPELLS_PER_YIELD_PROBE}th spell and none in the others: a yield then only costs a system call (over a
     * microsecond on a VM, more than an open-loop server's whole pause phase) and hands nothing over.
     */
    private int yieldsIn(final int spell)
    {
        if (contendedYieldNs > 0 && pausesPerYieldMask == MAX_PAUSES_PER_YIELD_MASK)
        {
            return (spell & (SPELLS_PER_YIELD_PROBE - 1)) == 0 ? Math.min(1, maxYields) : 0;
        }
        return maxYields;
    }

    /**
     * One yield, of the pause phase or the yield phase. A calibrated strategy times it: a yield that came back as
     * fast as an uncontended one found nobody else wanting this CPU, so the next ones come less often (down to one
     * per {@value #MAX_PAUSES_PER_YIELD_MASK} + 1 pauses, and one in the yield phase: on a VM a yield is a system
     * call of over a microsecond, longer than a whole pause phase between yields); one that ran another thread
     * brings them back to one per {@value #PAUSES_PER_YIELD_MASK} + 1 pauses and all of the yield phase's.
     */
    private void timedYield()
    {
        if (contendedYieldNs <= 0)
        {
            Thread.yield();
            return;
        }
        final long start = System.nanoTime();
        Thread.yield();
        if (System.nanoTime() - start > contendedYieldNs)
        {
            pausesPerYieldMask = PAUSES_PER_YIELD_MASK;
        }
        else
        {
            pausesPerYieldMask = Math.min(MAX_PAUSES_PER_YIELD_MASK, (pausesPerYieldMask << 1) | 1);
        }
    }

    /**
     * Whether the yield phase that just ended gave the CPU to other threads: its yields took longer on average than
     * an uncontended yield's calibrated cost allows. Without a calibration every yield phase counts as contended.
     */
    private boolean yieldsWereContended()
    {
        if (contendedYieldNs <= 0)
        {
            return true;
        }
        final int yields = count;
        return yields > 0 && System.nanoTime() - phaseStartNs > yields * contendedYieldNs;
    }

    /**
     * Whether the next {@code idle(0)} parks. A poller that announces its park on a {@link WakeSignal} uses this to
     * announce first and poll once more before the park, so that work published just before the announcement is not
     * slept through. Owning thread only.
     *
     * @return true if the next idle call without work parks.
     */
    public boolean parksNext()
    {
        final int level = this.level;
        if (level == PARK)
        {
            return true;
        }
        // A spell starts on the first idle call after work (WORKING), so that call's spell is the next one.
        final int yields = yieldsIn(level == WORKING ? spells + 1 : spells);
        if (level == YIELD)
        {
            return count >= yields;
        }
        if (yields > 0)
        {
            return false;
        }
        if (level == PAUSE)
        {
            return count >= pauseBudget;
        }
        return (level == WORKING ? 0 : count) >= maxSpins && pauseBudget == 0;
    }

    /** @return the signal this strategy announces its parks on, or null. */
    public WakeSignal wakeSignal()
    {
        return wakeSignal;
    }

    /**
     * Announces this strategy's parks on a signal, so that producers can wake the poller instead of letting a message
     * wait out the park period. Call before the owning thread starts idling.
     *
     * @param signal the poller's wake signal, or null for none.
     * @return this strategy.
     */
    public AdaptiveIdleStrategy wakeSignal(final WakeSignal signal)
    {
        this.wakeSignal = signal;
        this.firstParkNs = signal == null ? minParkNs : Math.max(maxParkNs, SIGNALLED_PARK_NS);
        this.parkNs = firstParkNs;
        return this;
    }

    /**
     * Says whether, with a {@link WakeSignal}, a spell that ends parked takes a quarter off the pause budget (off by
     * default). {@link dev.ferry.Kernel} turns it on for servers, whose work comes from outside and may come tens of
     * microseconds apart: such a server then parks almost at once instead of pausing for nothing. It leaves it off
     * for clients and movers, which take part in every call's round trip: a park there puts a wake-up on the path
     * of the very call being waited for (MOVER mode at batch 1 measured about 20% more CPU per call and a higher
     * p99 when clients shrank their budgets too, and a mover that shrank now and then settled into parking on every
     * batch). Call before the owning thread starts idling.
     *
     * @param shrink whether parked spells shrink the pause budget.
     * @return this strategy.
     */
    public AdaptiveIdleStrategy shrinkAfterParks(final boolean shrink)
    {
        this.shrinkAfterParks = shrink;
        return this;
    }

    /** @return whether parked spells shrink the pause budget; see {@link #shrinkAfterParks(boolean)}. */
    public boolean shrinkAfterParks()
    {
        return shrinkAfterParks;
    }

    @Override
    public String alias()
    {
        return "ferry-adaptive";
    }

    private void endSpinPhase()
    {
        add(SPIN, (long)(count * spinNs), count);
        count = 0;
        phaseStartNs = System.nanoTime();
        spellStartNs = phaseStartNs;
        setLevel(PAUSE);
    }

    private void enter(final int from, final int to, final long now)
    {
        add(from, now - phaseStartNs, count);
        count = 0;
        phaseStartNs = now;
        setLevel(to);
    }

    private void add(final int level, final long nanos, final long calls)
    {
        LONGS.setOpaque(this.nanos, level, (long)LONGS.getOpaque(this.nanos, level) + nanos);
        LONGS.setOpaque(this.calls, level, (long)LONGS.getOpaque(this.calls, level) + calls);
    }

    private void setLevel(final int level)
    {
        LEVEL.setOpaque(this, level);
    }

    /** @return the level the owning thread is at now; readable from any thread. */
    public IdleLevel level()
    {
        return IdleLevel.of((int)LEVEL.getOpaque(this));
    }

    /**
     * Time spent at one idle level so far; the phase in progress is counted when it ends.
     *
     * @param level an idle level; {@link IdleLevel#WORKING} is not tracked here and reads 0.
     * @return nanoseconds spent idling at that level.
     */
    public long nanosAt(final IdleLevel level)
    {
        return (long)LONGS.getOpaque(nanos, level.ordinal());
    }

    /**
     * @param level an idle level.
     * @return idle calls made at that level so far (parks count one each).
     */
    public long callsAt(final IdleLevel level)
    {
        return (long)LONGS.getOpaque(calls, level.ordinal());
    }

    /** @return nanoseconds idled at every level together. */
    public long idleNanos()
    {
        long sum = 0;
        for (final IdleLevel l : IdleLevel.values())
        {
            sum += nanosAt(l);
        }
        return sum;
    }

    /**
     * The fraction of its life the owning thread spent not idling, from creation until now: 1.0 for a poller that
     * always finds work, near 0 for one that mostly sleeps.
     *
     * @return the duty cycle, between 0 and 1.
     */
    public double dutyCycle()
    {
        final long elapsed = System.nanoTime() - createdNs;
        return elapsed <= 0 ? 1.0 : Math.max(0.0, Math.min(1.0, 1.0 - idleNanos() / (double)elapsed));
    }

    /** @return how many idle calls re-poll at once before pausing. */
    public int maxSpins()
    {
        return maxSpins;
    }

    /** @return the most idle calls a pause phase makes before yielding. */
    public int maxPauses()
    {
        return maxPauses;
    }

    /**
     * @return how many idle calls the next pause phase may make, between a thirty-second of {@link #maxPauses()} and
     * all of it; the owning thread's view (another thread may read a stale value).
     */
    public int pauseBudget()
    {
        return pauseBudget;
    }

    /** @return how many idle calls yield before parking. */
    public int maxYields()
    {
        return maxYields;
    }

    /** @return the shortest park period in nanoseconds: the first park of a spell without a wake signal. */
    public long minParkNs()
    {
        return minParkNs;
    }

    /**
     * @return the first park period of a spell in nanoseconds: {@link #minParkNs()}, or with a wake signal the
     * period of every park, {@link #SIGNALLED_PARK_NS} or the longest park if that is longer.
     */
    public long firstParkNs()
    {
        return firstParkNs;
    }

    /** @return pause-phase idle calls per yield now, between 64 and 1024; the owning thread's view. */
    public int pausesPerYield()
    {
        return pausesPerYieldMask + 1;
    }

    /** @return the longest park period in nanoseconds. */
    public long maxParkNs()
    {
        return maxParkNs;
    }

    @Override
    public String toString()
    {
        return "AdaptiveIdleStrategy{spins=" + maxSpins + ", pauses=" + maxPauses + ", yields=" + maxYields
            + ", park=" + minParkNs + ".." + maxParkNs + " ns, level=" + level() + "}";
    }
}
