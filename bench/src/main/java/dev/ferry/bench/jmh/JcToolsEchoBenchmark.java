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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * A hand-written echo loop between two threads over a pair of JCTools SPSC array queues: the best a general queue
 * pair does with no framework around it. Requests are pre-allocated messages, so nothing is allocated per call. The
 * echo thread busy-spins (with {@link Thread#onSpinWait()}) and never backs off.
 *
 * <p>With {@code payload=inPlace} each message does the work Ferry's trivial call does: the caller writes an 8-byte
 * request into the message, the echo thread writes an 8-byte reply into the same message, and the caller reads it,
 * so the message's cache line travels both ways (messages are padded to their own lines, as Ferry's slots are). With
 * {@code payload=none} only references travel and the messages are never written: the queues' own cost, and no
 * more.
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
    /** Longs per message: 128 bytes of data, so that neighbouring messages never share a cache line. */
    private static final int MESSAGE_LONGS = 16;

    /** {@code inPlace}: request and reply written in the message; {@code none}: references only. */
    @Param({"inPlace", "none"})
    public String payload;

    private final SpscArrayQueue<long[]> requests = new SpscArrayQueue<>(1024);
    private final SpscArrayQueue<long[]> replies = new SpscArrayQueue<>(1024);
    private final long[][] messages = new long[BATCH][];
    private volatile boolean running;
    private Thread echo;
    private long sum;
    private boolean inPlace;

    /** Starts the echo thread. */
    @Setup(Level.Trial)
    public void setUp()
    {
        inPlace = "inPlace".equals(payload);
        for (int i = 0; i < BATCH; i++)
        {
            messages[i] = new long[MESSAGE_LONGS];
            messages[i][0] = i;
        }
        final boolean write = inPlace;
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
                if (write)
                {
                    m[1] = m[0];
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
            final long[] m = messages[i];
            if (inPlace)
            {
                m[0] = sum + i;
            }
            requests.relaxedOffer(m);
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
                sum += inPlace ? m[1] : m[0];
                left--;
            }
        }
        return sum;
    }
}
