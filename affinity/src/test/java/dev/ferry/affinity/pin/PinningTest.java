package dev.ferry.affinity.pin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;

import dev.ferry.affinity.topology.CpuSet;
import dev.ferry.affinity.topology.Topology;
import dev.ferry.agent.AgentRole;
import net.openhft.affinity.Affinity;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Pinning on the live machine: every usable CPU, CPU 0 included, verified by reading the affinity back.
 * Each pin runs on a fresh thread so the test runner's threads keep their affinity.
 */
final class PinningTest
{
    private Topology live;

    @BeforeEach
    void requireNativeAffinity()
    {
        assumeTrue(Pinning.isAvailable(), () -> "native affinity unavailable here: " + Pinning.unavailableReason());
        live = Topology.live();
    }

    private static void onFreshThread(final Runnable body) throws Exception
    {
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final Thread t = new Thread(() ->
        {
            try
            {
                body.run();
            }
            catch (final Throwable ex)
            {
                failure.set(ex);
            }
        }, "pinning-test");
        t.start();
        t.join(10_000);
        if (failure.get() instanceof Error)
        {
            throw (Error)failure.get();
        }
        if (failure.get() != null)
        {
            throw new AssertionError(failure.get());
        }
    }

    @Test
    void pinsToEachUsableCpuIncludingCpu0AndRestores() throws Exception
    {
        assertTrue(live.usable().contains(0), "this machine lets the process use CPU 0: " + live.usable());
        for (final int cpu : live.usable().toArray())
        {
            onFreshThread(() ->
            {
                final CpuSet before = Pinning.currentAffinity();
                try (Pin pin = Pinning.pinCurrentThread(cpu))
                {
                    assertEquals(CpuSet.of(cpu), CpuSet.of(Affinity.getAffinity()), "affinity read back after pinning to " + cpu);
                    assertEquals(cpu, Affinity.getCpu(), "running on the pinned CPU");
                    assertEquals(before, pin.previous());
                }
                assertEquals(before, CpuSet.of(Affinity.getAffinity()), "previous mask restored");
            });
        }
    }

    @Test
    void refusesACpuOutsideTheAllowedSetNamingIt()
    {
        final int outside = live.present().last() + 1;
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> Pinning.pinCurrentThread(outside));
        assertTrue(ex.getMessage().contains("allowed set is " + live.usable()), ex.getMessage());

        final IllegalArgumentException ex2 = assertThrows(IllegalArgumentException.class,
            () -> Pinning.pinCurrentThread(5, CpuSet.of(0, 1)));
        assertEquals("CPU 5 is not in this process's allowed set 0-1", ex2.getMessage());
    }

    @Test
    void aPinIsReleasedOnlyByItsThread() throws Exception
    {
        final AtomicReference<Pin> pin = new AtomicReference<>();
        onFreshThread(() -> pin.set(Pinning.pinCurrentThread(live.usable().first())));
        assertThrows(IllegalStateException.class, () -> pin.get().close());
    }

    @Test
    void theFactoryPinsEachAgentWhereThePlacementSays() throws Exception
    {
        final int[] usable = live.usable().toArray();
        final int serverCpu = usable[usable.length - 1];
        final int moverCpu = usable[0];
        final PinningThreadFactory factory = new PinningThreadFactory(
            (role, index) -> role == AgentRole.SERVER ? serverCpu : moverCpu, live.usable());
        final Map<String, CpuSet> seen = new ConcurrentHashMap<>();
        final List<Thread> threads = new ArrayList<>();
        threads.add(factory.newThread(AgentRole.SERVER, 0, () -> seen.put("server", CpuSet.of(Affinity.getAffinity()))));
        threads.add(factory.newThread(AgentRole.MOVER, 0, () -> seen.put("mover", CpuSet.of(Affinity.getAffinity()))));
        for (final Thread t : threads)
        {
            assertTrue(t.isDaemon());
            assertEquals(Thread.State.NEW, t.getState(), "the kernel starts the thread");
            t.start();
        }
        for (final Thread t : threads)
        {
            t.join(10_000);
        }
        assertEquals(CpuSet.of(serverCpu), seen.get("server"));
        assertEquals(CpuSet.of(moverCpu), seen.get("mover"));
        assertEquals(Map.of("ferry-server-0@cpu" + serverCpu, serverCpu, "ferry-mover-0@cpu" + moverCpu, moverCpu), factory.pinned());
    }

    @Test
    void theFactoryRefusesAnAgentPlacedOutsideTheAllowedSet()
    {
        final PinningThreadFactory factory = new PinningThreadFactory((role, index) -> 7, CpuSet.of(0, 1));
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
            () -> factory.newThread(AgentRole.SERVER, 0, () -> { }));
        assertEquals("server 0 is placed on CPU 7, which is not in this process's allowed set 0-1", ex.getMessage());
    }
}
