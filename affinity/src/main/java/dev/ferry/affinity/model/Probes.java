package dev.ferry.affinity.model;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import dev.ferry.Handler;
import dev.ferry.affinity.pin.Pin;
import dev.ferry.affinity.pin.Pinning;
import dev.ferry.affinity.topology.CpuSet;
import dev.ferry.affinity.topology.Topology;
import org.agrona.concurrent.UnsafeBuffer;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;

/**
 * Measures the machine: how long a cache line takes to bounce between two CPUs, what waking a thread costs,
 * what {@link Thread#onSpinWait()}, {@link Thread#yield()} and {@code parkNanos} really cost, and what one hop of
 * a message through a Ferry ring costs by batch size. Every probe warms up, takes repeated samples and reports
 * their median and spread ({@link Stats}).
 *
 * <p>Two-CPU probes run on two fresh threads pinned to the CPUs (unpinned, with the same code, where pinning is
 * unavailable: see {@link #pinningNote()}). Probes may be called from any thread, but one at a time: two probes at
 * once measure each other.
 */
public final class Probes
{
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    /** A long in the middle of a 256-byte array: its 64-byte line holds nothing else. */
    private static final int LINE_INDEX = 16;
    private static final long START_TIMEOUT_S = 30;
    /** Warm-up runs at least this long (and at least the warm-up samples), so the JIT has compiled the loop. */
    private static final long WARMUP_NS = 50_000_000L;
    /**
     * Single-thread probes warm up longer: on a busy machine the JIT's compiler threads wait for a CPU too, and a
     * handler measured before it is compiled costs ten times what it does after.
     */
    private static final long LOCAL_WARMUP_NS = 300_000_000L;

    private Probes()
    {
    }

    /**
     * @return null when probes pin their threads; otherwise why they cannot, and that figures are unpinned.
     */
    public static String pinningNote()
    {
        final String reason = Pinning.unavailableReason();
        return reason == null ? null : "threads are not pinned (" + reason + "): pairs are whatever the scheduler chose";
    }

    /**
     * The core-to-core latency matrix: for each pair of CPUs, two threads pinned to them bounce a fresh, padded
     * cache line (no third core has held it), {@code rounds} round trips per sample.
     *
     * @param cpus     at least two distinct CPUs this process may use.
     * @param options  warm-up, samples and rounds.
     * @param progress told after each pair.
     * @return the median round trip of each pair, with its spread.
     */
    public static LatencyMatrix latencyMatrix(final int[] cpus, final ProbeOptions options, final ProbeProgress progress)
    {
        final int n = cpus.length;
        if (n < 2)
        {
            throw new IllegalArgumentException("a latency matrix needs at least two CPUs; got " + n);
        }
        final double[][] rtt = new double[n][n];
        final double[][] spread = new double[n][n];
        final int total = n * (n - 1) / 2;
        int done = 0;
        for (int i = 0; i < n; i++)
        {
            for (int j = i + 1; j < n; j++)
            {
                final Stats s = pingPong(cpus[i], cpus[j], options);
                rtt[i][j] = s.median();
                rtt[j][i] = s.median();
                spread[i][j] = s.spread();
                spread[j][i] = s.spread();
                progress.onProgress("CPU " + cpus[i] + " - CPU " + cpus[j], ++done, total);
            }
        }
        return new LatencyMatrix(cpus, rtt, spread);
    }

    /**
     * One cache line bounced between two CPUs with plain spinning (no pause), as a C ping-pong does.
     *
     * @param a       the CPU that starts each round trip.
     * @param b       the CPU that answers.
     * @param options warm-up, samples and rounds.
     * @return the round trip in ns.
     */
    public static Stats pingPong(final int a, final int b, final ProbeOptions options)
    {
        final long[] line = new long[32];
        final int rounds = options.rounds();
        return onPair(a, b, options, new PairBody()
        {
            private long next = 1;

            @Override
            public void respond(final Thread driver)
            {
                long last = 0;
                while (true)
                {
                    final long v = (long)LONGS.getAcquire(line, LINE_INDEX);
                    if (v < 0)
                    {
                        return;
                    }
                    if ((v & 1) == 1 && v != last)
                    {
                        last = v;
                        LONGS.setRelease(line, LINE_INDEX, v + 1);
                    }
                }
            }

            @Override
            public double sample(final Thread responder)
            {
                final long start = System.nanoTime();
                for (int r = 0; r < rounds; r++)
                {
                    final long v = next;
                    LONGS.setRelease(line, LINE_INDEX, v);
                    while ((long)LONGS.getAcquire(line, LINE_INDEX) != v + 1)
                    {
                        // spin: this is what is measured
                    }
                    next = v + 2;
                }
                return (System.nanoTime() - start) / (double)rounds;
            }

            @Override
            public void stop(final Thread responder)
            {
                LONGS.setRelease(line, LINE_INDEX, -1L);
            }
        });
    }

    /**
     * Wake-up cost: a park/unpark round trip between two pinned threads (each wakes the other once).
     *
     * @param a       the CPU of the thread that starts each round trip.
     * @param b       the CPU of the one that answers.
     * @param options warm-up, samples and {@link ProbeOptions#slowRounds()}.
     * @return the round trip in ns: about two wake-ups.
     */
    public static Stats parkUnpark(final int a, final int b, final ProbeOptions options)
    {
        final AtomicLong seq = new AtomicLong();
        final AtomicLong ack = new AtomicLong();
        final int rounds = options.slowRounds();
        return onPair(a, b, options, new PairBody()
        {
            private long next = 1;

            @Override
            public void respond(final Thread driver)
            {
                long last = 0;
                while (true)
                {
                    final long v = seq.get();
                    if (v < 0)
                    {
                        return;
                    }
                    if (v != last)
                    {
                        last = v;
                        ack.set(v);
                        LockSupport.unpark(driver);
                    }
                    else
                    {
                        LockSupport.park(this);
                    }
                }
            }

            @Override
            public double sample(final Thread responder)
            {
                final long start = System.nanoTime();
                for (int r = 0; r < rounds; r++)
                {
                    final long v = next++;
                    seq.set(v);
                    LockSupport.unpark(responder);
                    while (ack.get() != v)
                    {
                        LockSupport.park(this);
                    }
                }
                return (System.nanoTime() - start) / (double)rounds;
            }

            @Override
            public void stop(final Thread responder)
            {
                seq.set(-1);
                LockSupport.unpark(responder);
            }
        });
    }

    /**
     * Wake-up cost through a blocking queue: a request and a reply handed off through two
     * {@link ArrayBlockingQueue}s between two pinned threads.
     *
     * @param a       the CPU of the thread that starts each round trip.
     * @param b       the CPU of the one that answers.
     * @param options warm-up, samples and {@link ProbeOptions#slowRounds()}.
     * @return the round trip in ns.
     */
    public static Stats blockingQueue(final int a, final int b, final ProbeOptions options)
    {
        final ArrayBlockingQueue<Long> requests = new ArrayBlockingQueue<>(1);
        final ArrayBlockingQueue<Long> replies = new ArrayBlockingQueue<>(1);
        final Long message = 1L;
        final Long stop = -1L;
        final int rounds = options.slowRounds();
        return onPair(a, b, options, new PairBody()
        {
            @Override
            public void respond(final Thread driver) throws InterruptedException
            {
                while (true)
                {
                    final Long m = requests.take();
                    if (m == stop)
                    {
                        return;
                    }
                    replies.put(m);
                }
            }

            @Override
            public double sample(final Thread responder) throws InterruptedException
            {
                final long start = System.nanoTime();
                for (int r = 0; r < rounds; r++)
                {
                    requests.put(message);
                    replies.take();
                }
                return (System.nanoTime() - start) / (double)rounds;
            }

            @Override
            public void stop(final Thread responder) throws InterruptedException
            {
                requests.put(stop);
            }
        });
    }

    /**
     * One hop of a Ferry ring, by batch: the driver publishes {@code batch} messages (each in its own padded
     * buffer, as Ferry's slots are) to an MPSC ring with one claim, as a client's flush publishes a run of calls
     * to its server's ring; the responder answers each through a second ring, as a server posts replies to its
     * client's completion ring.
     *
     * @param a       the client's CPU.
     * @param b       the server's CPU.
     * @param batch   messages per round trip, at least 1.
     * @param options warm-up, samples and rounds (divided by the batch).
     * @return the round trip of a whole batch in ns: two hops. Per message per hop is {@code median / (2 batch)}.
     */
    public static Stats ringRoundTrip(final int a, final int b, final int batch, final ProbeOptions options)
    {
        if (batch < 1)
        {
            throw new IllegalArgumentException("a batch holds at least 1 message; got " + batch);
        }
        final int capacity = Integer.highestOneBit(Math.max(batch, 2) * 2 - 1) * 2;
        final MpscArrayQueue<UnsafeBuffer> requests = new MpscArrayQueue<>(capacity);
        final MpscArrayQueue<UnsafeBuffer> replies = new MpscArrayQueue<>(capacity);
        final UnsafeBuffer[] messages = new UnsafeBuffer[batch];
        for (int k = 0; k < batch; k++)
        {
            messages[k] = new UnsafeBuffer(new byte[256], 64, 128);
        }
        final UnsafeBuffer stop = new UnsafeBuffer(new byte[1]);
        final int rounds = Math.max(10, options.rounds() / batch);
        final class Body implements PairBody, MessagePassingQueue.Supplier<UnsafeBuffer>
        {
            private long sink;
            private int next;

            @Override
            public UnsafeBuffer get()
            {
                return messages[next++];
            }

            @Override
            public void respond(final Thread driver)
            {
                while (true)
                {
                    final UnsafeBuffer m = requests.relaxedPoll();
                    if (m == null)
                    {
                        continue;
                    }
                    if (m == stop)
                    {
                        return;
                    }
                    m.putLong(8, m.getLong(0) + 1);
                    while (!replies.relaxedOffer(m))
                    {
                        Thread.onSpinWait();
                    }
                }
            }

            @Override
            public double sample(final Thread responder)
            {
                final long start = System.nanoTime();
                for (int r = 0; r < rounds; r++)
                {
                    for (int k = 0; k < batch; k++)
                    {
                        messages[k].putLong(0, r);
                    }
                    // Published as a Ferry client's flush publishes a run of calls to one server: one claim of the
                    // ring (MpscArrayQueue.fill), retried while the claim falls short of the batch.
                    next = 0;
                    while (next < batch)
                    {
                        requests.fill(this, batch - next);
                    }
                    int received = 0;
                    while (received < batch)
                    {
                        final UnsafeBuffer m = replies.relaxedPoll();
                        if (m != null)
                        {
                            sink += m.getLong(8);
                            received++;
                        }
                    }
                }
                return (System.nanoTime() - start) / (double)rounds;
            }

            @Override
            public void stop(final Thread responder)
            {
                while (!requests.offer(stop))
                {
                    Thread.onSpinWait();
                }
            }
        }
        return onPair(a, b, options, new Body());
    }

    /**
     * @param options warm-up, samples and rounds (ten calls a round).
     * @return the cost of one {@link Thread#onSpinWait()} in ns.
     */
    public static Stats onSpinWait(final ProbeOptions options)
    {
        final int calls = options.rounds() * 10;
        return onThisThread(options, () ->
        {
            final long start = System.nanoTime();
            for (int i = 0; i < calls; i++)
            {
                Thread.onSpinWait();
            }
            return (System.nanoTime() - start) / (double)calls;
        });
    }

    /**
     * @param options warm-up, samples and rounds.
     * @return the cost of one {@link Thread#yield()} in ns (with nothing else to run: the system call alone).
     */
    public static Stats yieldCost(final ProbeOptions options)
    {
        final int calls = options.rounds();
        return onThisThread(options, () ->
        {
            final long start = System.nanoTime();
            for (int i = 0; i < calls; i++)
            {
                Thread.yield();
            }
            return (System.nanoTime() - start) / (double)calls;
        });
    }

    /**
     * @param requestedNs what to ask {@code parkNanos} for, e.g. 1,000 for 1 µs.
     * @param options     warm-up and samples.
     * @return how long {@code LockSupport.parkNanos(requestedNs)} really takes, in ns.
     */
    public static Stats parkNanos(final long requestedNs, final ProbeOptions options)
    {
        if (requestedNs < 1)
        {
            throw new IllegalArgumentException("park for at least 1 ns; got " + requestedNs);
        }
        final int calls = (int)Math.max(2, Math.min(50, 5_000_000 / requestedNs));
        return onThisThread(options, () ->
        {
            final long start = System.nanoTime();
            for (int i = 0; i < calls; i++)
            {
                LockSupport.parkNanos(requestedNs);
            }
            return (System.nanoTime() - start) / (double)calls;
        });
    }

    /**
     * A handler's own cost: it run on one thread over one message, with nothing crossing cores.
     *
     * @param handler the service's handler.
     * @param length  the request's length (bytes 0..length of a 128-byte buffer).
     * @param options warm-up, samples and rounds (ten calls a round).
     * @return the cost of one call in ns.
     */
    public static Stats handler(final Handler handler, final int length, final ProbeOptions options)
    {
        final UnsafeBuffer message = new UnsafeBuffer(new byte[256], 64, 128);
        final int calls = options.rounds() * 10;
        final long[] sink = new long[1];
        return onThisThread(options, () ->
        {
            final long start = System.nanoTime();
            for (int i = 0; i < calls; i++)
            {
                message.putInt(0, i);
                try
                {
                    sink[0] += handler.onCall(message, length);
                }
                catch (final Exception ex)
                {
                    throw new IllegalStateException("the handler threw while being measured: " + ex, ex);
                }
            }
            return (System.nanoTime() - start) / (double)calls;
        });
    }

    private interface Sampler
    {
        double sample() throws Exception;
    }

    private static Stats onThisThread(final ProbeOptions options, final Sampler sampler)
    {
        try
        {
            final long warmupEnd = System.nanoTime() + LOCAL_WARMUP_NS;
            for (int s = 0; s < options.warmupSamples() || System.nanoTime() < warmupEnd; s++)
            {
                sampler.sample();
            }
            final double[] samples = new double[options.samples()];
            for (int s = 0; s < samples.length; s++)
            {
                samples[s] = sampler.sample();
            }
            return Stats.of(samples);
        }
        catch (final RuntimeException ex)
        {
            throw ex;
        }
        catch (final Exception ex)
        {
            throw new IllegalStateException("probe failed: " + ex, ex);
        }
    }

    /**
     * What two threads do in a two-CPU probe: the responder answers until stopped; the driver takes samples.
     */
    private interface PairBody
    {
        void respond(Thread driver) throws Exception;

        double sample(Thread responder) throws Exception;

        void stop(Thread responder) throws Exception;
    }

    private static Stats onPair(final int a, final int b, final ProbeOptions options, final PairBody body)
    {
        if (a == b)
        {
            throw new IllegalArgumentException("a two-CPU probe needs two different CPUs; got " + a + " twice");
        }
        final CpuSet usable = Pinning.isAvailable() ? Topology.live().usable() : null;
        final CountDownLatch ready = new CountDownLatch(2);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final AtomicReference<Stats> result = new AtomicReference<>();
        final Thread[] threads = new Thread[2];
        threads[1] = new Thread(() ->
        {
            try (Pin ignored = pin(b, usable))
            {
                ready.countDown();
                ready.await();
                body.respond(threads[0]);
            }
            catch (final Throwable ex)
            {
                failure.compareAndSet(null, ex);
                ready.countDown();
            }
        }, "ferry-probe-responder-cpu" + b);
        threads[0] = new Thread(() ->
        {
            try (Pin ignored = pin(a, usable))
            {
                ready.countDown();
                if (!ready.await(START_TIMEOUT_S, TimeUnit.SECONDS) || failure.get() != null)
                {
                    throw new IllegalStateException("the probe's responder on CPU " + b + " did not start");
                }
                try
                {
                    final long warmupEnd = System.nanoTime() + WARMUP_NS;
                    for (int s = 0; s < options.warmupSamples() || System.nanoTime() < warmupEnd; s++)
                    {
                        body.sample(threads[1]);
                    }
                    final double[] samples = new double[options.samples()];
                    for (int s = 0; s < samples.length; s++)
                    {
                        samples[s] = body.sample(threads[1]);
                    }
                    result.set(Stats.of(samples));
                }
                finally
                {
                    body.stop(threads[1]);
                }
            }
            catch (final Throwable ex)
            {
                failure.compareAndSet(null, ex);
            }
        }, "ferry-probe-driver-cpu" + a);
        threads[0].setDaemon(true);
        threads[1].setDaemon(true);
        threads[1].start();
        threads[0].start();
        try
        {
            threads[0].join();
            threads[1].join(TimeUnit.SECONDS.toMillis(START_TIMEOUT_S));
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while probing CPUs " + a + " and " + b, ex);
        }
        final Throwable ex = failure.get();
        if (ex != null)
        {
            throw new IllegalStateException("probe between CPU " + a + " and CPU " + b + " failed: " + ex, ex);
        }
        return result.get();
    }

    private static Pin pin(final int cpu, final CpuSet usable)
    {
        return usable == null ? null : Pinning.pinCurrentThread(cpu, usable);
    }
}
