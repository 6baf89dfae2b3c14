package dev.ferry.bench.jmh;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;

/**
 * The hardware's floor for a round trip between two threads: a raw spin ping-pong with no queue at all. With
 * {@code layout=oneLine} both directions use one cache line (the client writes an odd number, the echo thread
 * answers with the next even one); with {@code layout=twoLines} the request and the reply live on separate padded
 * lines, as they must in any pair of queues, so each round trip moves two lines. {@code twoLines} is the floor that
 * any request/reply path, Ferry's included, can approach but not beat.
 *
 * <p>Threading: the JMH thread is the caller; the echo thread is started and stopped per trial and spins with
 * {@link Thread#onSpinWait()}.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SpinPingPongBenchmark
{
    private static final VarHandle REQUEST;
    private static final VarHandle REPLY;

    static
    {
        try
        {
            REQUEST = MethodHandles.lookup().findVarHandle(Lines.class, "request", long.class);
            REPLY = MethodHandles.lookup().findVarHandle(Lines.class, "reply", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    /** Request and reply fields, padded apart so they sit on separate cache lines. */
    static final class Lines
    {
        @SuppressWarnings("unused")
        long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p0a, p0b, p0c, p0d, p0e, p0f;
        long request;
        @SuppressWarnings("unused")
        long p10, p11, p12, p13, p14, p15, p16, p17, p18, p19, p1a, p1b, p1c, p1d, p1e, p1f;
        long reply;
        @SuppressWarnings("unused")
        long p20, p21, p22, p23, p24, p25, p26, p27, p28, p29, p2a, p2b, p2c, p2d, p2e, p2f;
    }

    /** {@code oneLine} or {@code twoLines}. */
    @Param({"oneLine", "twoLines"})
    public String layout;

    private final Lines lines = new Lines();
    private volatile boolean running;
    private Thread echo;
    private long seq;
    private boolean oneLine;

    /** Starts the echo thread. */
    @Setup(Level.Trial)
    public void setUp()
    {
        oneLine = "oneLine".equals(layout);
        running = true;
        echo = new Thread(oneLine ? this::echoOneLine : this::echoTwoLines, "ping-pong-echo");
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

    private void echoOneLine()
    {
        long last = 0;
        while (running)
        {
            final long v = (long)REQUEST.getAcquire(lines);
            if ((v & 1) == 1 && v != last)
            {
                last = v + 1;
                REQUEST.setRelease(lines, last);
            }
            else
            {
                Thread.onSpinWait();
            }
        }
    }

    private void echoTwoLines()
    {
        long last = 0;
        while (running)
        {
            final long v = (long)REQUEST.getAcquire(lines);
            if (v != last)
            {
                last = v;
                REPLY.setRelease(lines, v);
            }
            else
            {
                Thread.onSpinWait();
            }
        }
    }

    /**
     * One round trip.
     *
     * @return the answer, so nothing is optimised away.
     */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public long roundTrip()
    {
        if (oneLine)
        {
            final long ask = (seq += 2) - 1;
            REQUEST.setRelease(lines, ask);
            long v;
            while ((v = (long)REQUEST.getAcquire(lines)) != ask + 1)
            {
                Thread.onSpinWait();
            }
            return v;
        }
        final long ask = ++seq;
        REQUEST.setRelease(lines, ask);
        long v;
        while ((v = (long)REPLY.getAcquire(lines)) != ask)
        {
            Thread.onSpinWait();
        }
        return v;
    }
}
