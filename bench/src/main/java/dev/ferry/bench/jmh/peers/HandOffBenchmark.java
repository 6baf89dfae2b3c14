package dev.ferry.bench.jmh.peers;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.TimeUnit;

/**
 * The shape every peer shares: a request/reply echo between the JMH thread and one echo thread the peer starts,
 * measured as sample-time latency of one round trip ({@link #roundTrip()}) and as round trips per second at batch 1
 * ({@link #batch1()}); {@link BatchedHandOffBenchmark} adds batch 32 where the peer can hold 32 requests. Requests
 * are pre-allocated {@code long[1]} messages, so what {@code -prof gc} reports per operation is the peer's own
 * allocation. Subclasses carry the {@code @State} and {@code @Fork} annotations.
 *
 * <p>Threading: {@link #send} and {@link #receive} run on the JMH thread; the echo thread is the subclass's.
 */
public abstract class HandOffBenchmark
{
    /** Requests per batch in the batched throughput benchmark. */
    protected static final int BATCH = 32;

    /** Pre-allocated requests, one per position in a batch. */
    protected final long[][] messages = new long[BATCH][];

    private long sum;

    /**
     * Fills the messages and starts the echo thread.
     *
     * @throws Exception if the peer cannot start.
     */
    @Setup(Level.Trial)
    public void setUp() throws Exception
    {
        for (int i = 0; i < BATCH; i++)
        {
            messages[i] = new long[] {i};
        }
        start();
    }

    /**
     * Stops the echo thread.
     *
     * @throws Exception if the peer cannot stop.
     */
    @TearDown(Level.Trial)
    public void tearDown() throws Exception
    {
        stop();
    }

    /**
     * One request and its reply, timed.
     *
     * @return a running sum of the replies, so nothing is optimised away.
     * @throws Exception if the peer fails.
     */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public long roundTrip() throws Exception
    {
        return roundTrips(1);
    }

    /**
     * One request then its reply, as throughput.
     *
     * @return a running sum of the replies.
     * @throws Exception if the peer fails.
     */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public long batch1() throws Exception
    {
        return roundTrips(1);
    }

    /**
     * Sends {@code size} requests, then collects their replies.
     *
     * @param size requests in flight at once.
     * @return a running sum of the replies.
     * @throws Exception if the peer fails.
     */
    protected final long roundTrips(final int size) throws Exception
    {
        for (int i = 0; i < size; i++)
        {
            send(messages[i]);
        }
        for (int i = 0; i < size; i++)
        {
            sum += receive()[0];
        }
        return sum;
    }

    /**
     * Starts the peer's echo thread.
     *
     * @throws Exception if it cannot start.
     */
    protected abstract void start() throws Exception;

    /**
     * Stops the peer's echo thread and waits for it to end.
     *
     * @throws Exception if it cannot stop.
     */
    protected abstract void stop() throws Exception;

    /**
     * Hands one request to the echo thread.
     *
     * @param request the request.
     * @throws Exception if the peer fails.
     */
    protected abstract void send(long[] request) throws Exception;

    /**
     * Waits for the next reply.
     *
     * @return the reply.
     * @throws Exception if the peer fails.
     */
    protected abstract long[] receive() throws Exception;

    /**
     * The idle strategy polling peers use while they wait, one instance per waiting thread: 1000 spins, then 100
     * yields, then parks from 1 µs doubling to 100 µs. A round trip that is not interrupted finishes within the
     * spins; on a machine with fewer free cores than spinning threads, the yields and parks let the thread being
     * waited for run instead of starving it.
     *
     * @return a new idle strategy for one thread.
     */
    protected static IdleStrategy pollerIdle()
    {
        return new BackoffIdleStrategy(1000, 100, 1_000, 100_000);
    }

    /**
     * Starts a daemon echo thread.
     *
     * @param name the thread's name.
     * @param body what it runs.
     * @return the started thread.
     */
    protected static Thread daemon(final String name, final Runnable body)
    {
        final Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /**
     * Interrupts a thread and waits for it to end.
     *
     * @param t the thread.
     * @throws InterruptedException if interrupted while waiting.
     */
    protected static void interruptAndJoin(final Thread t) throws InterruptedException
    {
        t.interrupt();
        t.join(5_000);
        if (t.isAlive())
        {
            throw new IllegalStateException(t.getName() + " did not stop within 5 s of being interrupted");
        }
    }
}
