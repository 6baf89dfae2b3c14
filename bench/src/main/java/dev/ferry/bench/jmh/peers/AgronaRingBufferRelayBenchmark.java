package dev.ferry.bench.jmh.peers;

import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;

/**
 * A request/reply relay over two Agrona {@link OneToOneRingBuffer}s (64 KiB each, off-heap): the caller writes an
 * 8-byte record into the request ring, the echo thread reads it and writes it into the reply ring. Records are
 * copied, not referenced, as between processes; the handlers are fields, so nothing is allocated per call. Both sides poll and back off with
 * {@link HandOffBenchmark#pollerIdle()} when there is nothing to read.
 *
 * <p>Threading: the JMH thread writes requests and reads replies; the echo thread, started per trial, does the
 * reverse. Each ring has exactly one writer and one reader.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class AgronaRingBufferRelayBenchmark extends BatchedHandOffBenchmark
{
    private static final int MSG = 1;
    private static final int CAPACITY = 64 * 1024;

    private final OneToOneRingBuffer requests = ring();
    private final OneToOneRingBuffer replies = ring();
    private final UnsafeBuffer out = new UnsafeBuffer(ByteBuffer.allocateDirect(8));
    private final long[] reply = new long[1];
    private final IdleStrategy callerIdle = pollerIdle();
    private final MessageHandler onReply = (type, buffer, index, length) ->
    {
        reply[0] = buffer.getLong(index);
        received = true;
    };
    private final MessageHandler echoOne = (type, buffer, index, length) ->
    {
        while (!replies.write(MSG, buffer, index, length))
        {
            Thread.onSpinWait();
        }
    };
    private volatile boolean running;
    private Thread echo;
    private boolean received;

    private static OneToOneRingBuffer ring()
    {
        return new OneToOneRingBuffer(
            new UnsafeBuffer(ByteBuffer.allocateDirect(CAPACITY + RingBufferDescriptor.TRAILER_LENGTH)));
    }

    @Override
    protected void start()
    {
        running = true;
        echo = daemon("agrona-echo", () ->
        {
            final IdleStrategy idle = pollerIdle();
            while (running)
            {
                final int n = requests.read(echoOne, 64);
                idle.idle(n);
            }
        });
    }

    @Override
    protected void stop() throws InterruptedException
    {
        running = false;
        echo.join(5_000);
    }

    @Override
    protected void send(final long[] request)
    {
        out.putLong(0, request[0]);
        while (!requests.write(MSG, out, 0, 8))
        {
            Thread.onSpinWait();
        }
    }

    @Override
    protected long[] receive()
    {
        received = false;
        callerIdle.reset();
        while (replies.read(onReply, 1) == 0)
        {
            callerIdle.idle();
        }
        if (!received)
        {
            throw new IllegalStateException("the reply ring reported a record but handed none over");
        }
        return reply;
    }
}
