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
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A handler that throws, or returns a reply length out of range, fails that call alone with {@link Status#FAILED};
 * the server keeps serving, in both memories, every mode and through every way of calling. INLINE hands over the
 * very throwable; the lane modes a {@link RemoteFailureException} that names the handler's exception and its message.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HandlerFailureTest
{
    static final IllegalArgumentException BOOM = new IllegalArgumentException("odd request refused");

    @TempDir
    Path tmp;

    private Kernel kernel(final Memory memory, final Mode mode)
    {
        return Memories.builder(memory, mode, tmp.resolve("k"))
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

    /** The failure a caller sees of {@link #BOOM}: the throwable itself in INLINE, its text across the lanes. */
    static void assertBoom(final Mode mode, final Throwable failure)
    {
        if (mode == Mode.INLINE)
        {
            assertSame(BOOM, failure);
        }
        else
        {
            assertInstanceOf(RemoteFailureException.class, failure);
            assertEquals("handler of service 0 threw java.lang.IllegalArgumentException: odd request refused",
                failure.getMessage());
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void failingCallsFailAloneAndTheServerGoesOn(final Memory memory, final Mode mode)
    {
        try (Kernel kernel = kernel(memory, mode); Client client = kernel.newClient())
        {
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
                        assertInstanceOf(RemoteFailureException.class, c.failure());
                        assertEquals("handler of service 0 returned reply length 257, outside 0-256",
                            c.failure().getMessage());
                        outcomes.add("bad-length");
                    }
                    else if ((c.id() & 1) == 1)
                    {
                        assertEquals(Status.FAILED, c.status());
                        assertBoom(mode, c.failure());
                        assertEquals(0, c.length());
                        outcomes.add("failed");
                    }
                    else
                    {
                        assertEquals(Status.OK, c.status(), () -> String.valueOf(c.failure()));
                        assertNull(c.failure());
                        assertEquals(8, c.length());
                        assertEquals(c.id() * 10, c.buffer().getLong(0));
                        outcomes.add("ok");
                    }
                }, 8);
            }
            assertEquals(21, outcomes.size());
            assertEquals(10, outcomes.stream().filter("ok"::equals).count());
            assertEquals(10, outcomes.stream().filter("failed"::equals).count());
            assertEquals(1, outcomes.stream().filter("bad-length"::equals).count());
            assertTrue(kernel.failure() == null, () -> "an agent died: " + kernel.failure());
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void syncAndSubmittedCallsReportTheHandlersFailure(final Memory memory, final Mode mode)
    {
        try (Kernel kernel = kernel(memory, mode); Client client = kernel.newClient())
        {
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            final UnsafeBuffer reply = new UnsafeBuffer(new byte[8]);
            request.putLong(0, 3);
            final CallFailedException ex =
                assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, reply, 0));
            assertBoom(mode, ex.getCause());
            assertEquals(Status.FAILED, ex.status());
            assertEquals(0, ex.serviceId());
            assertTrue(ex.getMessage().startsWith("call " + ex.callId() + " to service 0 ended FAILED: "),
                ex.getMessage());
            assertEquals(0, client.inFlight(), "a failed call is not in flight");

            request.putLong(0, 4);
            assertEquals(8, client.call(0, request, 0, 8, reply, 0));
            assertEquals(40, reply.getLong(0));

            final byte[] odd = new byte[8];
            odd[0] = 1; // little-endian 1
            final long failing = client.submit(0, odd);
            final byte[] even = new byte[8];
            even[0] = 2;
            final long succeeding = client.submit(0, even);
            final int[] seen = {0};
            while (client.inFlight() > 0)
            {
                client.await(c ->
                {
                    if (c.id() == failing)
                    {
                        assertEquals(Status.FAILED, c.status());
                        assertBoom(mode, c.failure());
                    }
                    else
                    {
                        assertEquals(succeeding, c.id());
                        assertEquals(Status.OK, c.status(), () -> String.valueOf(c.failure()));
                        assertEquals(20, c.buffer().getLong(0));
                    }
                    seen[0]++;
                }, 2);
            }
            assertEquals(2, seen[0]);
        }
    }
}
