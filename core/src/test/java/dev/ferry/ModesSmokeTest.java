package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** Every mode of an in-process kernel answers synchronous and batched calls, in order, with the handler's reply. */
class ModesSmokeTest
{
    @ParameterizedTest
    @EnumSource(Mode.class)
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void echoesInEveryMode(final Mode mode)
    {
        try (Kernel kernel = Kernel.builder().mode(mode).service(0, (m, l) ->
        {
            m.putInt(0, m.getInt(0) + 1);
            return l;
        }).build().start(); Client client = kernel.newClient())
        {
            final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            final UnsafeBuffer reply = new UnsafeBuffer(new byte[64]);
            for (int i = 0; i < 1000; i++)
            {
                request.putInt(0, i);
                assertEquals(8, client.call(0, request, 0, 8, reply, 0));
                assertEquals(i + 1, reply.getInt(0));
            }
            final List<Integer> seen = new ArrayList<>();
            int next = 0;
            while (seen.size() < 5000)
            {
                while (next < 5000)
                {
                    request.putInt(0, next);
                    if (client.submit(0, request, 0, 8) == Client.BACK_PRESSURE)
                    {
                        break;
                    }
                    next++;
                }
                client.await(c ->
                {
                    assertEquals(Status.OK, c.status(), () -> String.valueOf(c.failure()));
                    seen.add(c.buffer().getInt(0));
                }, 64);
            }
            for (int i = 0; i < seen.size(); i++)
            {
                assertEquals(i + 1, seen.get(i));
            }
            assertEquals(0, client.inFlight());
            assertNotEquals(null, kernel.agentThreads());
        }
    }
}
