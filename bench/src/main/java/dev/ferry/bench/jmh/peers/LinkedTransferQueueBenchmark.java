package dev.ferry.bench.jmh.peers;

import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.LinkedTransferQueue;

/**
 * The JDK's direct hand-off through a LinkedTransferQueue each way, with {@code transfer}, which waits until the consumer has taken the element. Its waiters spin briefly, then park. There is no batch-32 variant: a
 * hand-off holds no element, so 32 requests cannot be in flight at once.
 *
 * <p>Threading: the JMH thread hands over requests and takes replies; the echo thread, started per trial, takes
 * requests and hands them back as replies.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class LinkedTransferQueueBenchmark extends HandOffBenchmark
{
    private final LinkedTransferQueue<long[]> requests = new LinkedTransferQueue<>();
    private final LinkedTransferQueue<long[]> replies = new LinkedTransferQueue<>();
    private Thread echo;

    @Override
    protected void start()
    {
        echo = daemon("LinkedTransferQueue-echo", () ->
        {
            try
            {
                while (true)
                {
                    replies.transfer(requests.take());
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
        requests.transfer(request);
    }

    @Override
    protected long[] receive() throws InterruptedException
    {
        return replies.take();
    }
}
