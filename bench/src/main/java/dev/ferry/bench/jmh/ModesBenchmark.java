package dev.ferry.bench.jmh;

import dev.ferry.Client;
import dev.ferry.CompletionHandler;
import dev.ferry.Kernel;
import org.agrona.concurrent.UnsafeBuffer;
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
 * Ferry's four modes with one trivial handler (it returns the 8-byte request as the reply): round-trip latency of
 * one synchronous call, and throughput of batches of 1 and 32 calls (submit all, flush once, collect all). Run it
 * beside {@link SpinPingPongBenchmark} and {@link JcToolsEchoBenchmark} in one JMH run to read the cost of each
 * path as a ratio to the hardware's floor and to a hand-written queue pair.
 *
 * <p>Threading: one JMH thread, which owns the client; the kernel's agents run on their own threads.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ModesBenchmark
{
    /** The mode under test. */
    @Param({"INLINE", "BLOCKING", "DIRECT", "MOVER"})
    public String mode;

    private Kernel kernel;
    private Client client;
    private final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
    private final UnsafeBuffer reply = new UnsafeBuffer(new byte[8]);
    private long replies;
    private final CompletionHandler count = completion -> replies += completion.length();

    /** Starts a kernel in the mode under test and a client owned by the benchmark thread. */
    @Setup(Level.Trial)
    public void setUp()
    {
        kernel = Kernel.builder()
            .mode(dev.ferry.Mode.valueOf(mode))
            .service(0, (msg, length) -> length)
            .build()
            .start();
        client = kernel.newClient();
        request.putLong(0, 42);
    }

    /** Closes the client and the kernel; no agent thread survives the trial. */
    @TearDown(Level.Trial)
    public void tearDown()
    {
        client.close();
        kernel.close();
    }

    /**
     * One synchronous call: submit, flush, wait for the reply.
     *
     * @return the reply's length, so the call cannot be optimised away.
     */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.NANOSECONDS)
    public int roundTrip()
    {
        return client.call(0, request, 0, 8, reply, 0);
    }

    /**
     * One call per batch, collected before the next.
     *
     * @return the replies' bytes so far.
     */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public long batch1()
    {
        return batch(1);
    }

    /**
     * Thirty-two calls per batch: submitted, published with one flush, all collected before the next batch.
     *
     * @return the replies' bytes so far.
     */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(32)
    public long batch32()
    {
        return batch(32);
    }

    private long batch(final int size)
    {
        for (int i = 0; i < size; i++)
        {
            client.submit(0, request, 0, 8);
        }
        client.flush();
        int left = size;
        while (left > 0)
        {
            left -= client.await(count, left);
        }
        return replies;
    }
}
