package dev.ferry.idle;

import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;

/**
 * What idling really costs on this machine, measured once per JVM: the time of one {@link Thread#onSpinWait()},
 * of one {@link Thread#yield()}, and how long {@code LockSupport.parkNanos(1 µs)} really sleeps (the park
 * granularity: about 70 µs on a KVM guest whose idle vCPUs halt, about 55 µs on bare-metal Linux with the default
 * timer slack).
 *
 * <p>Immutable; {@link #machine()} measures lazily on first use (a few milliseconds) and is thread-safe.
 */
public final class IdleCalibration
{
    private static volatile IdleCalibration machine;

    private static volatile int sink;

    private final double spinNs;
    private final double pauseNs;
    private final double yieldNs;
    private final long parkGranularityNs;

    /**
     * Calibration from known figures, for tests and for machines measured earlier.
     *
     * @param spinNs            nanoseconds one empty re-poll (a volatile read in a loop) takes; positive.
     * @param pauseNs           nanoseconds one {@code Thread.onSpinWait()} takes; positive.
     * @param yieldNs           nanoseconds one {@code Thread.yield()} takes; positive.
     * @param parkGranularityNs nanoseconds {@code parkNanos(1000)} really sleeps; at least 1000.
     */
    public IdleCalibration(
        final double spinNs, final double pauseNs, final double yieldNs, final long parkGranularityNs)
    {
        if (!(spinNs > 0) || !(pauseNs > 0) || !(yieldNs > 0))
        {
            throw new IllegalArgumentException("spinNs, pauseNs and yieldNs must be positive; got "
                + spinNs + ", " + pauseNs + " and " + yieldNs);
        }
        this.spinNs = spinNs;
        if (parkGranularityNs < 1000)
        {
            throw new IllegalArgumentException(
                "parkGranularityNs is what parkNanos(1000) really sleeps, so at least 1000; got " + parkGranularityNs);
        }
        this.pauseNs = pauseNs;
        this.yieldNs = yieldNs;
        this.parkGranularityNs = parkGranularityNs;
    }

    /**
     * The calibration of the machine this JVM runs on, measured on the first call.
     *
     * @return this machine's calibration.
     */
    public static IdleCalibration machine()
    {
        IdleCalibration c = machine;
        if (c == null)
        {
            synchronized (IdleCalibration.class)
            {
                c = machine;
                if (c == null)
                {
                    c = measure();
                    machine = c;
                }
            }
        }
        return c;
    }

    /**
     * Measures afresh: medians over repeated samples after a warm-up, except for the park granularity, which is the
     * low quintile of its samples (a sleep that other threads delayed is not the timer's granularity: on a busy
     * machine the median of {@code parkNanos(1 µs)} can reach milliseconds).
     *
     * @return a new calibration of this machine.
     */
    public static IdleCalibration measure()
    {
        final int samples = 15;
        final long[] spin = new long[samples];
        final long[] pause = new long[samples];
        final long[] yield = new long[samples];
        final long[] park = new long[samples];
        final int spinsPerSample = 20_000;
        final int pausesPerSample = 2_000;
        final int yieldsPerSample = 200;
        for (int warm = 0; warm < 3; warm++)
        {
            timeSpins(spinsPerSample);
            timePauses(pausesPerSample);
            timeYields(yieldsPerSample);
        }
        for (int i = 0; i < samples; i++)
        {
            spin[i] = timeSpins(spinsPerSample);
            pause[i] = timePauses(pausesPerSample);
            yield[i] = timeYields(yieldsPerSample);
            final long start = System.nanoTime();
            LockSupport.parkNanos(1_000);
            park[i] = System.nanoTime() - start;
        }
        return new IdleCalibration(
            Math.max(0.1, median(spin) / (double)spinsPerSample),
            Math.max(0.5, median(pause) / (double)pausesPerSample),
            Math.max(1.0, median(yield) / (double)yieldsPerSample),
            Math.max(1_000L, lowQuintile(park)));
    }

    private static long timeSpins(final int n)
    {
        final long start = System.nanoTime();
        int seen = 0;
        for (int i = 0; i < n; i++)
        {
            seen += sink;
        }
        if (seen == Integer.MIN_VALUE)
        {
            sink = seen;
        }
        return System.nanoTime() - start;
    }

    private static long timePauses(final int n)
    {
        final long start = System.nanoTime();
        for (int i = 0; i < n; i++)
        {
            Thread.onSpinWait();
        }
        return System.nanoTime() - start;
    }

    private static long timeYields(final int n)
    {
        final long start = System.nanoTime();
        for (int i = 0; i < n; i++)
        {
            Thread.yield();
        }
        return System.nanoTime() - start;
    }

    /** A floor that survives noise: other threads can only lengthen a sleep, never shorten it. */
    private static long lowQuintile(final long[] values)
    {
        final long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 5];
    }

    private static long median(final long[] values)
    {
        final long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /**
     * @return nanoseconds one empty re-poll takes in a spin loop.
     */
    public double spinNs()
    {
        return spinNs;
    }

    /**
     * @return nanoseconds one {@code Thread.onSpinWait()} takes.
     */
    public double pauseNs()
    {
        return pauseNs;
    }

    /**
     * @return nanoseconds one {@code Thread.yield()} takes when no other thread wants the CPU.
     */
    public double yieldNs()
    {
        return yieldNs;
    }

    /**
     * @return nanoseconds {@code LockSupport.parkNanos(1000)} really sleeps: the shortest real park.
     */
    public long parkGranularityNs()
    {
        return parkGranularityNs;
    }

    /**
     * The longest single park of a default {@link AdaptiveIdleStrategy}: eight park granularities (each park period
     * doubles from one granularity, so three doublings), kept between 100 µs and 1 ms, and never less than the
     * granularity itself. It bounds how long a message waits for a sleeping poller; it is not shorter because on a
     * VM every wake-up costs the sleeper CPU time of its own (about 20 µs per wake-up measured on a busy 2-vCPU KVM
     * guest), so an idle poller's CPU is mostly its wake-ups.
     *
     * @return nanoseconds.
     */
    public long defaultMaxParkNs()
    {
        return Math.max(parkGranularityNs, Math.max(100_000L, Math.min(1_000_000L, 8 * parkGranularityNs)));
    }

    @Override
    public String toString()
    {
        return String.format("IdleCalibration{spin=%.2f ns, pause=%.1f ns, yield=%.0f ns, parkGranularity=%d ns}",
            spinNs, pauseNs, yieldNs, parkGranularityNs);
    }
}
