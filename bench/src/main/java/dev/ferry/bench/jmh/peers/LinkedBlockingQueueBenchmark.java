package dev.ferry.bench.jmh.peers;

import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.LinkedBlockingQueue;

/**
 * The JDK's blocking hand-off through an unbounded LinkedBlockingQueue each way: two locks per queue and one node allocated per element. Both sides block ({@code put}/{@code take}): a waiting thread
 * parks and is woken by the other, the BLOCKING mode's cost without Ferry.
 *
 * <p>Threading: the JMH thread puts requests and takes replies; the echo thread, started per trial, takes requests
 * and puts them back as replies.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LinkedBlockingQueueBenchmark extends BatchedHandOffBenchmark
{
    private final LinkedBlockingQueue<long[]> requests = new LinkedBlockingQueue<>();
    private final LinkedBlockingQueue<long[]> replies = new LinkedBlockingQueue<>();
    private Thread echo;

    @Override
    protected void start()
    {
        echo = daemon("LinkedBlockingQueue-echo", () ->
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
