package dev.ferry;

import dev.ferry.Memories.Memory;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Exactly-once and per-client FIFO, end to end, in both memories and every mode: 4 client threads call 2 services
 * in random batches of 1 to 64 through lanes small enough to push back often (8 calls in flight per client, 1 KiB
 * lanes, small server and mover batches), and every call is accounted for: its reply carries its own request (not
 * another client's), it completes once, and each client's calls to one service are both handled and completed in
 * the order it submitted them.
 */
class ExactlyOnceStressTest
{
    private static final int CLIENTS = 4;
    private static final int SERVICES = 2;

    @TempDir
    Path tmp;

    /** Each service stamps its own handling order into the reply, so clients can check FIFO at the server too. */
    private static Handler stamping(final AtomicLongArray handledCounter, final int service)
    {
        return (MutableDirectBuffer msg, int length) ->
        {
            // request: [clientId:int][seq:long]; reply: request + [handled order:long]
            msg.putLong(12, handledCounter.getAndIncrement(service));
            return 20;
        };
    }

    private static int callsPerClient(final Mode mode)
    {
        // BLOCKING pays two wake-ups per call: fewer calls keep the test short.
        return mode == Mode.BLOCKING ? 2_000 : 4_000;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void everyCallCompletesExactlyOnceInOrder(final Memory memory, final Mode mode) throws Exception
    {
        final AtomicLongArray handled = new AtomicLongArray(SERVICES);
        final KernelBuilder builder = Memories.builder(memory, mode, tmp.resolve("k"))
            .maxInFlight(8)
            .laneBytes(1024)
            .serverBatch(3)
            .moverBatch(5)
            .slotBytes(32);
        for (int s = 0; s < SERVICES; s++)
        {
            builder.service(s, stamping(handled, s));
        }
        final int perClient = callsPerClient(mode);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final long[] backPressure = new long[CLIENTS];
        try (Kernel kernel = builder.build().start())
        {
            final CountDownLatch done = new CountDownLatch(CLIENTS);
            final List<Thread> threads = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++)
            {
                final int clientIndex = c;
                final Thread t = new Thread(() ->
                {
                    try
                    {
                        backPressure[clientIndex] = runClient(kernel, clientIndex, perClient);
                    }
                    catch (final Throwable ex)
                    {
                        failure.compareAndSet(null, ex);
                    }
                    finally
                    {
                        done.countDown();
                    }
                }, "stress-client-" + c);
                threads.add(t);
                t.start();
            }
            assertTrue(done.await(110, TimeUnit.SECONDS), "clients did not finish in time");
            for (final Thread t : threads)
            {
                t.join();
            }
            if (failure.get() != null)
            {
                throw new AssertionError("a client failed", failure.get());
            }
            long totalHandled = 0;
            for (int s = 0; s < SERVICES; s++)
            {
                totalHandled += handled.get(s);
            }
            assertEquals((long)CLIENTS * perClient, totalHandled, "every call handled exactly once");
            assertNull(kernel.failure(), "the kernel's agent died");
            assertEquals(0, kernel.corruptRecords());
            assertEquals(mode == Mode.MOVER ? (long)CLIENTS * perClient : 0, kernel.forwarded());
        }
        long pushedBack = 0;
        for (final long b : backPressure)
        {
            pushedBack += b;
        }
        assertTrue(pushedBack > 0, "the limits are small enough that clients must have met back-pressure");
    }

    /** @return how many times submit reported back-pressure. */
    private static long runClient(final Kernel kernel, final int clientIndex, final int calls)
    {
        final Client client = kernel.newClient();
        final SplittableRandom random = new SplittableRandom(42 + clientIndex);
        final UnsafeBuffer request = new UnsafeBuffer(new byte[12]);
        final int[] serviceOfSeq = new int[calls];
        final boolean[] completed = new boolean[calls];
        final long[] lastCompletedSeq = new long[SERVICES];
        final long[] lastHandledOrder = new long[SERVICES];
        Arrays.fill(lastCompletedSeq, -1);
        Arrays.fill(lastHandledOrder, -1);
        final int[] completedCount = {0};
        final CompletionHandler check = completion ->
        {
            if (completion.status() != Status.OK)
            {
                fail("call " + completion.id() + " ended " + completion.status(), completion.failure());
            }
            final int owner = completion.buffer().getInt(0);
            final long seq = completion.buffer().getLong(4);
            final long order = completion.buffer().getLong(12);
            assertEquals(clientIndex, owner, "reply delivered to the wrong client");
            assertEquals(seq, completion.id(), "reply carries another call's request");
            assertEquals(20, completion.length());
            if (completed[(int)seq])
            {
                fail("call " + seq + " completed twice");
            }
            completed[(int)seq] = true;
            final int service = serviceOfSeq[(int)seq];
            assertEquals(service, completion.serviceId());
            assertTrue(seq > lastCompletedSeq[service], "completions out of submission order for service " + service);
            assertTrue(order > lastHandledOrder[service], "handled out of submission order for service " + service);
            lastCompletedSeq[service] = seq;
            lastHandledOrder[service] = order;
            completedCount[0]++;
        };

        long pushedBack = 0;
        int next = 0;
        while (next < calls)
        {
            final int batch = Math.min(calls - next, 1 + random.nextInt(64));
            int staged = 0;
            while (staged < batch)
            {
                final int service = random.nextInt(SERVICES);
                request.putInt(0, clientIndex);
                request.putLong(4, next);
                final long id = client.submit(service, request, 0, 12);
                if (id == Client.BACK_PRESSURE)
                {
                    pushedBack++;
                    client.await(check, 64);
                    continue;
                }
                assertEquals(next, id, "ids are consecutive per client");
                serviceOfSeq[next] = service;
                next++;
                staged++;
            }
            client.flush();
            client.poll(check, 64);
        }
        while (client.inFlight() > 0)
        {
            client.await(check, 64);
        }
        assertEquals(calls, completedCount[0]);
        for (int i = 0; i < calls; i++)
        {
            assertTrue(completed[i], "call " + i + " never completed");
        }
        assertEquals(0, client.lateReplies());
        assertEquals(0, client.timedOutCalls());
        client.close();
        return pushedBack;
    }
}
