package dev.ferry;

import dev.ferry.Memories.Memory;
import dev.ferry.idle.AdaptiveIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel takes an idle strategy from its supplier for its mover (MOVER mode), each server it runs and each client
 * it makes. In-process, every one of them announces its parks on a wake signal (the mover and the servers are woken
 * by flushes, the clients by their replies), and only servers let parked spells shrink their pause budget: the
 * mover and the clients take part in every call's round trip. In shared memory nothing can wake a poller of another
 * process, so none has a signal. BLOCKING parks its servers and clients instead.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class IdleWiringTest
{
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void onlyServersShrinkTheirPauseBudgetAfterParks(final Memory memory, final Mode mode)
    {
        final List<AdaptiveIdleStrategy> made = new ArrayList<>();
        final KernelBuilder builder = Memories.builder(memory, mode, tmp.resolve("k")).service(0, (m, l) -> l)
            .idleStrategy(() ->
            {
                final AdaptiveIdleStrategy s = new AdaptiveIdleStrategy();
                made.add(s);
                return s;
            });
        try (Kernel kernel = builder.build().start(); Client client = kernel.newClient())
        {
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8]);
            assertEquals(8, client.call(0, buffer, 0, 8, buffer, 0));
            if (mode == Mode.BLOCKING)
            {
                assertEquals(0, made.size(), "servers and clients park; the kernel only keeps house");
                return;
            }
            final boolean mover = mode == Mode.MOVER;
            assertEquals(mover ? 3 : 2, made.size(), "one strategy for the mover (MOVER mode), one for the server, "
                + "one for the client");
            final AdaptiveIdleStrategy server = made.get(mover ? 1 : 0);
            final AdaptiveIdleStrategy caller = made.get(mover ? 2 : 1);
            if (mover)
            {
                final AdaptiveIdleStrategy agent = made.get(0);
                assertEquals(memory == Memory.IN_PROCESS, agent.wakeSignal() != null,
                    "the mover announces its parks in-process; no wake-up crosses processes");
                assertFalse(agent.shrinkAfterParks(), "the mover's parked spells do not");
            }
            if (memory == Memory.IN_PROCESS)
            {
                assertNotNull(server.wakeSignal(), "the server announces its parks");
                assertTrue(server.shrinkAfterParks(), "the server's parked spells shrink its pause phase");
            }
            else
            {
                assertNull(server.wakeSignal(), "no wake-up crosses processes");
            }
            assertEquals(memory == Memory.IN_PROCESS, caller.wakeSignal() != null,
                "in-process, a client's servers wake it when its replies land; no wake-up crosses processes");
            assertFalse(caller.shrinkAfterParks(), "the client's parked spells do not");
        }
    }

    /**
     * In-process, whoever hands a server work wakes it: a call to a server parked after an idle spell waits one
     * wake-up, not the rest of the server's park (a signalled park asks for 10 ms, counting on that wake-up). In
     * MOVER mode that is the mover's job, for each server it forwarded to.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Mode.class, names = {"BLOCKING", "DIRECT", "MOVER"})
    void aCallAfterAnIdleSpellWakesTheParkedServer(final Mode mode) throws Exception
    {
        try (Kernel kernel = Kernel.builder().mode(mode).service(0, (m, l) -> l).build().start();
             Client client = kernel.newClient())
        {
            final UnsafeBuffer buffer = new UnsafeBuffer(new byte[8]);
            final long[] micros = new long[21];
            for (int i = 0; i < micros.length; i++)
            {
                Thread.sleep(30); // long enough for the server (and the mover) to park
                final long start = System.nanoTime();
                assertEquals(8, client.call(0, buffer, 0, 8, buffer, 0));
                micros[i] = (System.nanoTime() - start) / 1_000;
            }
            final long[] sorted = micros.clone();
            Arrays.sort(sorted);
            // Without the wake-up a call waits out the rest of the server's 10 ms park: nearly all of it here, since
            // each pause lasts three park periods (measured: a median of 10 ms). With it, one wake-up (~0.1 ms).
            assertTrue(sorted[sorted.length / 2] < 5_000, "call times after idle spells (µs): "
                + Arrays.toString(micros));
        }
    }
}
