package dev.ferry.samples.placement;

import dev.ferry.affinity.model.ProbeOptions;
import dev.ferry.affinity.topology.Topology;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(120)
class PlacementSampleTest
{
    @Test
    void predictsAndMeasuresEverySeatAndMarksTheModelsBestAndWorst()
    {
        final int usable = Topology.live().usable().size();
        Assumptions.assumeTrue(usable >= 2, "needs two usable CPUs");
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final PlacementSample.Result result =
            PlacementSample.run(4, new ProbeOptions(0, 3, 200), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        final String out = bytes.toString(StandardCharsets.UTF_8);

        final int expectedRows = Math.min(usable, 8) + (usable < 3 ? 1 : 0);
        assertEquals(expectedRows, result.rows().size(), out);
        for (final PlacementSample.Row r : result.rows())
        {
            assertTrue(r.predictedNs() > 0 && r.measuredNs() > 0, out);
            assertTrue(result.advised().predictedNs() <= r.predictedNs(), out);
            assertTrue(result.against().predictedNs() >= r.predictedNs(), out);
        }
        assertEquals("advised", result.advised().advice(), out);
        assertTrue(out.contains("predicted ns") && out.contains("measured ns"), out);
        if (result.advised() != result.against())
        {
            assertEquals("advised against", result.against().advice(), out);
            assertTrue(out.contains("advised seat vs advised against: predicted"), out);
        }
    }
}
