package dev.ferry;

import dev.ferry.idle.AdaptiveIdleStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel gives every poller of its own an adaptive strategy announcing its parks on a wake signal, and lets
 * parked spells shrink the pause budget only for servers: clients and movers take part in every call's round trip.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class IdleWiringTest
{
    @Test
    void onlyServersShrinkTheirPauseBudgetAfterParks()
    {
        final List<AdaptiveIdleStrategy> made = new ArrayList<>();
        final Kernel.Builder builder = Kernel.builder().mode(Mode.MOVER).service(0, (m, l) -> l).idleStrategy(() ->
        {
            final AdaptiveIdleStrategy s = new AdaptiveIdleStrategy();
            made.add(s);
            return s;
        });
        try (Kernel kernel = builder.build().start())
        {
            assertEquals(2, made.size(), "one strategy for the server, one for the mover");
            kernel.newClient();
            assertEquals(3, made.size(), "and one for the client");
            for (final AdaptiveIdleStrategy s : made)
            {
                assertNotNull(s.wakeSignal(), "every poller announces its parks");
            }
            assertTrue(made.get(0).shrinkAfterParks(), "the server's parked spells shrink its pause phase");
            assertFalse(made.get(1).shrinkAfterParks(), "the mover's do not");
            assertFalse(made.get(2).shrinkAfterParks(), "the client's do not");
        }
    }
}
