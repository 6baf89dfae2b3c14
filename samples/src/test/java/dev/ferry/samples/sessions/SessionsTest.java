package dev.ferry.samples.sessions;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(90)
class SessionsTest
{
    @Test
    void rampsEachApproachAndStopsThePlatformThreadsAtTheirCap()
    {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final Sessions.Config config = new Sessions.Config(10, 100, 3, 8, 1, 50, 10_000, 1024, 10, 40, 300);
        final Map<String, List<Sessions.Step>> results =
            Sessions.run(config, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        final String out = bytes.toString(StandardCharsets.UTF_8);

        final List<Sessions.Step> ferry = results.get("ferry");
        assertEquals(List.of(10, 30, 100), ferry.stream().map(Sessions.Step::sessions).toList(), out);
        for (final Sessions.Step s : ferry)
        {
            assertNull(s.gaveOut(), out);
            assertEquals((long)s.sessions() * config.perSessionAt(s.sessions()), s.replies(), out);
            assertEquals(0, s.wrong(), out);
            assertTrue(s.p50Us() > 0 && s.p99Us() >= s.p50Us(), out);
        }

        final List<Sessions.Step> platform = results.get("platform");
        assertEquals(3, platform.size(), out);
        assertEquals(30 * 10L, platform.get(1).replies(), out);
        assertEquals(0, platform.get(1).wrong(), out);
        assertNotNull(platform.get(2).gaveOut(), out);
        assertTrue(platform.get(2).gaveOut().contains("thread cap 50"), out);
        assertTrue(out.contains("platform thread per session:") && out.contains("gave out at N=100"), out);

        if (Runtime.version().feature() >= 21)
        {
            final List<Sessions.Step> virtual = results.get("virtual");
            assertNotNull(virtual, out);
            assertEquals(100 * 3L, virtual.get(virtual.size() - 1).replies(), out);
        }
        else
        {
            assertTrue(out.contains("virtual threads: not measured"), out);
        }
    }

    @Test
    void smallStepsGiveEachSessionMoreRequests()
    {
        final Sessions.Config config = new Sessions.Config(10, 100, 3, 8, 1, 50, 10_000, 1024, 10, 40, 300);
        assertEquals(30, config.perSessionAt(10));
        assertEquals(10, config.perSessionAt(30));
        assertEquals(3, config.perSessionAt(100));
    }

    @Test
    void rampsByThreesAndTens()
    {
        assertEquals(List.of(100, 300, 1000, 3000, 10_000, 30_000, 100_000), Sessions.steps(100, 100_000));
        assertEquals(List.of(50, 100, 250), Sessions.steps(50, 250));
    }
}
