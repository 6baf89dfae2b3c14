package dev.ferry.idle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The two adaptations of {@link AdaptiveIdleStrategy}'s calibrated defaults: the pause budget that follows how idle
 * spells ended, and parks that ask for less than their period by the timer slack.
 */
class AdaptiveIdleTuningTest
{
    /** Idles until the strategy has parked once. */
    private static void idleUntilParked(final AdaptiveIdleStrategy idle)
    {
        final long parks = idle.callsAt(IdleLevel.PARK);
        while (idle.callsAt(IdleLevel.PARK) == parks)
        {
            idle.idle();
        }
    }

    @Test
    void pauseBudgetHalvesAfterSpellsThatParkAndDoublesAfterSpellsEndedByPausing()
    {
        final AdaptiveIdleStrategy idle = new AdaptiveIdleStrategy(0, 64, 0, 1_000, 1_000, 1.0);
        assertEquals(64, idle.pauseBudget(), "starts with the whole budget");
        final int[] expected = {32, 16, 8, 4, 2, 2};
        for (final int budget : expected)
        {
            idle.idle(0);
            idleUntilParked(idle);
            idle.reset();
            assertEquals(budget, idle.pauseBudget(), "a spell that ended parked, after more than the longest park, "
                + "halves it, down to a thirty-second");
        }
        idle.idle(0);
        idle.idle(0);
        assertEquals(IdleLevel.PAUSE, idle.level());
        idle.idle(1);
        assertEquals(4, idle.pauseBudget(), "a spell that ended while pausing doubles it");
        final long pausesBefore = idle.callsAt(IdleLevel.PAUSE);
        idleUntilParked(idle);
        assertEquals(4, idle.callsAt(IdleLevel.PAUSE) - pausesBefore, "the next pause phase uses the new budget");
    }

    @Test
    void pauseBudgetHalvesAfterSpellsThatEndedInTheYieldPhase()
    {
        final AdaptiveIdleStrategy idle = new AdaptiveIdleStrategy(0, 64, 1_000, 1_000_000, 1_000_000, 1.0);
        for (final int budget : new int[] {32, 16, 8, 8})
        {
            while (idle.level() != IdleLevel.YIELD)
            {
                idle.idle();
            }
            idle.idle(1);
            assertEquals(budget, idle.pauseBudget(), "work found right after yielding halves the pause budget, down to "
                + "an eighth");
        }
    }

    @Test
    void calibratedParksAskForThePeriodLessTheTimerSlack()
    {
        // A made-up machine whose parkNanos(1 µs) sleeps 400 ms: the first park must ask for about 1 µs, not 400 ms.
        final long granularity = 400_000_000L;
        final AdaptiveIdleStrategy idle =
            new AdaptiveIdleStrategy(new IdleCalibration(1.0, 1_000_000.0, 1.0, granularity), 2 * granularity);
        assertEquals(granularity, idle.minParkNs(), "the first real park period is the granularity");
        while (idle.level() != IdleLevel.YIELD)
        {
            idle.idle();
        }
        final long start = System.nanoTime();
        idleUntilParked(idle);
        final long took = System.nanoTime() - start;
        assertTrue(took < granularity / 2, "the first park asked for the granularity less the slack, but took "
            + took + " ns");
    }

    @Test
    void yieldsThatFindTheCpuFreeGrowThePauseBudgetAndSpaceOutPauseYields()
    {
        // Any yield shorter than two seconds counts as uncontended on this made-up machine.
        final AdaptiveIdleStrategy idle =
            new AdaptiveIdleStrategy(new IdleCalibration(1.0, 1_000.0, 1e9, 1_000), 1_000);
        assertEquals(16, idle.maxPauses());
        idle.idle(0);
        idleUntilParked(idle);
        idle.reset();
        assertEquals(8, idle.pauseBudget(), "a spell longer than the longest park halves the budget");
        while (idle.level() != IdleLevel.YIELD)
        {
            idle.idle();
        }
        // The call that entered the yield phase made its one yield (uncontended yields leave one).
        idle.idle(1);
        assertEquals(16, idle.pauseBudget(), "work found after uncontended yields doubles the budget");

        final AdaptiveIdleStrategy pausing =
            new AdaptiveIdleStrategy(new IdleCalibration(1.0, 0.01, 1e9, 1_000_000), 1_000_000);
        assertEquals(64, pausing.pausesPerYield());
        for (int i = 0; i < 4_000; i++)
        {
            pausing.idle();
        }
        assertEquals(IdleLevel.PAUSE, pausing.level());
        assertEquals(1024, pausing.pausesPerYield(), "uncontended yields space the pause phase's yields out");
        idleUntilParked(pausing);
        assertEquals(1, pausing.callsAt(IdleLevel.YIELD), "and cut the yield phase to one yield");
    }

    @Test
    void contendedYieldsShrinkThePauseBudgetAndKeepPauseYieldsFrequent()
    {
        // Any yield longer than 1 ns counts as contended.
        final AdaptiveIdleStrategy idle =
            new AdaptiveIdleStrategy(new IdleCalibration(1.0, 0.01, 0.5, 1_000_000), 1_000_000);
        final int max = idle.pauseBudget();
        for (int i = 0; i < 4_000; i++)
        {
            idle.idle();
        }
        assertEquals(IdleLevel.PAUSE, idle.level());
        assertEquals(64, idle.pausesPerYield());
        while (idle.level() != IdleLevel.YIELD)
        {
            idle.idle();
        }
        idle.idle();
        idle.idle(1);
        assertEquals(max / 2, idle.pauseBudget(), "work found after contended yields halves the budget");
        idleUntilParked(idle);
        assertEquals(2 + AdaptiveIdleStrategy.DEFAULT_YIELDS, idle.callsAt(IdleLevel.YIELD),
            "contended yields keep the whole yield phase (2 yields in the first spell, all in the second)");
    }

    @Test
    void aWakeSignalStartsParksAtHalfTheLongest()
    {
        final AdaptiveIdleStrategy idle =
            new AdaptiveIdleStrategy(new IdleCalibration(1.0, 1_000.0, 1.0, 50_000), 400_000);
        assertEquals(50_000, idle.firstParkNs());
        idle.wakeSignal(new WakeSignal());
        assertEquals(200_000, idle.firstParkNs());
        idle.wakeSignal(null);
        assertEquals(50_000, idle.firstParkNs());
    }
}
