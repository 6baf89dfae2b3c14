package dev.ferry.bench.jmh.peers;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;

import java.util.concurrent.TimeUnit;

/**
 * A {@link HandOffBenchmark} whose peer can hold a batch: it adds {@link #batch32()}, 32 requests sent, then their
 * 32 replies collected, counted as 32 operations.
 *
 * <p>Threading: as {@link HandOffBenchmark}.
 */
public abstract class BatchedHandOffBenchmark extends HandOffBenchmark
{
    /**
     * Thirty-two requests, then their replies, as throughput per request.
     *
     * @return a running sum of the replies.
     * @throws Exception if the peer fails.
     */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    @OperationsPerInvocation(BATCH)
    public long batch32() throws Exception
    {
        return roundTrips(BATCH);
    }
}
