package dev.ferry.affinity.model;

import java.util.Map;
import java.util.TreeMap;

import dev.ferry.Handler;
import dev.ferry.Mode;

/**
 * The inputs of the {@link CostModel}, all from probes: line round trips between CPUs, how many line transfers
 * one ring hop costs by batch (calibrated against a line round trip on one CPU pair), Ferry's own per-batch work on
 * one thread (the INLINE path), the handler's own cost, wake-ups, spin-wait, yield and real park durations.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class MachineCosts
{
    /** The local path is fast: time this many batches per sample, so the clock's own cost does not count. */
    private static final int LOCAL_BATCHES_PER_SAMPLE = 100;

    private final LineLatency lines;
    private final int calibrationA;
    private final int calibrationB;
    private final double calibrationLineRttNs;
    private final TreeMap<Integer, Stats> ringRtt;
    private final TreeMap<Integer, Stats> localBatch;
    private final TreeMap<Integer, Stats> staging;
    private final Stats handler;
    private final Stats wakeRtt;
    private final Stats queueRtt;
    private final Stats spinWait;
    private final Stats yield;
    private final TreeMap<Long, Stats> park;

    /**
     * Costs from figures already known (e.g. a previous run, or a test).
     *
     * @param lines                line round trips between CPUs.
     * @param calibrationA         one CPU of the pair the ring was measured on.
     * @param calibrationB         the other.
     * @param calibrationLineRttNs the line round trip on that pair.
     * @param ringRtt              ring round trip of a batch on that pair, by batch (at least one).
     * @param localBatch           a whole batch through Ferry's INLINE path on one thread, by batch (at least one).
     * @param staging              the client's staging of a whole batch (its submits, before the flush), by batch;
     *                             empty when not measured (the model then charges none).
     * @param handler              the handler's cost.
     * @param wakeRtt              park/unpark round trip.
     * @param queueRtt             blocking-queue round trip.
     * @param spinWait             one onSpinWait.
     * @param yield                one yield.
     * @param park                 real parkNanos durations by requested ns.
     */
    public MachineCosts(
        final LineLatency lines,
        final int calibrationA,
        final int calibrationB,
        final double calibrationLineRttNs,
        final Map<Integer, Stats> ringRtt,
        final Map<Integer, Stats> localBatch,
        final Map<Integer, Stats> staging,
        final Stats handler,
        final Stats wakeRtt,
        final Stats queueRtt,
        final Stats spinWait,
        final Stats yield,
        final Map<Long, Stats> park)
    {
        this.lines = lines;
        this.staging = new TreeMap<>(staging);
        this.calibrationA = calibrationA;
        this.calibrationB = calibrationB;
        this.calibrationLineRttNs = calibrationLineRttNs;
        this.ringRtt = new TreeMap<>(ringRtt);
        this.localBatch = new TreeMap<>(localBatch);
        if (this.ringRtt.isEmpty() || this.localBatch.isEmpty())
        {
            throw new IllegalArgumentException("calibrate ring round trips and the local path at one batch size at least");
        }
        this.handler = handler;
        this.wakeRtt = wakeRtt;
        this.queueRtt = queueRtt;
        this.spinWait = spinWait;
        this.yield = yield;
        this.park = new TreeMap<>(park);
    }

    /**
     * Runs every probe the model needs, between the client's and the server's CPU.
     *
     * @param client   the client's CPU.
     * @param server   the server's CPU.
     * @param batches  batch sizes to calibrate ring hops at (others are interpolated), e.g. {1, 32}.
     * @param service  the handler calls will run.
     * @param length   the request length.
     * @param options  warm-up, samples, rounds.
     * @param progress told after each probe.
     * @return the costs.
     */
    public static MachineCosts measure(
        final int client,
        final int server,
        final int[] batches,
        final Handler service,
        final int length,
        final ProbeOptions options,
        final ProbeProgress progress)
    {
        final long[] parks = {1_000, 10_000, 100_000, 1_000_000};
        final int total = 7 + 3 * batches.length + parks.length;
        int done = 0;
        FerryCalls.warmUp(ModelPlacement.of(client, server), service, length);
        progress.onProgress("warming up Ferry's call paths", ++done, total);
        final Stats line = Probes.pingPong(client, server, options);
        progress.onProgress("line round trip CPU " + client + "-" + server, ++done, total);
        final Map<Integer, Stats> ring = new TreeMap<>();
        for (final int b : batches)
        {
            ring.put(b, Probes.ringRoundTrip(client, server, b, options));
            progress.onProgress("ring round trip, batch " + b, ++done, total);
        }
        final Map<Integer, Stats> local = new TreeMap<>();
        final Map<Integer, Stats> staging = new TreeMap<>();
        for (final int b : batches)
        {
            final ProbeOptions localOptions =
                new ProbeOptions(options.warmupSamples(), options.samples(), LOCAL_BATCHES_PER_SAMPLE);
            local.put(b, FerryCalls.measure(Mode.INLINE, ModelPlacement.of(client, server), b, service, length,
                localOptions));
            progress.onProgress("Ferry's local path (INLINE), batch " + b, ++done, total);
            staging.put(b, FerryCalls.staging(ModelPlacement.of(client, server), b, service, length, localOptions));
            progress.onProgress("the client's staging, batch " + b, ++done, total);
        }
        final Stats handler = Probes.handler(service, length, options);
        progress.onProgress("handler", ++done, total);
        final Stats spin = Probes.onSpinWait(options);
        progress.onProgress("Thread.onSpinWait", ++done, total);
        final Stats yield = Probes.yieldCost(options);
        progress.onProgress("Thread.yield", ++done, total);
        final Map<Long, Stats> park = new TreeMap<>();
        for (final long n : parks)
        {
            park.put(n, Probes.parkNanos(n, options.withSamples(Math.min(options.samples(), 11))));
            progress.onProgress("parkNanos(" + n + ")", ++done, total);
        }
        // Wake-ups last: their cost depends most on what else the machine runs, so they are taken nearest to the
        // measurements that follow (ModelCommand measures BLOCKING first).
        final Stats queue = Probes.blockingQueue(client, server, options);
        progress.onProgress("blocking queue round trip", ++done, total);
        final Stats wake = Probes.parkUnpark(client, server, options);
        progress.onProgress("park/unpark round trip", ++done, total);
        final double lineRtt = line.median();
        final LineLatency lines = (a, b) ->
        {
            if (a == b)
            {
                return 0;
            }
            if ((a == client && b == server) || (a == server && b == client))
            {
                return lineRtt;
            }
            throw new IllegalArgumentException("CPUs " + a + " and " + b + " were not measured; measured " + client +
                " and " + server + ": use withLines(...) with a latency matrix");
        };
        return new MachineCosts(lines, client, server, lineRtt, ring, local, staging, handler, wake, queue, spin, yield,
            park);
    }

    /**
     * Costs for another machine: these calibrations (line transfers per hop, handler, wake-ups) with its line
     * latencies, e.g. an hwloc fixture with published per-level figures.
     *
     * @param other the other machine's line round trips.
     * @return the costs.
     */
    public MachineCosts withLines(final LineLatency other)
    {
        return new MachineCosts(other, calibrationA, calibrationB, calibrationLineRttNs, ringRtt, localBatch, staging,
            handler, wakeRtt, queueRtt, spinWait, yield, park);
    }

    /**
     * @param a a CPU.
     * @param b a CPU.
     * @return the line round trip between them, in ns.
     */
    public double lineRttNs(final int a, final int b)
    {
        return lines.rttNs(a, b);
    }

    /**
     * @return the line round trip on the calibration pair, in ns.
     */
    public double calibrationLineRttNs()
    {
        return calibrationLineRttNs;
    }

    /**
     * @return the calibration pair, e.g. {@code "CPU 0-1"}.
     */
    public String calibrationPair()
    {
        return "CPU " + calibrationA + "-" + calibrationB;
    }

    /**
     * One hop of a batch through a ring costs this many one-way line transfers: the ring round trip at that batch
     * over the line round trip, both on the calibration pair; linear between calibrated batches.
     *
     * @param batch messages per batch.
     * @return line transfers per hop.
     */
    public double transfersPerHop(final int batch)
    {
        return ringRttNs(batch) / calibrationLineRttNs;
    }

    /**
     * @param batch messages per batch.
     * @return the measured ring round trip of a batch on the calibration pair, linear between calibrated batches.
     */
    public double ringRttNs(final int batch)
    {
        return interpolate(ringRtt, batch);
    }

    /**
     * Ferry's own work per batch, with no core crossed: a batch through the INLINE path (stage the slots, publish,
     * run the handler, post and poll the completions) on one thread; linear between calibrated batches.
     *
     * @param batch calls per batch.
     * @return ns per batch.
     */
    public double localBatchNs(final int batch)
    {
        return interpolate(localBatch, batch);
    }

    /**
     * The client's staging of a batch: its {@code submit} calls, which all happen before the flush publishes the
     * batch, so no other thread's work overlaps them; linear between calibrated batches.
     *
     * @param batch calls per batch.
     * @return ns per batch, or 0 when staging was not measured.
     */
    public double stagingNs(final int batch)
    {
        return staging.isEmpty() ? 0 : interpolate(staging, batch);
    }

    /**
     * @return the client's staging measured, by batch; empty when not measured.
     */
    public Map<Integer, Stats> staging()
    {
        return new TreeMap<>(staging);
    }

    /**
     * @return the local path measured, by batch.
     */
    public Map<Integer, Stats> localBatch()
    {
        return new TreeMap<>(localBatch);
    }

    private static double interpolate(final TreeMap<Integer, Stats> byBatch, final int batch)
    {
        final Map.Entry<Integer, Stats> exact = byBatch.floorEntry(batch);
        final Map.Entry<Integer, Stats> above = byBatch.ceilingEntry(batch);
        if (exact != null && exact.getKey() == batch)
        {
            return exact.getValue().median();
        }
        final Map.Entry<Integer, Stats> lo = exact != null ? exact : above;
        final Map.Entry<Integer, Stats> hi = above != null ? above : byBatch.lowerEntry(lo.getKey());
        if (hi == null || hi.getKey().equals(lo.getKey()))
        {
            return lo.getValue().median() * batch / lo.getKey();
        }
        final double slope = (hi.getValue().median() - lo.getValue().median()) / (hi.getKey() - lo.getKey());
        return lo.getValue().median() + slope * (batch - lo.getKey());
    }

    /**
     * @return the ring round trips measured, by batch.
     */
    public Map<Integer, Stats> ringRtt()
    {
        return new TreeMap<>(ringRtt);
    }

    /**
     * @return the handler's own cost per call.
     */
    public Stats handler()
    {
        return handler;
    }

    /**
     * @return the park/unpark round trip: two wake-ups.
     */
    public Stats wakeRtt()
    {
        return wakeRtt;
    }

    /**
     * @return the blocking-queue hand-off round trip.
     */
    public Stats queueRtt()
    {
        return queueRtt;
    }

    /**
     * @return one {@code Thread.onSpinWait()}.
     */
    public Stats spinWait()
    {
        return spinWait;
    }

    /**
     * @return one {@code Thread.yield()}.
     */
    public Stats yieldCost()
    {
        return yield;
    }

    /**
     * @return the real duration of {@code parkNanos(n)}, by n.
     */
    public Map<Long, Stats> park()
    {
        return new TreeMap<>(park);
    }
}
