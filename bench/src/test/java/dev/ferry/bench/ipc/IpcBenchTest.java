package dev.ferry.bench.ipc;

import dev.ferry.affinity.model.MachineState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ipc-bench's rounds: each figure the median of its rounds, every transport measured once per round. */
class IpcBenchTest
{
    @Test
    void eachFigureIsTheMedianOfItsRounds()
    {
        final IpcBench.Result r = IpcBench.median(List.of(
            result("ferry-shm", 700, 900, 3_000_000, 0),
            result("ferry-shm", 250, 5_000, 7_000_000, 0),
            result("ferry-shm", 690, 950, 2_900_000, 0)), true);
        assertEquals(result("ferry-shm", 690, 950, 3_000_000, 0), r);
    }

    @Test
    void rowsKeepTheRoundsMeasuredInTheRunsUsualStateAndSayWhenTheyHaveNone()
    {
        // Shared memory and UDS measured twice in the slow state (line round trip ~600 ns) and once in a fast spell,
        // TCP always slow, Aeron only in fast spells or while the state changed. Both states cover three rows; the
        // slow one has more probes, so it is the run's state, and Aeron's row cannot be compared with the others.
        final List<IpcBench.Result> rows = IpcBench.summarise(List.of(
            List.of(result("ferry-shm", 700, 900, 3_000_000, 600), result("ferry-shm", 250, 400, 7_000_000, 100),
                result("ferry-shm", 690, 950, 2_900_000, 640)),
            List.of(result("uds", 7_500, 40_000, 350_000, 590), result("uds", 7_400, 41_000, 360_000, 610),
                result("uds", 7_600, 42_000, 340_000, 105)),
            List.of(result("tcp", 11_000, 50_000, 150_000, 600), result("tcp", 11_200, 51_000, 140_000, 620),
                result("tcp", 10_900, 49_000, 160_000, 580)),
            List.of(result("aeron-ipc", 200, 300, 3_000_000, 100), result("aeron-ipc", 210, 320, 3_100_000,
                MachineState.CHANGED), result("aeron-ipc", 205, 310, 3_050_000, 110))));
        final IpcBench.Result shm = rows.get(0);
        assertTrue(shm.sameState());
        assertEquals(695, shm.rttP50Ns(), "the two slow-state rounds' median");
        assertEquals(620, shm.lineRttNs());
        assertTrue(rows.get(1).sameState());
        assertEquals(7_450, rows.get(1).rttP50Ns());
        assertEquals(610, IpcBench.typicalProbe(List.of(List.of(result("x", 1, 1, 1, 600)),
            List.of(result("x", 1, 1, 1, 620)))), 1e-9);
        final IpcBench.Result aeron = rows.get(3);
        assertFalse(aeron.sameState(), "no Aeron round was measured in the run's usual state");
        assertEquals(205, aeron.rttP50Ns(), "then the median of all its rounds");
        assertTrue(aeron.toJson().contains("\"sameState\":false"), aeron.toJson());
        // Nothing probed: medians of all rounds, nothing marked.
        final IpcBench.Result unprobed = IpcBench.summarise(List.of(List.of(result("uds", 1, 2, 3, 0)))).get(0);
        assertTrue(unprobed.sameState());
        assertEquals(MachineState.NOT_PROBED, unprobed.lineRttNs());
    }

    private static IpcBench.Result result(
        final String transport, final long p50, final long p99, final long perSec, final long lineRttNs)
    {
        return new IpcBench.Result(transport, 32, p50, p99, perSec, lineRttNs, true);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void roundsMeasureEveryTransportOncePerRoundAndReportOneResultEach() throws Exception
    {
        final List<String> log = new ArrayList<>();
        final List<IpcBench.Result> results = new IpcBench(1_000, 2_000, 2_000, 8, log::add)
            .run(List.of("ferry-inprocess-direct"), List.of(32, 64), 2);
        assertEquals(2, results.size());
        assertEquals(4, log.size(), "two sizes in each of two rounds: " + log);
        assertTrue(log.get(0).contains("round 1 of 2") && log.get(3).contains("round 2 of 2"), log.toString());
        for (final IpcBench.Result r : results)
        {
            assertTrue(r.rttP50Ns() > 0 && r.rttP99Ns() >= r.rttP50Ns() && r.msgsPerSec() > 0, r.toString());
            assertTrue(r.lineRttNs() != MachineState.NOT_PROBED || !dev.ferry.affinity.pin.Pinning.isAvailable(),
                "the machine was not probed: " + r);
        }
        assertThrows(IllegalArgumentException.class,
            () -> new IpcBench(1, 1, 1, 1, log::add).run(List.of("ferry-inprocess-direct"), List.of(32), 0));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void bareRingsAndSlotsEchoBetweenTwoProcessesAndLeaveNoFileBehind() throws Exception
    {
        final List<IpcBench.Result> results = new IpcBench(1_000, 2_000, 2_000, 8, line -> { })
            .run(IpcBench.EXTRA_TRANSPORTS, List.of(32, 1024), 1);
        assertEquals(6, results.size());
        for (final IpcBench.Result r : results)
        {
            assertTrue(r.rttP50Ns() > 0 && r.rttP99Ns() >= r.rttP50Ns() && r.msgsPerSec() > 0, r.toString());
        }
        final java.io.File shm = new java.io.File("/dev/shm");
        final String[] left = shm.list((dir, name) -> (name.startsWith("ferry-bench-agrona-")
            || name.startsWith("ferry-bench-slots-")) && name.endsWith("-" + ProcessHandle.current().pid()));
        assertTrue(left == null || left.length == 0, "files left in /dev/shm: " + java.util.Arrays.toString(left));
        final IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
            () -> new IpcBench(1, 1, 1, 1, line -> { }).run(List.of("agrona-x"), List.of(32), 1));
        assertTrue(unknown.getMessage().contains("agrona-o2o"), unknown.getMessage());
    }
}
