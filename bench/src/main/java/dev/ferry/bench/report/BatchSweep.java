package dev.ferry.bench.report;

import dev.ferry.Client;
import dev.ferry.CompletionHandler;
import dev.ferry.Kernel;
import dev.ferry.Mode;
import dev.ferry.Status;
import org.HdrHistogram.Histogram;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Throughput against batch size: the calling thread submits {@code batch} calls to the echo service, publishes them
 * with one {@link Client#flush()}, and awaits all their completions before the next batch. Each batch's round trip
 * is timed too, for the median.
 *
 * <p>Threading: {@link #run} builds, uses and closes its own kernel on the calling thread, which becomes the client.
 */
public final class BatchSweep
{
    private BatchSweep()
    {
    }

    /**
     * @param mode      DIRECT or MOVER.
     * @param batch     calls per flush, from 1 to 256.
     * @param warmNs    how long to warm up first.
     * @param measureNs how long to measure.
     * @return calls per second and ns per call at that batch size.
     */
    public static Report.BatchPoint run(final Mode mode, final int batch, final long warmNs, final long measureNs)
    {
        if (batch < 1 || batch > 256)
        {
            throw new IllegalArgumentException("batch is " + batch + "; it must be from 1 to 256");
        }
        final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
        final long[] failed = {0};
        final CompletionHandler onCompletion = c ->
        {
            if (c.status() != Status.OK)
            {
                failed[0]++;
            }
        };
        try (Kernel kernel = Kernel.builder().mode(mode).service(0, ModeProbe.ECHO).maxInFlight(256).build().start())
        {
            final Client client = kernel.newClient();
            final long warmEnd = System.nanoTime() + warmNs;
            while (System.nanoTime() - warmEnd < 0)
            {
                oneBatch(client, request, batch, onCompletion);
            }
            final Histogram perBatch = new Histogram(3_600_000_000_000L, 3);
            final long start = System.nanoTime();
            final long end = start + measureNs;
            long calls = 0;
            long now = start;
            while (now - end < 0)
            {
                oneBatch(client, request, batch, onCompletion);
                calls += batch;
                final long after = System.nanoTime();
                perBatch.recordValue(after - now);
                now = after;
            }
            client.close();
            if (failed[0] > 0)
            {
                throw new IllegalStateException(mode + " batch " + batch + ": " + failed[0] + " calls failed");
            }
            final double elapsed = now - start;
            return new Report.BatchPoint(mode.name(), batch, calls, calls * 1e9 / elapsed, elapsed / calls,
                perBatch.getValueAtPercentile(50) / (double)batch);
        }
    }

    private static void oneBatch(
        final Client client, final UnsafeBuffer request, final int batch, final CompletionHandler onCompletion)
    {
        for (int i = 0; i < batch; i++)
        {
            request.putLong(0, i);
            if (client.submit(0, request, 0, 8) == Client.BACK_PRESSURE)
            {
                throw new IllegalStateException("back-pressure with " + client.inFlight() + " calls in flight");
            }
        }
        int done = 0;
        while (done < batch)
        {
            done += client.await(onCompletion, batch);
        }
    }
}
