package dev.ferry.bench.jmh.peers;

import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The JDK's blocking hand-off through a bounded queue each way, which can hold a batch:
 * {@code ArrayBlockingQueue} of 1024 (one lock per queue, a condition signalled per element) or an unbounded
 * {@code LinkedBlockingQueue} (two locks per queue, one node allocated per element). Both sides block
 * ({@code put}/{@code take}): a waiting thread parks and is woken by the other, the BLOCKING mode's cost without
 * Ferry.
 *
 * <p>Threading: the JMH thread puts requests and takes replies; the echo thread, started per trial, takes requests
 * and puts them back as replies.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class BlockingQueueBenchmark extends BatchedHandOffBenchmark
{
    /** The JDK queue under test. */
    @Param({"ArrayBlockingQueue", "LinkedBlockingQueue"})
    public String queue;

    private BlockingQueue<long[]> requests;
    private BlockingQueue<long[]> replies;
    private Thread echo;

    private BlockingQueue<long[]> newQueue()
    {
        return "ArrayBlockingQueue".equals(queue) ? new ArrayBlockingQueue<>(1024) : new LinkedBlockingQueue<>();
    }

    @Override
    protected void start()
    {
        requests = newQueue();
        replies = newQueue();
        echo = daemon(queue + "-echo", () ->
        {
            try
            {
                while (true)
                {
                    replies.put(requests.take());
                }
            }
            catch (final InterruptedException ex)
            {
                // Stopped by tearDown.
            }
        });
    }

    @Override
    protected void stop() throws InterruptedException
    {
        interruptAndJoin(echo);
    }

    @Override
    protected void send(final long[] request) throws InterruptedException
    {
        requests.put(request);
    }

    @Override
    protected long[] receive() throws InterruptedException
    {
        return replies.take();
    }
}
