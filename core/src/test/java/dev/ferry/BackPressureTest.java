package dev.ferry;

import dev.ferry.Memories.Memory;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A client out of slots, or a lane too full to take a whole batch, is an explicit result, never a drop: submit says
 * {@link Client#BACK_PRESSURE}, a flush leaves the rest staged, and every call still completes once, in order, in
 * both memories.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BackPressureTest
{
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void submitReportsBackPressureWhenEverySlotIsInFlight(final Memory memory, final Mode mode)
    {
        try (Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k")).maxInFlight(4)
            .service(0, (m, l) -> l).build().start();
             Client client = kernel.newClient())
        {
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            for (int i = 0; i < 4; i++)
            {
                assertEquals(i, client.submit(0, request, 0, 8));
            }
            assertEquals(Client.BACK_PRESSURE, client.submit(0, request, 0, 8));
            assertEquals(0, client.freeSlots());
            assertEquals(4, client.inFlight());
            assertEquals(4, client.staged(), "the refused call staged nothing");
            client.flush();
            final List<Long> ids = new ArrayList<>();
            while (client.inFlight() > 0)
            {
                client.await(c ->
                {
                    assertEquals(Status.OK, c.status(), () -> String.valueOf(c.failure()));
                    ids.add(c.id());
                }, 4);
            }
            assertEquals(List.of(0L, 1L, 2L, 3L), ids);
            assertEquals(4, client.freeSlots());
            assertEquals(4, client.submit(0, request, 0, 8), "ids go on after back-pressure: nothing was consumed");
            final int[] done = {0};
            assertEquals(1, client.await(c -> done[0]++, 1));
            assertEquals(1, done[0]);
        }
    }

    /**
     * A server held inside its first call, lanes of 1 KiB (eight records of a 64-byte slot) and 20 calls: in the
     * modes where the client writes the lane (BLOCKING, DIRECT) a flush cannot send them all and keeps the rest
     * staged; in MOVER the submission ring takes them and the mover waits for room. Once the server goes on, every
     * call completes once, in submission order.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#threaded")
    void fullLaneHoldsTheRestOfABatchInOrder(final Memory memory, final Mode mode) throws Exception
    {
        final CountDownLatch held = new CountDownLatch(1);
        final CountDownLatch gate = new CountDownLatch(1);
        try (Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k")).maxInFlight(32).slotBytes(64)
            .laneBytes(1024).serverBatch(1)
            .service(0, (m, l) ->
            {
                held.countDown();
                gate.await();
                return l;
            }).build().start();
             Client client = kernel.newClient())
        {
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            for (int i = 0; i < 20; i++)
            {
                request.putLong(0, i);
                assertEquals(i, client.submit(0, request, 0, 8));
            }
            final int first = client.flush();
            assertTrue(held.await(10, TimeUnit.SECONDS), "the server took the first call");
            if (mode == Mode.MOVER)
            {
                assertEquals(20, first, "the submission ring holds every call in flight");
            }
            else
            {
                assertTrue(first > 0 && first < 20, "a 1 KiB lane cannot take 20 calls of 64 bytes; took " + first);
                assertEquals(20 - first, client.staged(), "the rest stay staged");
                assertEquals(0, client.flush(), "nothing more fits while the server is held");
            }
            assertEquals(20, client.inFlight());
            gate.countDown();
            final List<Long> values = new ArrayList<>();
            while (client.inFlight() > 0)
            {
                client.await(c ->
                {
                    assertEquals(Status.OK, c.status(), () -> String.valueOf(c.failure()));
                    assertEquals(c.id(), c.buffer().getLong(0), "the reply carries its own request");
                    values.add(c.buffer().getLong(0));
                }, 16);
            }
            final List<Long> expected = new ArrayList<>();
            for (long i = 0; i < 20; i++)
            {
                expected.add(i);
            }
            assertEquals(expected, values);
            assertEquals(0, client.staged());
        }
    }
}
