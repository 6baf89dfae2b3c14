package dev.ferry.idle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The adaptations of {@link AdaptiveIdleStrategy}'s calibrated defaults: the pause budget that follows how idle spells
 * ended, the yields that follow whether anyone else wanted the CPU, parks that ask for less than their period by the
 * timer slack, and signalled parks.
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
        // The first spell's yields found the CPU free, so later spells yield only every 16th (once): go on to the
        // next spell that does, ending every spell that parks.
        while (idle.level() != IdleLevel.YIELD)
        {
            idle.idle();
            if (idle.level() == IdleLevel.PARK)
            {
                idle.idle(1);
            }
        }
        final int before = idle.pauseBudget();
        idle.idle(1);
        assertEquals(2 * before, idle.pauseBudget(), "work found after uncontended yields doubles the budget");

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
        assertEquals(0, pausing.callsAt(IdleLevel.YIELD), "and cut the yield phase: none in this spell");
        for (int spell = 2; spell <= 16; spell++)
        {
            pausing.reset();
            idleUntilParked(pausing);
        }
        assertEquals(1, pausing.callsAt(IdleLevel.YIELD), "one yield in every 16th spell, a probe of the CPU");
    }

    @Test
    void parksNextSaysExactlyWhetherTheNextIdleCallParks()
    {
        // Yields that find the CPU free (any yield under 2 s) leave most spells without a yield phase, so the park
        // can follow the pause phase directly: a poller that announces its park on a wake signal must know.
        final AdaptiveIdleStrategy idle =
            new AdaptiveIdleStrategy(new IdleCalibration(1.0, 1_000.0, 1e9, 1_000_000), 1_000_000);
        int parkedSpells = 0;
        for (int spell = 0; spell < 20; spell++)
        {
            boolean parked = false;
            while (!parked)
            {
                final boolean predicted = idle.parksNext();
                final long parks = idle.callsAt(IdleLevel.PARK);
                idle.idle(0);
                parked = idle.callsAt(IdleLevel.PARK) != parks;
                assertEquals(predicted, parked, "spell " + spell + " at " + idle.level());
            }
            parkedSpells++;
            idle.idle(1);
        }
        assertEquals(20, parkedSpells);
        final AdaptiveIdleStrategy immediate = new AdaptiveIdleStrategy(0, 0, 0, 1_000, 1_000, 1.0);
        assertTrue(immediate.parksNext(), "no spins, pauses or yields: the first idle call parks");
    }

    @Test
    void withAWakeSignalAServersParkedSpellsShrinkThePauseBudgetByAQuarter() throws Exception
    {
        // The longest park is a minute, so every spell ends when the helper wakes the poller, well within it.
        final AdaptiveIdleStrategy idle = new AdaptiveIdleStrategy(0, 64, 0, 1_000, 60_000_000_000L, 1.0);
        final WakeSignal signal = new WakeSignal();
        idle.wakeSignal(signal).shrinkAfterParks(true);
        assertEquals(60_000_000_000L, idle.firstParkNs(), "every park asks for the longest park when that is longer "
            + "than the signalled park period");
        final Thread waker = new Thread(() ->
        {
            while (!Thread.currentThread().isInterrupted())
            {
                if (signal.isSleeping())
                {
                    signal.wake();
                }
                Thread.onSpinWait();
            }
        });
        waker.setDaemon(true);
        waker.start();
        try
        {
            final int[] expected = {48, 36, 27, 21, 16, 12, 9, 7, 6, 5, 4, 3, 3};
            for (final int budget : expected)
            {
                idle.idle(0);
                idleUntilParked(idle);
                idle.reset();
                assertEquals(budget, idle.pauseBudget(), "a woken spell takes a quarter off the budget");
            }
            idle.idle(0);
            idle.idle(0);
            assertEquals(IdleLevel.PAUSE, idle.level());
            idle.idle(1);
            assertEquals(6, idle.pauseBudget(), "a spell that ended while pausing doubles it");

            final AdaptiveIdleStrategy client = new AdaptiveIdleStrategy(0, 64, 0, 1_000, 60_000_000_000L, 1.0);
            client.wakeSignal(signal);
            client.idle(0);
            idleUntilParked(client);
            client.reset();
            assertEquals(64, client.pauseBudget(), "by default (clients, movers) woken spells leave the budget alone");
        }
        finally
        {
            waker.interrupt();
            waker.join(5_000);
        }
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
    void aWakeSignalMakesEveryParkTheSafetyPeriod()
    {
        final AdaptiveIdleStrategy idle =
            new AdaptiveIdleStrategy(new IdleCalibration(1.0, 1_000.0, 1.0, 50_000), 400_000);
        assertEquals(50_000, idle.firstParkNs());
        idle.wakeSignal(new WakeSignal());
        assertEquals(AdaptiveIdleStrategy.SIGNALLED_PARK_NS, idle.firstParkNs(), "a near timer costs CPU on a VM even "
            + "when a producer's wake comes first, so a signalled park asks for a long safety period");
        idle.wakeSignal(null);
        assertEquals(50_000, idle.firstParkNs());
    }
}
