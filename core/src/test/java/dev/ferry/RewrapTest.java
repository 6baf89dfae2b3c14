package dev.ferry;

import dev.ferry.Memories.Memory;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A handler that points its buffer somewhere else fails its own call, and the slot's buffer is put back, so later
 * calls in the same slot read and write the slot's memory, not the handler's, in both memories and every mode.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RewrapTest
{
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("dev.ferry.Memories#all")
    void rewrappingHandlerFailsItsCallAndTheSlotIsRestored(final Memory memory, final Mode mode)
    {
        final byte[] elsewhere = new byte[64];
        try (Kernel kernel = Memories.builder(memory, mode, tmp.resolve("k")).maxInFlight(2)
            .service(0, (msg, len) ->
            {
                final long v = msg.getLong(0);
                if (v < 0)
                {
                    msg.wrap(elsewhere);
                    msg.putLong(0, 99);
                    if (v == -2)
                    {
                        throw new IllegalArgumentException("threw after re-wrapping");
                    }
                    return 8;
                }
                msg.putLong(0, v * 10);
                return 8;
            })
            .build().start();
             Client client = kernel.newClient())
        {
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            for (int round = 0; round < 4; round++)
            {
                request.putLong(0, -1);
                final CallFailedException ex =
                    assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, request, 0));
                assertEquals(Status.FAILED, ex.status());
                assertInstanceOf(RemoteFailureException.class, ex.getCause());
                assertEquals("handler of service 0 re-wrapped its buffer: write the reply into the buffer it is given",
                    ex.getCause().getMessage());
                assertEquals(-1, request.getLong(0), "a failed call copies no reply");

                request.putLong(0, -2);
                final CallFailedException threw =
                    assertThrows(CallFailedException.class, () -> client.call(0, request, 0, 8, request, 0));
                assertTrue(threw.getCause().getMessage().contains("threw after re-wrapping"),
                    "the handler's own failure: " + threw.getCause());

                // Both slots are used again and again: every reply is in slot memory and right.
                final Map<Long, Long> sent = new HashMap<>();
                for (long v = 1; v <= 4; v++)
                {
                    final long id = client.submit(0, longBytes(v + round * 4));
                    if (id == Client.BACK_PRESSURE)
                    {
                        client.await(c -> check(c, sent, elsewhere), 4);
                        v--;
                        continue;
                    }
                    sent.put(id, v + round * 4);
                }
                while (client.inFlight() > 0)
                {
                    client.await(c -> check(c, sent, elsewhere), 4);
                }
                assertTrue(sent.isEmpty(), "every call completed: " + sent);
            }
        }
    }

    private static void check(final Completion c, final Map<Long, Long> sent, final byte[] elsewhere)
    {
        assertEquals(Status.OK, c.status(), () -> String.valueOf(c.failure()));
        assertNotSame(elsewhere, c.buffer().byteArray(), "the reply is in the slot's memory, not the handler's");
        final Long v = sent.remove(c.id());
        assertTrue(v != null, "call " + c.id() + " completed once");
        assertEquals(v * 10, c.buffer().getLong(0));
    }

    private static byte[] longBytes(final long v)
    {
        final byte[] bytes = new byte[8];
        new UnsafeBuffer(bytes).putLong(0, v);
        return bytes;
    }
}
