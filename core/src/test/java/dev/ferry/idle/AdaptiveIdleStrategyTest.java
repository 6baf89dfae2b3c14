package dev.ferry.idle;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The adaptive strategy steps down through its levels, back up on work, and accounts for its time. */
class AdaptiveIdleStrategyTest
{
    @Test
    void stepsThroughEveryLevelThenResets()
    {
        final AdaptiveIdleStrategy idle = new AdaptiveIdleStrategy(2, 3, 2, 100_000, 400_000, 1.0);
        assertEquals(IdleLevel.WORKING, idle.level());
        idle.idle(0);
        assertEquals(IdleLevel.SPIN, idle.level());
        idle.idle(0);
        idle.idle(0); // spins used up: first pause
        assertEquals(IdleLevel.PAUSE, idle.level());
        idle.idle(0);
        idle.idle(0);
        idle.idle(0); // pauses used up: first yield
        assertEquals(IdleLevel.YIELD, idle.level());
        idle.idle(0);
        idle.idle(0); // yields used up: first park
        assertEquals(IdleLevel.PARK, idle.level());
        final long start = System.nanoTime();
        idle.idle(0); // 200 µs
        idle.idle(0); // 400 µs
        idle.idle(0); // 400 µs: capped
        final long parked = System.nanoTime() - start;
        assertTrue(parked >= 1_000_000L, "parked periods double up to the cap: " + parked + " ns");
        assertEquals(4, idle.callsAt(IdleLevel.PARK), "one park per idle call at the park level");
        assertTrue(idle.nanosAt(IdleLevel.PARK) >= 1_100_000L, "park time accounted: " + idle.nanosAt(IdleLevel.PARK));
        assertEquals(2, idle.callsAt(IdleLevel.SPIN));
        assertEquals(3, idle.callsAt(IdleLevel.PAUSE));
        assertEquals(2, idle.callsAt(IdleLevel.YIELD));
        assertTrue(idle.nanosAt(IdleLevel.PAUSE) > 0);

        idle.idle(1);
        assertEquals(IdleLevel.WORKING, idle.level());
        idle.idle(0);
        assertEquals(IdleLevel.SPIN, idle.level(), "work puts it back to the hottest level");
        assertTrue(idle.dutyCycle() >= 0.0 && idle.dutyCycle() < 1.0);
    }

    @Test
    void parkPeriodRestartsFromTheMinimumAfterWork()
    {
        final AdaptiveIdleStrategy idle = new AdaptiveIdleStrategy(0, 0, 0, 50_000, 50_000_000, 1.0);
        for (int i = 0; i < 6; i++)
        {
            idle.idle(0); // 50, 100, 200, 400, 800, 1600 µs
        }
        idle.reset();
        final long start = System.nanoTime();
        idle.idle(0);
        final long took = System.nanoTime() - start;
        assertTrue(took < 20_000_000L, "after work the first park is short again: " + took + " ns");
    }

    @Test
    void calibratedStepsFollowTheMachine()
    {
        final IdleCalibration calibration = new IdleCalibration(1.0, 10.0, 200.0, 70_000);
        final AdaptiveIdleStrategy idle = new AdaptiveIdleStrategy(calibration, 1_000_000);
        assertEquals(70_000, idle.minParkNs(), "the first park is the real park granularity");
        assertEquals(1_000_000, idle.maxParkNs());
        assertTrue(idle.maxPauses() > 0);
        final IdleCalibration measured = IdleCalibration.machine();
        assertTrue(measured.parkGranularityNs() >= 1_000, measured.toString());
        assertTrue(measured.pauseNs() > 0 && measured.yieldNs() > 0, measured.toString());
    }

    @Test
    void rejectsInconsistentSteps()
    {
        assertThrows(IllegalArgumentException.class, () -> new AdaptiveIdleStrategy(-1, 0, 0, 1, 1, 1.0));
        assertThrows(IllegalArgumentException.class, () -> new AdaptiveIdleStrategy(0, 0, 0, 10, 5, 1.0));
        assertThrows(IllegalArgumentException.class, () -> new IdleCalibration(1.0, 1.0, 1.0, 10));
        assertThrows(IllegalArgumentException.class, () -> new IdleCalibration(0.0, 1.0, 1.0, 10_000));
    }
}
