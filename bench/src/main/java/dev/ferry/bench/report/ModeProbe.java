package dev.ferry.bench.report;

import dev.ferry.Client;
import dev.ferry.Handler;
import dev.ferry.Kernel;
import dev.ferry.Mode;
import dev.ferry.affinity.model.MachineState;
import org.HdrHistogram.Histogram;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;

/**
 * Closed-loop round trips in one mode: the calling thread makes one synchronous call at a time to an echo
 * service and times each with {@link System#nanoTime()}, recording into an HdrHistogram; the CPU time and context
 * switches of the caller, the server and the mover are sampled around the measured interval.
 *
 * <p>Threading: {@link #run} builds, uses and closes its own kernel on the calling thread, which becomes the client.
 */
public final class ModeProbe
{
    /** The handler every mode runs: reads a long, writes it back plus one. */
    public static final Handler ECHO = (msg, len) ->
    {
        msg.putLong(0, msg.getLong(0) + 1);
        return 8;
    };

    private ModeProbe()
    {
    }

    /**
     * @param mode      the mode to measure.
     * @param warmNs    how long to warm up first.
     * @param measureNs how long to measure.
     * @return the mode's round-trip latency, rate, CPU and context switches per call.
     */
    public static Report.ModeResult run(final Mode mode, final long warmNs, final long measureNs)
    {
        final Histogram rtt = new Histogram(3_600_000_000_000L, 3);
        final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
        final UnsafeBuffer reply = new UnsafeBuffer(new byte[64]);
        try (Kernel kernel = Kernel.builder().mode(mode).service(0, ECHO).maxInFlight(16).build().start())
        {
            final Client client = kernel.newClient();
            long seq = 0;
            final long warmEnd = System.nanoTime() + warmNs;
            while (System.nanoTime() - warmEnd < 0)
            {
                request.putLong(0, seq++);
                client.call(0, request, 0, 8, reply, 0);
            }
            // The mover first (MOVER mode only), then the servers.
            final List<Thread> agents = kernel.agentThreads();
            final int movers0 = mode == Mode.MOVER ? 1 : 0;
            final List<Thread> servers = new ArrayList<>(agents.subList(movers0, agents.size()));
            final List<Thread> movers = agents.subList(0, movers0);
            final ThreadStats.Sample caller0 = ThreadStats.current();
            final ThreadStats.Sample[] server0 = sample(servers);
            final ThreadStats.Sample[] mover0 = sample(movers);
            final long start = System.nanoTime();
            final long end = start + measureNs;
            long calls = 0;
            long now = start;
            while (now - end < 0)
            {
                request.putLong(0, seq);
                client.call(0, request, 0, 8, reply, 0);
                final long after = System.nanoTime();
                if (reply.getLong(0) != seq + 1)
                {
                    throw new IllegalStateException(mode + ": echo of " + seq + " came back as " + reply.getLong(0));
                }
                seq++;
                rtt.recordValue(after - now);
                now = after;
                calls++;
            }
            final long elapsed = now - start;
            final ThreadStats.Sample caller = ThreadStats.current().minus(caller0);
            final ThreadStats.Sample server = sum(sample(servers), server0);
            final ThreadStats.Sample mover = sum(sample(movers), mover0);
            client.close();
            final double n = calls;
            final long vol = nonNegative(caller.voluntary()) + nonNegative(server.voluntary())
                + nonNegative(mover.voluntary());
            final long invol = nonNegative(caller.involuntary()) + nonNegative(server.involuntary())
                + nonNegative(mover.involuntary());
            final double callerCpu = nonNegative(caller.cpuNs()) / n;
            final double serverCpu = nonNegative(server.cpuNs()) / n;
            final double moverCpu = nonNegative(mover.cpuNs()) / n;
            return new Report.ModeResult(
                mode.name(), calls,
                rtt.getValueAtPercentile(50), rtt.getValueAtPercentile(99), rtt.getValueAtPercentile(99.9),
                calls * 1e9 / elapsed,
                callerCpu + serverCpu + moverCpu, callerCpu, serverCpu, moverCpu,
                (vol + invol) / n, vol / n, invol / n, MachineState.NOT_PROBED);
        }
    }

    private static long nonNegative(final long v)
    {
        return Math.max(0, v);
    }

    private static ThreadStats.Sample[] sample(final List<Thread> threads)
    {
        final ThreadStats.Sample[] samples = new ThreadStats.Sample[threads.size()];
        for (int i = 0; i < samples.length; i++)
        {
            samples[i] = ThreadStats.of(threads.get(i));
        }
        return samples;
    }

    private static ThreadStats.Sample sum(final ThreadStats.Sample[] later, final ThreadStats.Sample[] earlier)
    {
        long cpu = 0;
        long vol = 0;
        long invol = 0;
        for (int i = 0; i < later.length; i++)
        {
            final ThreadStats.Sample d = later[i].minus(earlier[i]);
            cpu += Math.max(0, d.cpuNs());
            vol += Math.max(0, d.voluntary());
            invol += Math.max(0, d.involuntary());
        }
        return new ThreadStats.Sample(cpu, vol, invol);
    }
}
