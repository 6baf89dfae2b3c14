package dev.ferry.samples.quickstart;

import dev.ferry.Client;
import dev.ferry.Kernel;
import dev.ferry.Mode;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Ferry's quick start, the README's snippet: one service that squares a number, one client, DIRECT mode; one
 * synchronous call, then a batch of ten calls published with one flush.
 *
 * <p>Threading: {@link #main} owns the client; the kernel runs the service on its own server thread.
 */
public final class QuickStart
{
    private QuickStart()
    {
    }

    /**
     * @param args none.
     */
    public static void main(final String[] args)
    {
        try (Kernel kernel = Kernel.builder().mode(Mode.DIRECT)
            .service(0, (msg, len) -> { msg.putLong(0, msg.getLong(0) * msg.getLong(0)); return 8; })
            .build().start())
        {
            Client client = kernel.newClient();
            UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
            UnsafeBuffer reply = new UnsafeBuffer(new byte[8]);

            // One call: submit, publish and wait for the reply.
            request.putLong(0, 7);
            long t0 = System.nanoTime();
            client.call(0, request, 0, 8, reply, 0);
            long callNs = System.nanoTime() - t0;

            // One batch: stage ten calls, publish them with one flush, then take the ten replies.
            t0 = System.nanoTime();
            for (long x = 1; x <= 10; x++)
            {
                request.putLong(0, x);
                client.submit(0, request, 0, 8);
            }
            client.flush();
            long[] sum = {0};
            for (int done = 0; done < 10; )
            {
                done += client.await(completion -> sum[0] += completion.buffer().getLong(0), 10);
            }
            long batchNs = System.nanoTime() - t0;

            System.out.printf("%-22s %-12s %10s%n", "what", "result", "time (us)");
            System.out.printf("%-22s %-12d %10.1f%n", "call: 7 squared", reply.getLong(0), callNs / 1e3);
            System.out.printf("%-22s %-12d %10.1f%n", "batch: sum 1..10 sq.", sum[0], batchNs / 1e3);
            client.close();
        }
    }
}
