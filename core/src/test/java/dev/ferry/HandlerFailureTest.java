package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A handler that throws fails that call alone, with the throwable in the completion; the server keeps serving, in
 * every mode and through every way of calling.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HandlerFailureTest
{
    static final IllegalArgumentException BOOM = new IllegalArgumentException("odd request refused");

    private static Kernel kernel(final Mode mode)
    {
        return Kernel.builder()
            .mode(mode)
            .service(0, (msg, len) ->
            {
                final long v = msg.getLong(0);
                if (v == -1)
                {
                    return msg.capacity() + 1; // a reply that cannot fit
                }
                if ((v & 1) == 1)
                {
                    throw BOOM;
                }
                msg.putLong(0, v * 10);
                return 8;
            })
            .build()
            .start();
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void failingCallsFailAloneAndTheServerGoesOn(final Mode mode)
    {
        try (Kernel kernel = kernel(mode))
        {
            final Client client = kernel.newClient();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            for (long v = 0; v < 20; v++)
            {
                request.putLong(0, v);
                assertEquals(v, client.submit(0, request, 0, 8));
            }
            request.putLong(0, -1);
            client.submit(0, request, 0, 8);
            client.flush();
            final List<String> outcomes = new ArrayList<>();
            while (client.inFlight() > 0)
            {
                client.await(c ->
                {
                    if (c.id() == 20)
                    {
                        assertEquals(Status.FAILED, c.status());
                        assertInstanceOf(IllegalStateException.class, c.failure());
                        assertTrue(c.failure().getMessage().contains("reply length"), c.failure().getMessage());
                        outcomes.add("bad-length");
                    }
                    else if ((c.id() & 1) == 1)
                    {
                        assertEquals(Status.FAILED, c.status());
                        assertSame(BOOM, c.failure());
                        assertEquals(0, c.length());
                        outcomes.add("failed");
                    }
                    else
                    {
                        assertEquals(Status.OK, c.status());
                        assertNull(c.failure());
                        assertEquals(c.id() * 10, c.buffer().getLong(0));
                        outcomes.add("ok");
                    }
                }, 8);
            }
            assertEquals(21, outcomes.size());
            assertEquals(10, outcomes.stream().filter("ok"::equals).count());
            assertEquals(10, outcomes.stream().filter("failed"::equals).count());
            assertEquals(1, outcomes.stream().filter("bad-length"::equals).count());
        }
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void syncAndFutureCallsReportTheHandlersFailure(final Mode mode)
    {
        try (Kernel kernel = kernel(mode))
        {
            final Client client = kernel.newClient();
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            final UnsafeBuffer reply = new UnsafeBuffer(new byte[8]);
            request.putLong(0, 3);
            final CallFailedException ex =
                assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, reply, 0));
            assertSame(BOOM, ex.getCause());
            assertEquals(Status.FAILED, ex.status());

            request.putLong(0, 4);
            assertEquals(8, client.call(0, request, 0, 8, reply, 0));
            assertEquals(40, reply.getLong(0));

            final byte[] odd = new byte[8];
            odd[0] = 1; // little-endian 1
            final CompletableFuture<Reply> failing = client.callAsync(0, odd);
            final CompletionException joined = assertThrows(CompletionException.class, failing::join);
            assertInstanceOf(CallFailedException.class, joined.getCause());
            assertSame(BOOM, joined.getCause().getCause());

            final byte[] even = new byte[8];
            even[0] = 2;
            final Reply ok = client.callAsync(0, even).join();
            assertEquals(20, new UnsafeBuffer(ok.payload()).getLong(0));
        }
    }
}
