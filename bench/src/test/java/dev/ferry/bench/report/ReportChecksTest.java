package dev.ferry.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * The report's verdicts on made-up results, and its JSON written and read back.
 */
final class ReportChecksTest
{
    private static Report.ModeResult mode(final String name, final long p50)
    {
        return new Report.ModeResult(name, 100, p50, 2 * p50, 3 * p50, 1e9 / p50, 1, 1, 0, 0, 0, 0, 0, 0);
    }

    private static Report.IdlePoint idle(final String s, final double load, final long p99, final double cpu)
    {
        return new Report.IdlePoint(s, load, 1000, 100, p99 / 2, p99, cpu, 0, "unpinned");
    }

    private static Map<String, Boolean> verdicts(final List<Report.Check> checks)
    {
        final java.util.Map<String, Boolean> m = new java.util.HashMap<>();
        checks.forEach(c -> m.put(c.name(), c.passed()));
        return m;
    }

    @Test
    void claimsPassWhenTheRatiosHold()
    {
        final List<Report.Check> checks = ReportRunner.checks(
            List.of(mode("DIRECT", 500), mode("BLOCKING", 30_000)),
            List.of(new Report.BatchPoint("MOVER", 1, 10, 1e6, 1000, 900),
                new Report.BatchPoint("MOVER", 32, 10, 1e7, 300, 150)),
            List.of(idle("busy-spin", 0.01, 20_000, 1.0), idle("ferry-adaptive", 0.01, 300_000, 0.08),
                idle("agrona-backoff", 0.01, 900_000, 0.05), idle("ferry-adaptive", 0.5, 40_000, 0.7),
                idle("agrona-backoff", 0.5, 60_000, 0.6)));
        assertEquals(Map.of("direct-vs-blocking", true, "mover-batching", true, "adaptive-vs-backoff", true,
            "adaptive-low-load-cpu", true), verdicts(checks));
    }

    @Test
    void directAgainstBlockingHoldsOnlyWhenBothRanInOneStateOfTheMachine()
    {
        final List<Report.BatchPoint> none = List.of();
        final List<Report.IdlePoint> noIdle = List.of();
        // DIRECT measured in a fast spell (line round trip 100 ns), BLOCKING in the slow state: 60x, but not a
        // comparison.
        final Report.Check mixed = ReportRunner.checks(List.of(mode("DIRECT", 400).withLineRttNs(100),
            mode("BLOCKING", 24_000).withLineRttNs(600)), none, noIdle).get(0);
        assertFalse(mixed.passed(), mixed.measured());
        assertTrue(mixed.measured().contains("changed speed"), mixed.measured());
        final Report.Check changing = ReportRunner.checks(List.of(mode("DIRECT", 400).withLineRttNs(-1),
            mode("BLOCKING", 24_000).withLineRttNs(600)), none, noIdle).get(0);
        assertFalse(changing.passed(), changing.measured());
        final Report.Check same = ReportRunner.checks(List.of(mode("DIRECT", 400).withLineRttNs(560),
            mode("BLOCKING", 24_000).withLineRttNs(600)), none, noIdle).get(0);
        assertTrue(same.passed(), same.measured());
        assertTrue(same.measured().contains("line round trip 560 ns while DIRECT ran, 600 ns while BLOCKING ran"),
            same.measured());
    }

    @Test
    void claimsFailWhenTheRatiosDoNot()
    {
        final List<Report.Check> checks = ReportRunner.checks(
            List.of(mode("DIRECT", 1000), mode("BLOCKING", 30_000)),
            List.of(new Report.BatchPoint("MOVER", 1, 10, 1e6, 1000, 1000),
                new Report.BatchPoint("MOVER", 32, 10, 2e6, 100, 500)),
            List.of(idle("busy-spin", 0.01, 20_000, 1.0), idle("ferry-adaptive", 0.01, 300_000, 0.2),
                idle("agrona-backoff", 0.01, 900_000, 0.05), idle("ferry-adaptive", 0.5, 40_000, 0.7),
                idle("agrona-backoff", 0.5, 30_000, 0.6)));
        final Map<String, Boolean> v = verdicts(checks);
        assertFalse(v.get("direct-vs-blocking"), "30x is less than 50x");
        assertFalse(v.get("mover-batching"), "2x is less than 5x");
        assertFalse(v.get("adaptive-vs-backoff"), "backoff has lower p99 and CPU at 50%");
        assertFalse(v.get("adaptive-low-load-cpu"), "20% of busy spin's CPU is above 10%");
        assertTrue(checks.stream().filter(c -> c.name().equals("adaptive-vs-backoff")).findFirst().orElseThrow()
            .measured().contains("50%"), "names the load where it was beaten");
    }

    @Test
    void aLoadWhereNoCallCompletedIsLeftOutOfTheComparison()
    {
        final Report.IdlePoint starved = new Report.IdlePoint("agrona-backoff", 0.9, 90_000, 0, 0, 0, 0.1, 0, "unpinned");
        final List<Report.Check> checks = ReportRunner.checks(List.of(), List.of(),
            List.of(idle("ferry-adaptive", 0.01, 300_000, 0.05), idle("agrona-backoff", 0.01, 900_000, 0.1),
                idle("ferry-adaptive", 0.9, 500_000, 0.3), starved));
        final Report.Check check = checks.stream().filter(c -> c.name().equals("adaptive-vs-backoff")).findFirst()
            .orElseThrow();
        assertTrue(check.passed(), "0 calls reads as p99 0, which must not count as a win: " + check);
        assertTrue(check.measured().contains("1 loads"), check.measured());
    }

    @Test
    void jsonRoundTrips()
    {
        final Report r = new Report("m \"quoted\"", 1000, 900, List.of(mode("DIRECT", 500)),
            List.of(new Report.BatchPoint("MOVER", 32, 10, 1.5e7, 66.6, 60)),
            List.of(idle("ferry-adaptive", 0.01, 300_000, 0.08)), new Report.Capacity(10_000, 10_200, 98_039.2),
            List.of(new Report.Check("n", "c", "m", true)));
        @SuppressWarnings("unchecked")
        final Map<String, Object> json = (Map<String, Object>)JsonReader.parse(ReportFiles.json(r));
        assertEquals("m \"quoted\"", json.get("machine"));
        @SuppressWarnings("unchecked")
        final Map<String, Object> batch = ((List<Map<String, Object>>)json.get("batchSweep")).get(0);
        assertEquals(66.6, (Double)batch.get("nsPerCall"), 1e-9);
        assertEquals(32.0, batch.get("batch"));
        @SuppressWarnings("unchecked")
        final Map<String, Object> idle = ((List<Map<String, Object>>)json.get("idle")).get(0);
        assertEquals(0.08, (Double)idle.get("cpuFraction"), 1e-12);
        assertEquals(Boolean.TRUE, ((List<Map<String, Object>>)(Object)json.get("checks")).get(0).get("passed"));
        assertThrows(IllegalArgumentException.class, () -> JsonReader.parse("{\"a\":1,}"));
        assertThrows(IllegalArgumentException.class, () -> JsonReader.parse("[1 2]"));
    }

    @Test
    void anIdlePointIsTheMedianOfItsRunsSoOneStalledRunIsOutvoted()
    {
        final Report.IdlePoint p = ReportRunner.medianOf(List.of(
            new Report.IdlePoint("ferry-adaptive", 0.3, 30_000, 900, 20_000, 90_000, 0.5, 1_000, "unpinned"),
            new Report.IdlePoint("ferry-adaptive", 0.3, 30_000, 900, 30_000, 9_000_000, 0.7, 5_000_000, "unpinned"),
            new Report.IdlePoint("ferry-adaptive", 0.3, 30_000, 800, 25_000, 120_000, 0.6, 2_000, "unpinned")));
        assertEquals(2600, p.calls());
        assertEquals(25_000, p.p50Ns());
        assertEquals(120_000, p.p99Ns());
        assertEquals(0.6, p.cpuFraction(), 1e-12);
        assertEquals(2_000, p.generatorLateP99Ns());
        final Report.IdlePoint starved = ReportRunner.medianOf(List.of(
            new Report.IdlePoint("busy-spin", 0.9, 90_000, 0, 0, 0, 1.0, 0, "unpinned"),
            new Report.IdlePoint("busy-spin", 0.9, 90_000, 0, 0, 0, 1.0, 0, "unpinned"),
            new Report.IdlePoint("busy-spin", 0.9, 90_000, 10, 50_000, 80_000, 1.0, 0, "unpinned")));
        assertEquals(Long.MAX_VALUE, starved.p99Ns(), "runs that completed nothing count as the worst");
    }
}
