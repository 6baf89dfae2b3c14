package dev.ferry.affinity.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Telling the machine's states apart from probes before and after a measurement. */
final class MachineStateTest
{
    @Test
    void aMeasurementBetweenTwoProbesOfOneStateTakesTheLarger()
    {
        assertEquals(620, MachineState.across(600, 620));
        assertEquals(120, MachineState.across(120, 100), "within 20% of the smaller");
    }

    @Test
    void probesThatDisagreeMeanTheStateChangedDuringTheMeasurement()
    {
        assertEquals(MachineState.CHANGED, MachineState.across(100, 500));
        assertEquals(MachineState.CHANGED, MachineState.across(500, 100));
        assertEquals(MachineState.CHANGED, MachineState.across(MachineState.CHANGED, 500));
    }

    @Test
    void withoutProbesThereIsNoState()
    {
        assertEquals(MachineState.NOT_PROBED, MachineState.across(MachineState.NOT_PROBED, MachineState.NOT_PROBED));
        assertEquals(MachineState.NOT_PROBED, MachineState.across(MachineState.NOT_PROBED, 500));
        assertFalse(MachineState.same(MachineState.NOT_PROBED, MachineState.NOT_PROBED));
        assertFalse(MachineState.same(MachineState.CHANGED, 500));
    }

    @Test
    void sameMeansWithinTwentyPercentOfTheSmaller()
    {
        assertTrue(MachineState.same(500, 600));
        assertFalse(MachineState.same(500, 601));
        assertTrue(MachineState.same(600, 500));
    }

    @Test
    void aProbeOfThisMachineIsPositiveWhereTwoCpusCanBePinned()
    {
        final long probe = MachineState.probe();
        assertTrue(probe > 0 || probe == MachineState.NOT_PROBED, "probe " + probe);
        if (dev.ferry.affinity.pin.Pinning.isAvailable()
            && dev.ferry.affinity.pin.Pinning.currentAffinity().size() >= 2)
        {
            assertTrue(probe > 0, "two CPUs to pin to, yet no probe");
        }
    }
}
