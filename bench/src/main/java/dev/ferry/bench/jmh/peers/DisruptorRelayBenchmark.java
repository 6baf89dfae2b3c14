package dev.ferry.bench.jmh.peers;

import com.lmax.disruptor.BatchEventProcessor;
import com.lmax.disruptor.BatchEventProcessorBuilder;
import com.lmax.disruptor.YieldingWaitStrategy;
import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.RingBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A request/reply relay over two LMAX Disruptor ring buffers of 1024 pre-allocated events: the caller claims and
 * publishes a request event; a {@link BatchEventProcessor} (Disruptor's yielding wait strategy: 100 spins, then
 * {@code Thread.yield()}, its choice for machines with few cores) handles it by publishing a reply event into the
 * reply ring, which the caller drains with an {@link EventPoller}, backing off with
 * {@link HandOffBenchmark#pollerIdle()}. Nothing is allocated per call.
 *
 * <p>Threading: the JMH thread is the request ring's single producer and the reply ring's poller; the processor's
 * thread, started per trial, is the request ring's consumer and the reply ring's single producer.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class DisruptorRelayBenchmark extends BatchedHandOffBenchmark
{
    /** A ring entry: one long. */
    public static final class LongEvent
    {
        long value;
    }

    private final RingBuffer<LongEvent> requests =
        RingBuffer.createSingleProducer(LongEvent::new, 1024, new YieldingWaitStrategy());
    private final RingBuffer<LongEvent> replies =
        RingBuffer.createSingleProducer(LongEvent::new, 1024, new YieldingWaitStrategy());
    private final long[] reply = new long[1];
    private final IdleStrategy callerIdle = pollerIdle();
    private final EventPoller.Handler<LongEvent> onReply = (event, seq, end) ->
    {
        reply[0] = event.value;
        return false;
    };
    private EventPoller<LongEvent> poller;
    private BatchEventProcessor<LongEvent> processor;
    private Thread echo;

    @Override
    protected void start()
    {
        poller = replies.newPoller();
        replies.addGatingSequences(poller.getSequence());
        processor = new BatchEventProcessorBuilder().build(requests, requests.newBarrier(), (event, seq, end) ->
        {
            final long s = replies.next();
            replies.get(s).value = event.value;
            replies.publish(s);
        });
        requests.addGatingSequences(processor.getSequence());
        echo = daemon("disruptor-echo", processor);
    }

    @Override
    protected void stop() throws InterruptedException
    {
        processor.halt();
        echo.join(5_000);
    }

    @Override
    protected void send(final long[] request)
    {
        final long s = requests.next();
        requests.get(s).value = request[0];
        requests.publish(s);
    }

    @Override
    protected long[] receive() throws Exception
    {
        callerIdle.reset();
        while (poller.poll(onReply) != EventPoller.PollState.PROCESSING)
        {
            callerIdle.idle();
        }
        return reply;
    }
}
