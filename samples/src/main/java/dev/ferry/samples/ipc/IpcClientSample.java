package dev.ferry.samples.ipc;

import dev.ferry.Client;
import dev.ferry.Status;
import dev.ferry.samples.Args;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * {@code ipc-client}: the second terminal of the two-process sample. Attaches to the kernel {@code ipc-server}
 * started, makes one call and prints the reply, times round trips, then submits a batch and polls its completions,
 * through the same {@link Client} interface an in-process kernel's {@link dev.ferry.Kernel#newClient()} gives.
 *
 * <p>Threading: everything runs on the main thread, which owns the client.
 */
public final class IpcClientSample
{
    private IpcClientSample()
    {
    }

    /**
     * @param args {@code --calls N} round trips to time, {@code --batch N} calls in the batch.
     */
    public static void main(final String[] args)
    {
        final Args a = new Args("ipc-client", args);
        final int calls = a.intArg("calls", 100_000, "round trips to time");
        final int batch = a.intArg("batch", 32, "calls submitted and flushed as one batch");
        if (a.helpOrCheck())
        {
            return;
        }
        try (Client client = Client.attach(IpcServerSample.NAME))
        {
            final byte[] hello = ("hello from pid " + ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8);
            final UnsafeBuffer request = new UnsafeBuffer(hello);
            final UnsafeBuffer reply = new UnsafeBuffer(new byte[256]);
            final int n = client.call(0, request, 0, hello.length, reply, 0);
            System.out.println("ipc-client: client " + client.id() + " sent '" + new String(hello,
                StandardCharsets.UTF_8) + "', got '" + reply.getStringWithoutLengthAscii(0, n) + "'");

            final long[] rtt = new long[calls];
            final UnsafeBuffer small = new UnsafeBuffer(new byte[32]);
            for (int i = 0; i < calls; i++)
            {
                final long start = System.nanoTime();
                client.call(0, small, 0, 32, reply, 0);
                rtt[i] = System.nanoTime() - start;
            }
            Arrays.sort(rtt);
            if (calls > 0)
            {
                System.out.printf("ipc-client: %d round trips of 32 B: p50 %d ns, p99 %d ns%n", calls,
                    rtt[calls / 2], rtt[(int)Math.min(calls - 1, (long)calls * 99 / 100)]);
            }

            final int[] ok = new int[1];
            int submitted = 0;
            for (int i = 0; i < batch; i++)
            {
                if (client.submit(0, hello) != Client.BACK_PRESSURE)
                {
                    submitted++;
                }
            }
            client.flush();
            while (client.inFlight() > 0)
            {
                client.await(c ->
                {
                    if (c.status() == Status.OK)
                    {
                        ok[0]++;
                    }
                }, batch);
            }
            System.out.println("ipc-client: batch of " + submitted + " calls flushed at once, " + ok[0]
                + " completed OK");
        }
    }
}
