package dev.ferry.affinity.model;

import java.util.concurrent.atomic.AtomicReference;

import dev.ferry.Client;
import dev.ferry.Handler;
import dev.ferry.Kernel;
import dev.ferry.KernelBuilder;
import dev.ferry.Mode;
import dev.ferry.affinity.pin.Pin;
import dev.ferry.affinity.pin.Pinning;
import dev.ferry.affinity.placement.Placement;
import dev.ferry.affinity.placement.PlacementPolicy;
import dev.ferry.affinity.placement.Roles;
import dev.ferry.affinity.topology.Topology;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Measures real Ferry calls, to validate the {@link CostModel}: a kernel in the given mode with one service, its
 * agents pinned where the placement says, and one client on a pinned thread sending batch after batch (submit
 * {@code batch} calls, flush, await all replies).
 *
 * <p>Stateless; call from any thread, one measurement at a time.
 */
public final class FerryCalls
{
    /** Warm-up runs at least this long (and at least the warm-up samples), so the JIT has compiled the path. */
    private static final long WARMUP_NS = 500_000_000L;

    private FerryCalls()
    {
    }

    /**
     * A small handler with fixed work: sums the request's longs and replies with the sum (8 bytes).
     *
     * @return the handler.
     */
    public static Handler checksumHandler()
    {
        return (message, length) ->
        {
            long sum = 0;
            for (int i = 0; i + 8 <= length; i += 8)
            {
                sum = sum * 31 + message.getLong(i);
            }
            message.putLong(0, sum);
            return 8;
        };
    }

    /**
     * @param mode      the call path.
     * @param placement the client's, server's and (MOVER) mover's CPUs.
     * @param batch     calls per batch, at least 1.
     * @param service   the handler.
     * @param length    request bytes, at most 64.
     * @param options   warm-up, samples, and batches per sample ({@link ProbeOptions#rounds()}); few batches per
     *                  sample and many samples let the median drop the samples the scheduler interrupted.
     * @return the round trip of one batch, in ns.
     */
    public static Stats measure(
        final Mode mode,
        final ModelPlacement placement,
        final int batch,
        final Handler service,
        final int length,
        final ProbeOptions options)
    {
        return measure(mode, placement, batch, service, length, options, false);
    }

    /**
     * The client's staging of a batch: INLINE calls as {@link #measure} makes them, timing only the {@code submit}
     * calls of each batch, not its flush or its completions.
     *
     * @param placement the client's CPU (and the server's, unused by INLINE).
     * @param batch     calls per batch, at least 1.
     * @param service   the handler.
     * @param length    request bytes, at most 64.
     * @param options   warm-up, samples, and batches per sample.
     * @return the staging of one batch, in ns.
     */
    public static Stats staging(
        final ModelPlacement placement,
        final int batch,
        final Handler service,
        final int length,
        final ProbeOptions options)
    {
        return measure(Mode.INLINE, placement, batch, service, length, options, true);
    }

    private static Stats measure(
        final Mode mode,
        final ModelPlacement placement,
        final int batch,
        final Handler service,
        final int length,
        final ProbeOptions options,
        final boolean stagingOnly)
    {
        if (mode == Mode.MOVER && !placement.hasMover())
        {
            throw new IllegalArgumentException("MOVER mode needs a mover's CPU: use ModelPlacement.withMover");
        }
        final Topology topology = Topology.live();
        final boolean mover = mode == Mode.MOVER;
        final Placement plan = Placement.plan(topology, Roles.of(1, mover ? 1 : 0, 1),
            PlacementPolicy.defaults().withAvoidCpu0(false).withOversubscribe(true).withExplicitCpus(
                new int[] {placement.server()},
                mover ? new int[] {placement.mover()} : new int[0],
                new int[] {placement.client()}));
        final int capacity = Math.max(64, Integer.highestOneBit(batch * 2 - 1) * 2);
        final KernelBuilder builder = Kernel.builder()
            .mode(mode)
            .service(0, service)
            .maxInFlight(capacity)
            .slotBytes(64);
        if (Pinning.isAvailable())
        {
            builder.threadFactory(plan.threadFactory());
        }
        final AtomicReference<Object> result = new AtomicReference<>();
        try (Kernel kernel = builder.build().start())
        {
            final Thread client = new Thread(() ->
            {
                try (Pin ignored = Pinning.isAvailable() ? Pinning.pinCurrentThread(placement.client(),
                    topology.usable()) : null)
                {
                    result.set(run(kernel, batch, length, options, stagingOnly));
                }
                catch (final Throwable ex)
                {
                    result.set(ex);
                }
            }, "ferry-model-client");
            client.start();
            client.join();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while measuring " + mode, ex);
        }
        final Object r = result.get();
        if (r instanceof Stats)
        {
            return (Stats)r;
        }
        throw new IllegalStateException("measuring " + mode + " " + placement + " batch " + batch + " failed: " + r,
            (Throwable)r);
    }

    /**
     * Runs INLINE and DIRECT calls at batch 1 and 32 for a while and discards the figures, so that the JIT has
     * compiled Ferry's call paths before anything is measured (on a busy machine the compiler threads themselves
     * wait for a CPU, and a path measured first would be measured half-interpreted).
     *
     * @param placement the client's and server's CPUs.
     * @param service   the handler.
     * @param length    request bytes.
     */
    public static void warmUp(final ModelPlacement placement, final Handler service, final int length)
    {
        final ProbeOptions brief = new ProbeOptions(0, 200, 10);
        for (final Mode mode : new Mode[] {Mode.INLINE, Mode.DIRECT})
        {
            for (final int batch : new int[] {1, 32})
            {
                measure(mode, ModelPlacement.of(placement.client(), placement.server()), batch, service, length, brief);
            }
        }
    }

    private static Stats run(
        final Kernel kernel, final int batch, final int length, final ProbeOptions options, final boolean stagingOnly)
    {
        final UnsafeBuffer request = new UnsafeBuffer(new byte[64]);
        final int[] received = new int[1];
        try (Client client = kernel.newClient())
        {
            final long warmupEnd = System.nanoTime() + WARMUP_NS;
            for (int w = 0; w < options.warmupSamples() || System.nanoTime() < warmupEnd; w++)
            {
                sample(client, request, received, batch, length, options.rounds(), stagingOnly);
            }
            final double[] samples = new double[options.samples()];
            for (int s = 0; s < samples.length; s++)
            {
                samples[s] = sample(client, request, received, batch, length, options.rounds(), stagingOnly);
            }
            return Stats.of(samples);
        }
    }

    /**
     * Sends {@code batches} batches one after the other.
     *
     * @param stagingOnly time only the submits of each batch.
     * @return ns per batch.
     */
    private static double sample(final Client client, final UnsafeBuffer request, final int[] received,
        final int batch, final int length, final int batches, final boolean stagingOnly)
    {
        final long start = System.nanoTime();
        long staging = 0;
        for (int b = 0; b < batches; b++)
        {
            final long stageStart = stagingOnly ? System.nanoTime() : 0;
            for (int k = 0; k < batch; k++)
            {
                request.putLong(0, k);
                if (client.submit(0, request, 0, length) == Client.BACK_PRESSURE)
                {
                    throw new IllegalStateException("back-pressure with " + client.inFlight() +
                        " calls in flight: the client's capacity is too small for batch " + batch);
                }
            }
            if (stagingOnly)
            {
                staging += System.nanoTime() - stageStart;
            }
            received[0] = 0;
            while (received[0] < batch)
            {
                client.await(c -> received[0]++, batch);
            }
        }
        return (stagingOnly ? staging : System.nanoTime() - start) / (double)batches;
    }
}
