package dev.ferry.bench.jmh.peers;

import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The everyday way to run work on another thread: {@code submit} a task to a single-thread
 * {@link ExecutorService} and {@code get} its future. Each call allocates its task and future, and the caller parks
 * in {@code get} until the worker unparks it.
 *
 * <p>Threading: the JMH thread submits and waits; the executor's one worker thread, started per trial, runs the
 * tasks.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class ExecutorServiceBenchmark extends BatchedHandOffBenchmark
{
    @SuppressWarnings("unchecked")
    private final Future<long[]>[] pending = new Future[BATCH];
    private ExecutorService executor;
    private int head;
    private int tail;

    @Override
    protected void start()
    {
        executor = Executors.newSingleThreadExecutor(r ->
        {
            final Thread t = new Thread(r, "executor-echo");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    protected void stop() throws InterruptedException
    {
        executor.shutdownNow();
        if (!executor.awaitTermination(5, TimeUnit.SECONDS))
        {
            throw new IllegalStateException("the executor did not stop within 5 s of shutdownNow()");
        }
    }

    @Override
    protected void send(final long[] request)
    {
        pending[tail++ & (BATCH - 1)] = executor.submit(() -> request);
    }

    @Override
    protected long[] receive() throws InterruptedException, ExecutionException
    {
        final int i = head++ & (BATCH - 1);
        final Future<long[]> f = pending[i];
        pending[i] = null;
        return f.get();
    }
}
