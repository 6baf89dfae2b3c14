package dev.ferry.bench.jmh;

import org.jctools.queues.SpscArrayQueue;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * A hand-written echo loop between two threads over a pair of JCTools SPSC array queues: the best a general queue
 * pair does with no framework around it. Requests are pre-allocated objects, so nothing is allocated per call. The
 * echo thread busy-spins (with {@link Thread#onSpinWait()}) and never backs off.
 *
 * <p>Threading: the JMH thread produces requests and consumes replies; the echo thread is started per trial.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class JcToolsEchoBenchmark
{
    private static final int BATCH = 32;

    private final SpscArrayQueue<long[]> requests = new SpscArrayQueue<>(1024);
    private final SpscArrayQueue<long[]> replies = new SpscArrayQueue<>(1024);
    private final long[][] messages = new long[BATCH][];
    private volatile boolean running;
    private Thread echo;
    private long sum;

    /** Starts the echo thread. */
    @Setup(Level.Trial)
    public void setUp()
    {
        for (int i = 0; i < BATCH; i++)
        {
            messages[i] = new long[] {i};
        }
        running = true;
        echo = new Thread(() ->
        {
            while (running)
            {
                final long[] m = requests.relaxedPoll();
                if (m == null)
                {
                    Thread.onSpinWait();
                    continue;
                }
                while (!replies.relaxedOffer(m))
                {
                    Thread.onSpinWait();
                }
            }
        }, "jctools-echo");
        echo.setDaemon(true);
        echo.start();
    }

    /**
     * Stops the echo thread.
     *
     * @throws InterruptedException if interrupted while joining it.
     */
    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException
    {
        running = false;
        echo.join(5_000);
    }

    /**
     * One request and its reply.
     *
     * @return a running sum of the replies, so nothing is optimised away.
     */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public long roundTrip()
    {
        return batch(1);
    }

    /**
     * One request per batch, throughput.
     *
     * @return a running sum of the replies.
     */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public long batch1()
    {
        return batch(1);
    }

    /**
     * Thirty-two requests offered, then their 32 replies collected.
     *
     * @return a running sum of the replies.
     */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(BATCH)
    public long batch32()
    {
        return batch(BATCH);
    }

    private long batch(final int size)
    {
        for (int i = 0; i < size; i++)
        {
            requests.relaxedOffer(messages[i]);
        }
        int left = size;
        while (left > 0)
        {
            final long[] m = replies.relaxedPoll();
            if (m == null)
            {
                Thread.onSpinWait();
            }
            else
            {
                sum += m[0];
                left--;
            }
        }
        return sum;
    }
}
