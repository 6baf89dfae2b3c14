package dev.ferry.affinity.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;

import dev.ferry.affinity.topology.Topology;
import org.junit.jupiter.api.Test;

/**
 * The probes run, briefly, on this machine and return well-formed figures. No timing is asserted: the machine is
 * shared; figures are judged side by side in the CLI.
 */
final class ProbesTest
{
    private static final ProbeOptions TINY = new ProbeOptions(1, 3, 200);

    private static int[] twoCpus()
    {
        final int[] usable = Topology.live().usable().toArray();
        return usable.length >= 2 ? new int[] {usable[0], usable[1]} : new int[] {usable[0], usable[0]};
    }

    @Test
    void latencyMatrixIsSymmetricAndReportsEveryPair()
    {
        final int[] cpus = twoCpus();
        if (cpus[0] == cpus[1])
        {
            return;
        }
        final AtomicInteger calls = new AtomicInteger();
        final LatencyMatrix m = Probes.latencyMatrix(cpus, TINY, (what, done, total) ->
        {
            calls.incrementAndGet();
            assertEquals(1, total);
        });
        assertEquals(1, calls.get());
        assertTrue(m.rttNs(0, 1) > 0);
        assertEquals(m.rttNs(0, 1), m.rttNs(1, 0));
        assertEquals(0, m.rttNs(0, 0));
    }

    @Test
    void twoCpuProbesReturnPositiveMedians()
    {
        final int[] cpus = twoCpus();
        if (cpus[0] == cpus[1])
        {
            return;
        }
        assertTrue(Probes.parkUnpark(cpus[0], cpus[1], TINY).median() > 0);
        assertTrue(Probes.blockingQueue(cpus[0], cpus[1], TINY).median() > 0);
        final Stats one = Probes.ringRoundTrip(cpus[0], cpus[1], 1, TINY);
        final Stats many = Probes.ringRoundTrip(cpus[0], cpus[1], 8, TINY);
        assertEquals(3, one.count());
        assertTrue(one.median() > 0 && many.median() > 0);
        assertThrows(IllegalArgumentException.class, () -> Probes.pingPong(cpus[0], cpus[0], TINY));
        assertThrows(IllegalArgumentException.class, () -> Probes.ringRoundTrip(cpus[0], cpus[1], 0, TINY));
    }

    @Test
    void singleThreadProbesReturnPositiveMedians()
    {
        assertTrue(Probes.onSpinWait(TINY).median() > 0);
        assertTrue(Probes.yieldCost(TINY).median() > 0);
        assertTrue(Probes.parkNanos(1_000, TINY).median() > 0);
        assertTrue(Probes.handler(FerryCalls.checksumHandler(), 64, TINY).median() > 0);
        assertThrows(IllegalArgumentException.class, () -> Probes.parkNanos(0, TINY));
    }

    @Test
    void statsAreMediansAndPercentiles()
    {
        final Stats s = Stats.of(5, 1, 3, 2, 4);
        assertEquals(3, s.median());
        assertEquals(1, s.min());
        assertEquals(1.4, s.p10(), 1e-9);
        assertEquals(4.6, s.p90(), 1e-9);
        assertEquals((4.6 - 1.4) / 3, s.spread(), 1e-9);
        assertThrows(IllegalArgumentException.class, Stats::of);
    }
}
