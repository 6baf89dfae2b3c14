package dev.ferry.bench.jmh.peers;

import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TransferQueue;

/**
 * The JDK's direct hand-off each way, where every send waits until the other thread has taken the element: a
 * {@code SynchronousQueue} ({@code put}, no capacity) or a {@code LinkedTransferQueue} ({@code transfer}). Their
 * waiters spin briefly, then park. There is no batch-32 variant: a direct hand-off holds no element, so 32 requests
 * cannot be in flight at once.
 *
 * <p>Threading: the JMH thread hands over requests and takes replies; the echo thread, started per trial, takes
 * requests and hands them back as replies.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class DirectHandOffBenchmark extends HandOffBenchmark
{
    /** The JDK hand-off under test. */
    @Param({"SynchronousQueue", "LinkedTransferQueue"})
    public String queue;

    private TransferQueue<long[]> requests;
    private TransferQueue<long[]> replies;
    private SynchronousQueue<long[]> syncRequests;
    private SynchronousQueue<long[]> syncReplies;
    private Thread echo;

    @Override
    protected void start()
    {
        if ("SynchronousQueue".equals(queue))
        {
            syncRequests = new SynchronousQueue<>();
            syncReplies = new SynchronousQueue<>();
        }
        else
        {
            requests = new LinkedTransferQueue<>();
            replies = new LinkedTransferQueue<>();
        }
        echo = daemon(queue + "-echo", () ->
        {
            try
            {
                while (true)
                {
                    if (syncRequests != null)
                    {
                        syncReplies.put(syncRequests.take());
                    }
                    else
                    {
                        replies.transfer(requests.take());
                    }
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
        if (syncRequests != null)
        {
            syncRequests.put(request);
        }
        else
        {
            requests.transfer(request);
        }
    }

    @Override
    protected long[] receive() throws InterruptedException
    {
        return syncReplies != null ? syncReplies.take() : replies.take();
    }
}
