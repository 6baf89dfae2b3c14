package dev.ferry.affinity.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import dev.ferry.Mode;
import dev.ferry.affinity.topology.HwlocFixtures;
import dev.ferry.affinity.topology.Topology;
import org.junit.jupiter.api.Test;

/**
 * The cost model's arithmetic on fixed inputs, and what it predicts for fixture machines with published latencies.
 */
final class CostModelTest
{
    /** A machine like this VM: 140 ns line round trip, ring round trips of 300 ns (batch 1) and 1,900 ns (32). */
    static MachineCosts costs()
    {
        return costs(Map.of());
    }

    /** The same machine, with the client's staging measured as given (empty: not measured). */
    static MachineCosts costs(final Map<Integer, Stats> staging)
    {
        return new MachineCosts(
            (a, b) -> a == b ? 0 : 140,
            0, 1, 140,
            Map.of(1, Stats.exactly(300), 32, Stats.exactly(1900)),
            Map.of(1, Stats.exactly(30), 32, Stats.exactly(640)),
            staging,
            Stats.exactly(10),
            Stats.exactly(58_000),
            Stats.exactly(60_000),
            Stats.exactly(11),
            Stats.exactly(400),
            Map.of(1_000L, Stats.exactly(70_000)));
    }

    @Test
    void directIsTwoHopsOfLineTransfersPlusTheHandler()
    {
        final Prediction p = new CostModel(costs()).predict(Mode.DIRECT, ModelPlacement.of(0, 1), 1);
        assertEquals(300 + 11 + 30, p.rttNs(), 1e-9);
        assertEquals(1e9 / 341, p.callsPerSec(), 1e-6);
        assertEquals(3, p.terms().size());
        assertEquals(2 * 300.0 / 140, p.terms().get(0).count(), 1e-9);
        assertEquals(70, p.terms().get(0).unitNs(), 1e-9);
        assertNull(p.caveat());
    }

    @Test
    void batchesBetweenCalibratedSizesAreInterpolated()
    {
        final MachineCosts c = costs();
        assertEquals(300 + (1900 - 300) * 15.0 / 31, c.ringRttNs(16), 1e-9);
        assertEquals(300 + (1900 - 300) * 63.0 / 31, c.ringRttNs(64), 1e-9);
        final Prediction p = new CostModel(c).predict(Mode.DIRECT, ModelPlacement.of(0, 1), 32);
        // A batch pays the first call's local work, then only the handler of each further call.
        assertEquals(1900 + 11 + 30 + 31 * 10, p.rttNs(), 1e-9);
        assertEquals(32 * 1e9 / 2251, p.callsPerSec(), 1e-6);
        assertEquals(640, new CostModel(c).predict(Mode.INLINE, ModelPlacement.of(0, 1), 32).rttNs(), 1e-9);
    }

    @Test
    void aMeasuredStagingPutsEachFurtherCallsSubmitOnTheCriticalPath()
    {
        final MachineCosts c = costs(Map.of(1, Stats.exactly(8), 32, Stats.exactly(256)));
        assertEquals(256, c.stagingNs(32), 1e-9);
        assertEquals(0, costs().stagingNs(32), 1e-9, "not measured: none charged");
        final Prediction p = new CostModel(c).predict(Mode.DIRECT, ModelPlacement.of(0, 1), 32);
        assertEquals(1900 + 11 + 30 + 31 * 8 + 31 * 10, p.rttNs(), 1e-9);
        assertEquals(300 + 11 + 30, new CostModel(c).predict(Mode.DIRECT, ModelPlacement.of(0, 1), 1).rttNs(), 1e-9,
            "a single call's staging is part of its local work already");
    }

    @Test
    void blockingAddsTwoWakeUps()
    {
        final Prediction p = new CostModel(costs()).predict(Mode.BLOCKING, ModelPlacement.of(0, 1), 1);
        assertEquals(58_000 + 300 + 30, p.rttNs(), 1e-9);
    }

    @Test
    void moverOnASharedCpuIsFlagged()
    {
        final CostModel model = new CostModel(costs());
        final Prediction shared = model.predict(Mode.MOVER, ModelPlacement.withMover(0, 1, 1), 1);
        assertNotNull(shared.caveat());
        assertEquals(300 + 2 * 11 + 2 * 400 + 30, shared.rttNs(), 1e-9);
        assertThrows(IllegalArgumentException.class, () -> model.predict(Mode.MOVER, ModelPlacement.of(0, 1), 1));
        assertThrows(IllegalArgumentException.class, () -> model.predict(Mode.DIRECT, ModelPlacement.of(0, 1), 0));
    }

    @Test
    void onATwoSocketXeonTheMoverOnTheServersSiblingSavesTheL3Transfers()
    {
        final Topology xeon = Topology.load(HwlocFixtures.root("16em64t-4s2c2t"));
        final Simulation sim = new Simulation(xeon, PublishedLatencies.SERVER, costs());
        final List<Prediction> p = sim.moverPlacements(1);
        assertEquals(3, p.size(), p.toString());
        final double serverSibling = p.get(0).rttNs();
        final double clientSibling = p.get(1).rttNs();
        final double otherSocket = p.get(2).rttNs();
        final double transfers = 2 * 300.0 / 140;
        final double l3 = PublishedLatencies.SERVER.rttNs(Level.SHARED_L3) / 2;
        final double smt = PublishedLatencies.SERVER.rttNs(Level.SMT_SIBLING) / 2;
        final double remote = PublishedLatencies.SERVER.rttNs(Level.OTHER_PACKAGE) / 2;
        // Either sibling: one leg at SMT distance, one at L3; the other socket: both legs cross sockets.
        assertEquals(serverSibling, clientSibling, 1e-6);
        assertEquals(transfers * (l3 + smt) + 2 * 11 + 30, serverSibling, 1e-6);
        assertEquals(transfers * (2 * remote - l3 - smt), otherSocket - serverSibling, 1e-6);
        assertTrue(sim.describe(p.get(0)).contains("mover-server: SMT sibling"), sim.describe(p.get(0)));
        assertTrue(sim.describe(p.get(2)).contains("mover-server: other package"), sim.describe(p.get(2)));
    }
}
