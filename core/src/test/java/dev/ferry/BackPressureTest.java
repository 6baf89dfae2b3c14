package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A full ring or an exhausted slot pool is an explicit result, never a drop. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BackPressureTest
{
    @ParameterizedTest
    @EnumSource(Mode.class)
    void submitReportsBackPressureWhenEverySlotIsInFlight(final Mode mode)
    {
        try (Kernel kernel = Kernel.builder().mode(mode).clientCapacity(4).service(0, (m, l) -> l).build().start())
        {
            final Client client = kernel.newClient();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            for (int i = 0; i < 4; i++)
            {
                assertEquals(i, client.submit(0, request, 0, 8));
            }
            assertEquals(Client.BACK_PRESSURE, client.submit(0, request, 0, 8));
            assertEquals(1, client.counters().backPressure());
            assertEquals(0, client.freeSlots());
            client.flush();
            final List<Long> ids = new ArrayList<>();
            while (client.inFlight() > 0)
            {
                client.await(c -> ids.add(c.id()), 4);
            }
            assertEquals(List.of(0L, 1L, 2L, 3L), ids);
            assertEquals(4, client.freeSlots());
            assertEquals(4, client.submit(0, request, 0, 8), "ids go on after back-pressure: nothing was consumed");
            client.flush();
            client.await(c -> { }, 1);
        }
    }

    @Test
    void fullServerRingHoldsTheRestOfABatchInOrder() throws Exception
    {
        final CountDownLatch gate = new CountDownLatch(1);
        try (Kernel kernel = Kernel.builder().mode(Mode.DIRECT).clientCapacity(16).serverRingCapacity(2).serverBatch(1)
            .service(0, (m, l) ->
            {
                gate.await();
                return l;
            }).build().start())
        {
            final Client client = kernel.newClient();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            for (int i = 0; i < 10; i++)
            {
                request.putLong(0, i);
                client.submit(0, request, 0, 8);
            }
            final int first = client.flush();
            assertTrue(first < 10, "a 2-entry ring behind a blocked server cannot take all 10; took " + first);
            assertTrue(client.counters().backPressure() > 0);
            gate.countDown();
            final List<Long> values = new ArrayList<>();
            while (client.inFlight() > 0)
            {
                client.await(c -> values.add(c.buffer().getLong(0)), 16);
            }
            assertEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L), values);
        }
    }
}
