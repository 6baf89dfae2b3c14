package dev.ferry.bench.ipc;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ipc-bench's rounds: each figure the median of its rounds, every transport measured once per round. */
class IpcBenchTest
{
    @Test
    void eachFigureIsTheMedianOfItsRounds()
    {
        final IpcBench.Result r = IpcBench.median(List.of(
            new IpcBench.Result("ferry-shm", 32, 700, 900, 3_000_000),
            new IpcBench.Result("ferry-shm", 32, 250, 5_000, 7_000_000),
            new IpcBench.Result("ferry-shm", 32, 690, 950, 2_900_000)));
        assertEquals(new IpcBench.Result("ferry-shm", 32, 690, 950, 3_000_000), r);
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
        }
        assertThrows(IllegalArgumentException.class,
            () -> new IpcBench(1, 1, 1, 1, log::add).run(List.of("ferry-inprocess-direct"), List.of(32), 0));
    }
}
