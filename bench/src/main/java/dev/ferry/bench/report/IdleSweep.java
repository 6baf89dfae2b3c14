package dev.ferry.bench.report;

import dev.ferry.Client;
import dev.ferry.CompletionHandler;
import dev.ferry.Handler;
import dev.ferry.Kernel;
import dev.ferry.Mode;
import dev.ferry.Status;
import dev.ferry.affinity.pin.Pin;
import dev.ferry.affinity.pin.Pinning;
import dev.ferry.affinity.topology.CpuSet;
import dev.ferry.agent.AgentThreadFactory;
import dev.ferry.idle.AdaptiveIdleStrategy;
import org.HdrHistogram.Histogram;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.YieldingIdleStrategy;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * The idle-strategy trade-off: one server whose handler spins for a fixed service time, fed by an open-loop Poisson
 * load generator (the calling thread) at a fraction of capacity, for each idle strategy. Each call carries its
 * scheduled send time; the handler stamps the time it finished, so a call's response time runs from when it was
 * due to be sent (a late generator is charged, not hidden) to when the server had handled it, and does not include
 * how soon the generator noticed. CPU is the server thread's CPU time over the wall-clock time measured.
 *
 * <p>Where the process may use two CPUs or more and native affinity works, the generator (the calling thread, for
 * the duration of one point) and the server are pinned to the last two allowed CPUs, one each, as Ferry places a
 * server on a core of its own: with both unpinned, the scheduler now and then queues one behind the other, and the
 * point measures that. How late the generator itself sent calls is recorded beside each point.
 *
 * <p>Capacity is measured in the same run ({@link #capacity}): the rate a saturated server really completes calls,
 * the path's cost and the machine's interruptions included.
 *
 * <p>Threading: every method builds, uses and closes its own kernel on the calling thread.
 */
public final class IdleSweep
{
    /** The strategies compared, in the report's order. */
    public static final List<String> STRATEGIES =
        List.of("busy-spin", "yielding", "agrona-backoff", "blocking", "ferry-adaptive");

    /**
     * The generator parks only when its next send is further off than this, and wakes {@link #WAKE_EARLY_NS} early:
     * a park oversleeps by up to about 120 µs on a KVM guest, and a late generator is charged to every strategy.
     */
    private static final long PARK_AHEAD_NS = 500_000;
    private static final long WAKE_EARLY_NS = 350_000;
    /** Calls kept in flight while measuring capacity: enough that the server never finds its ring empty. */
    private static final int SATURATION_IN_FLIGHT = 64;

    /** {generator CPU, server CPU}, or null when unpinned; see {@link #seats()}. */
    private static final int[] SEATS;
    private static final CpuSet ALLOWED;
    private static final String SEATS_TEXT;

    static
    {
        int[] seats = null;
        CpuSet allowed = null;
        String text;
        if (!Pinning.isAvailable())
        {
            text = "unpinned: " + Pinning.unavailableReason();
        }
        else
        {
            allowed = Pinning.currentAffinity();
            if (allowed.size() < 2)
            {
                text = "unpinned: this process may use only CPU " + allowed;
            }
            else
            {
                final int[] cpus = allowed.toArray();
                seats = new int[] {cpus[cpus.length - 2], cpus[cpus.length - 1]};
                text = "generator@" + seats[0] + " server@" + seats[1];
            }
        }
        SEATS = seats;
        ALLOWED = allowed;
        SEATS_TEXT = text;
    }

    private IdleSweep()
    {
    }

    /**
     * @return where each point's generator and server run: {@code generator@N server@M}, or {@code unpinned} and why.
     */
    public static String seats()
    {
        return SEATS_TEXT;
    }

    /**
     * @param serviceNs the handler's service time.
     * @return a handler that spins for the service time, then writes its finishing time at offset 8.
     */
    public static Handler fixedService(final long serviceNs)
    {
        return (msg, len) ->
        {
            final long start = System.nanoTime();
            while (System.nanoTime() - start < serviceNs)
            {
                Thread.onSpinWait();
            }
            msg.putLong(8, System.nanoTime());
            return 16;
        };
    }

    /**
     * Measures capacity: the server's saturated throughput, with the handler's own service time beside it. First the
     * handler runs {@code samples} times on the calling thread, each timed, and the median is taken (a run the
     * scheduler preempted is an outlier, not the service time). Then one DIRECT server with a busy-spin idle strategy
     * (at saturation it never idles, so the strategy does not matter), seated as the sweep's servers are, is kept fed
     * with {@value #SATURATION_IN_FLIGHT} calls in flight for {@code warmNs}, and its completions are counted over
     * {@code measureNs}. That rate is the capacity: it includes the path's own cost per call and the machine's
     * interruptions, which one over the service time would leave out, so that 90% load means 90% of what the server
     * can really do rather than a point past saturation.
     *
     * @param serviceNs the handler's nominal service time.
     * @param samples   how many times to time the handler alone, at least 1.
     * @param warmNs    how long to saturate the server before counting.
     * @param measureNs how long to count completions, above 0.
     * @return the service time, as set and as measured, and the capacity.
     */
    public static Report.Capacity capacity(
        final long serviceNs, final int samples, final long warmNs, final long measureNs)
    {
        if (samples < 1)
        {
            throw new IllegalArgumentException("samples is " + samples + "; it must be at least 1");
        }
        if (measureNs <= 0 || warmNs < 0)
        {
            throw new IllegalArgumentException("need warmNs >= 0 and measureNs > 0; got " + warmNs + " and "
                + measureNs);
        }
        final Handler handler = fixedService(serviceNs);
        final UnsafeBuffer message = new UnsafeBuffer(new byte[64]);
        final long[] took = new long[samples];
        try
        {
            for (int i = 0; i < samples; i++)
            {
                final long start = System.nanoTime();
                handler.onCall(message, 16);
                took[i] = System.nanoTime() - start;
            }
        }
        catch (final Exception ex)
        {
            throw new IllegalStateException("the fixed-service handler failed: " + ex, ex);
        }
        java.util.Arrays.sort(took);
        final double median = took[samples / 2];
        return new Report.Capacity(serviceNs, median, saturatedRate(serviceNs, warmNs, measureNs));
    }

    private static double saturatedRate(final long serviceNs, final long warmNs, final long measureNs)
    {
        final long[] completed = {0};
        final long[] failed = {0};
        final CompletionHandler count = c ->
        {
            if (c.status() == Status.OK)
            {
                completed[0]++;
            }
            else
            {
                failed[0]++;
            }
        };
        final UnsafeBuffer request = new UnsafeBuffer(new byte[16]);
        try (Pin generatorPin = SEATS == null ? null : Pinning.pinCurrentThread(SEATS[0], ALLOWED);
             Kernel kernel = kernel("busy-spin", serviceNs))
        {
            final Client client = kernel.newClient();
            final long from = System.nanoTime() + warmNs;
            final long end = from + measureNs;
            long counted = -1;
            long countedFrom = from;
            long now;
            while ((now = System.nanoTime()) - end < 0)
            {
                if (counted < 0 && now - from >= 0)
                {
                    counted = completed[0];
                    countedFrom = now;
                }
                while (client.inFlight() < SATURATION_IN_FLIGHT
                    && client.submit(0, request, 0, 16) != Client.BACK_PRESSURE)
                {
                    // keep the server's ring from running dry
                }
                client.flush();
                if (client.poll(count, 4096) == 0)
                {
                    // The server needs a service time per call: sleep through most of the queue's work, not spin
                    // against it for a CPU the two threads share where there is only one.
                    LockSupport.parkNanos(SATURATION_IN_FLIGHT * serviceNs / 4);
                }
            }
            final long calls = completed[0] - Math.max(0, counted);
            final long elapsed = now - countedFrom;
            drainAndClose(client, count);
            if (failed[0] > 0)
            {
                throw new IllegalStateException("measuring capacity: " + failed[0] + " calls failed");
            }
            return calls * 1e9 / elapsed;
        }
    }

    /**
     * Measures one strategy at one load.
     *
     * @param strategy     one of {@link #STRATEGIES}.
     * @param loadFraction arrival rate over capacity, above 0.
     * @param capacity     the capacity measured by {@link #capacity}.
     * @param warmNs       how long to run the load before measuring.
     * @param measureNs    how long to measure.
     * @param seed         the arrival process's seed.
     * @return the server's response-time percentiles and CPU fraction.
     */
    public static Report.IdlePoint run(
        final String strategy,
        final double loadFraction,
        final Report.Capacity capacity,
        final long warmNs,
        final long measureNs,
        final long seed)
    {
        if (!(loadFraction > 0))
        {
            throw new IllegalArgumentException("loadFraction is " + loadFraction + "; it must be above 0");
        }
        final double ratePerSec = loadFraction * capacity.callsPerSec();
        final double meanGapNs = 1e9 / ratePerSec;
        final SplittableRandom random = new SplittableRandom(seed);
        final Histogram latency = new Histogram(3_600_000_000_000L, 3);
        final Histogram late = new Histogram(3_600_000_000_000L, 3);
        final UnsafeBuffer request = new UnsafeBuffer(new byte[16]);
        final long[] failed = {0};
        final long[] measureFrom = {Long.MAX_VALUE};
        final CompletionHandler record = c ->
        {
            if (c.status() != Status.OK)
            {
                failed[0]++;
                return;
            }
            final long due = c.buffer().getLong(0);
            if (due - measureFrom[0] >= 0)
            {
                latency.recordValue(Math.max(0, c.buffer().getLong(8) - due));
            }
        };
        try (Pin generatorPin = SEATS == null ? null : Pinning.pinCurrentThread(SEATS[0], ALLOWED);
             Kernel kernel = kernel(strategy, capacity.serviceNs()))
        {
            final Client client = kernel.newClient();
            final Thread server = kernel.agentThreads().get(0);
            final long start = System.nanoTime();
            final long from = start + warmNs;
            final long end = from + measureNs;
            ThreadStats.Sample cpu0 = null;
            long next = start + gap(random, meanGapNs);
            long now;
            while ((now = System.nanoTime()) - end < 0)
            {
                if (cpu0 == null && now - from >= 0)
                {
                    measureFrom[0] = from;
                    cpu0 = ThreadStats.of(server);
                }
                if (now - next >= 0)
                {
                    if (cpu0 != null)
                    {
                        late.recordValue(now - next);
                    }
                    request.putLong(0, next);
                    while (client.submit(0, request, 0, 16) == Client.BACK_PRESSURE)
                    {
                        // Every slot is in flight: the server is far behind. The call waits (its response time
                        // keeps counting from when it was due), but the measured interval starts on time.
                        client.poll(record, 4096);
                        if (cpu0 == null && System.nanoTime() - from >= 0)
                        {
                            measureFrom[0] = from;
                            cpu0 = ThreadStats.of(server);
                        }
                    }
                    client.flush();
                    next += gap(random, meanGapNs);
                    continue;
                }
                client.poll(record, 4096);
                final long ahead = next - now;
                if (ahead > PARK_AHEAD_NS)
                {
                    LockSupport.parkNanos(ahead - WAKE_EARLY_NS);
                }
                else
                {
                    Thread.onSpinWait();
                }
            }
            final ThreadStats.Sample cpu = ThreadStats.of(server).minus(cpu0 == null ? ThreadStats.of(server) : cpu0);
            final double wall = now - from;
            drainAndClose(client, record);
            if (failed[0] > 0)
            {
                throw new IllegalStateException(strategy + " at load " + loadFraction + ": " + failed[0]
                    + " calls failed");
            }
            return new Report.IdlePoint(
                strategy, loadFraction, ratePerSec, latency.getTotalCount(),
                latency.getValueAtPercentile(50), latency.getValueAtPercentile(99), cpu.cpuNs() / wall,
                late.getValueAtPercentile(99), SEATS_TEXT);
        }
    }

    /** Polls until every call in flight has completed, then closes the client. */
    private static void drainAndClose(final Client client, final CompletionHandler handler)
    {
        while (client.inFlight() > 0)
        {
            if (client.poll(handler, 4096) == 0)
            {
                Thread.onSpinWait();
            }
        }
        client.close();
    }

    private static long gap(final SplittableRandom random, final double meanGapNs)
    {
        return Math.max(1, (long)(-Math.log(1.0 - random.nextDouble()) * meanGapNs));
    }

    private static Kernel kernel(final String strategy, final long serviceNs)
    {
        final Supplier<IdleStrategy> idle;
        Mode mode = Mode.DIRECT;
        switch (strategy)
        {
            case "busy-spin" -> idle = BusySpinIdleStrategy::new;
            case "yielding" -> idle = YieldingIdleStrategy::new;
            case "agrona-backoff" -> idle = BackoffIdleStrategy::new;
            case "ferry-adaptive" -> idle = AdaptiveIdleStrategy::new;
            case "blocking" ->
            {
                idle = AdaptiveIdleStrategy::new;
                mode = Mode.BLOCKING;
            }
            default -> throw new IllegalArgumentException("unknown idle strategy '" + strategy + "'; use one of "
                + STRATEGIES);
        }
        final AgentThreadFactory threads = SEATS == null ? AgentThreadFactory.daemon()
            : (role, index, body) -> AgentThreadFactory.daemon().newThread(role, index, () ->
            {
                Pinning.pinCurrentThread(SEATS[1], ALLOWED);
                body.run();
            });
        return Kernel.builder()
            .threadFactory(threads)
            .mode(mode)
            .service(0, fixedService(serviceNs))
            .idleStrategy(idle)
            .maxInFlight(4096)
            .build()
            .start();
    }
}
