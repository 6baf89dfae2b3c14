package dev.ferry;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random bytes written into live rings (the clients' call lanes in DIRECT mode; with a mover, their request and reply
 * lanes and their submission and completion rings) while clients call, in both kinds of memory (a mapped file its
 * server attaches to; an in-process kernel's direct memory and its own server): the mover, the server and the
 * clients survive, every call gets exactly one completion, corrupt records show up in the counters, and once the
 * fuzzing stops calls succeed again. Ring payloads carry no checksum, so a byte flipped inside a payload can reach
 * the caller; only records' structure (lengths, types, ids, positions) is checked.
 */
// In a separate thread, so that a call that never completes fails the test at the timeout instead of spinning on
// (a same-thread timeout only interrupts, and an idle strategy's park ignores that).
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
final class IpcFuzzTest
{
    private static final LaneClient[] CLIENTS = new LaneClient[2];

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"SHARED, DIRECT", "SHARED, MOVER", "IN_PROCESS, DIRECT", "IN_PROCESS, MOVER"})
    void readersSurviveRandomBytesAndNoCallIsLost(final Memories.Memory memory, final Mode mode) throws Exception
    {
        final Path dir = tmp.resolve("ferry-fuzz");
        final boolean shared = memory == Memories.Memory.SHARED;
        final KernelBuilder builder = Kernel.builder().mode(mode).maxClients(3).maxInFlight(16).slotBytes(64)
            .timeouts(Timeouts.of(Duration.ofMillis(200)));
        try (Kernel kernel = (shared ? builder.directory(dir) : builder.service(0, (msg, len) -> len)).build().start();
             Server attached = shared ? Server.builder().directory(dir).service(0, (msg, len) -> len).start() : null;
             Mapping fuzzView = shared ? Mapping.open(dir) : kernel.memory().share())
        {
            final Server server = shared ? attached : kernel.servers().get(0);
            final Supplier<LaneClient> clients = shared
                ? () -> Lanes.attach(dir, new BackoffIdleStrategy()) : () -> (LaneClient)kernel.newClient();
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final long[][] results = new long[2][];
            final List<Thread> callers = new ArrayList<>();
            for (int t = 0; t < 2; t++)
            {
                final int tag = t;
                final Thread caller = new Thread(() ->
                {
                    try
                    {
                        results[tag] = callUntilStopped(clients, tag, stop);
                    }
                    catch (final Throwable ex)
                    {
                        failure.compareAndSet(null, ex);
                    }
                }, "caller-" + t);
                caller.start();
                callers.add(caller);
            }

            final IpcLayout layout = fuzzView.layout;
            final List<long[]> regions = new ArrayList<>();
            for (int c = 0; c < layout.maxClients; c++)
            {
                // DIRECT: the call lanes, replies written in place; MOVER: the reply lanes and the mover's rings too.
                regions.add(new long[] {layout.requestLaneOffset(c, 0), layout.laneBytes});
                if (mode == Mode.MOVER)
                {
                    regions.add(new long[] {layout.replyLaneOffset(c, 0), layout.laneBytes});
                    regions.add(new long[] {layout.sqOffset(c), layout.sqBytes});
                    regions.add(new long[] {layout.cqOffset(c), layout.cqBytes});
                }
            }
            final SplittableRandom random = new SplittableRandom(42);
            final UnsafeBuffer mem = fuzzView.buffer;
            final long fuzzUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
            long writes = 0;
            while (System.nanoTime() - fuzzUntil < 0)
            {
                final long[] region = regions.get(random.nextInt(regions.size()));
                // Aim at where records are: the first few hundred bytes past wherever the ring's head is.
                final long head = mem.getLongVolatile((int)(region[0] + region[1]
                    + LaneDescriptor.HEAD_OFFSET));
                final int at = (int)((head + random.nextInt(512)) & (region[1] - 1));
                final int n = 1 + random.nextInt(8);
                for (int i = 0; i < n && at + i < region[1]; i++)
                {
                    mem.putByte((int)region[0] + at + i, (byte)random.nextInt(256));
                }
                writes++;
                LockSupport.parkNanos(200_000);
            }
            stop.set(true);
            for (final Thread caller : callers)
            {
                caller.join(TimeUnit.SECONDS.toMillis(30));
                assertFalse(caller.isAlive(), () -> caller.getName() + " is stuck: a call never completed: "
                    + CLIENTS[Integer.parseInt(caller.getName().substring(7))].debugState() + "\n"
                    + java.util.Arrays.toString(caller.getStackTrace()));
            }
            assertNull(failure.get(), () -> "a caller failed: " + failure.get());
            assertTrue(kernel.isRunning(), "the kernel's agent died: " + kernel.failure());
            assertTrue(server.isRunning(), "the server stopped: " + server.stopReason());
            long failed = 0;
            long clientCorrupt = 0;
            for (final long[] r : results)
            {
                assertEquals(0, r[2], "calls completed twice or with an unknown id");
                failed += r[1];
                clientCorrupt += r[3];
            }
            final long corrupt = server.corruptRecords() + kernel.corruptRecords() + clientCorrupt;
            assertTrue(writes > 100 && corrupt > 0, "no corruption seen after " + writes + " writes");
            assertTrue(failed > 0, "corruption never became an error completion");
            System.out.println(memory + " " + mode + ": " + writes + " random writes; failed calls " + failed + "; corrupt records: "
                + "server " + server.corruptRecords() + ", kernel " + kernel.corruptRecords() + ", clients "
                + clientCorrupt);

            // Fuzzing over: garbage may still lie in the rings' unwritten parts, and each piece met costs the calls
            // in flight an error completion and the ring a resynchronisation; then calls work again.
            final LaneClient client = clients.get();
            final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
            final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
            int streak = 0;
            int errors = 0;
            for (int i = 0; i < 5000 && streak < 200; i++)
            {
                req.putInt(0, i);
                try
                {
                    assertEquals(8, client.call(0, req, 0, 8, rep, 0));
                    assertEquals(i, rep.getInt(0));
                    streak++;
                }
                catch (final dev.ferry.CallFailedException ex)
                {
                    errors++;
                    streak = 0;
                }
            }
            assertEquals(200, streak, "calls still failing after the fuzzing stopped: " + errors + " errors");
            assertTrue(errors < 50, errors + " errors after the fuzzing stopped");
            client.close();
        }
    }

    /** Returns {ok, failed, duplicates or unknown ids, corrupt records seen by the client}. */
    private static long[] callUntilStopped(
        final Supplier<LaneClient> clients, final int tag, final AtomicBoolean stop)
    {
        final LaneClient client = clients.get();
        CLIENTS[tag] = client;
        final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
        final BitSet seen = new BitSet();
        final long[] r = new long[4];
        final long[] submitted = {0};
        while (!stop.get() || client.inFlight() > 0)
        {
            while (!stop.get() && client.inFlight() < 8)
            {
                req.putInt(0, tag);
                req.putInt(4, (int)submitted[0]);
                if (client.submit(0, req, 0, 8) == LaneClient.BACK_PRESSURE)
                {
                    break;
                }
                submitted[0]++;
            }
            if (client.inFlight() > 0)
            {
                client.await(c ->
                {
                    if (c.id() < 0 || c.id() >= submitted[0] || seen.get((int)c.id()))
                    {
                        r[2]++;
                        return;
                    }
                    seen.set((int)c.id());
                    if (c.status() == Status.OK)
                    {
                        r[0]++;
                    }
                    else
                    {
                        r[1]++;
                    }
                }, 16);
            }
        }
        if (seen.cardinality() != submitted[0])
        {
            r[2] += submitted[0] - seen.cardinality();
        }
        r[3] = client.corruptRecords();
        client.close();
        return r;
    }
}
