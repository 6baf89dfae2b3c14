package dev.ferry.bench.ipc;

import io.aeron.Aeron;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.logbuffer.FragmentHandler;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.concurrent.TimeUnit;

/**
 * Aeron IPC ({@code aeron:ipc}) as its documentation advises for latency between processes: an embedded
 * {@link MediaDriver} in SHARED threading mode with a backoff idle strategy, clients pre-touching their mapped
 * memory, an exclusive publication per direction, busy-polled subscriptions.
 *
 * <p>Not thread-safe: one measuring thread.
 */
final class AeronTransport implements Transport
{
    static final String CHANNEL = "aeron:ipc";
    static final int PING_STREAM = 1001;
    static final int PONG_STREAM = 1002;

    private final MediaDriver driver;
    private final Aeron aeron;
    private final Publication pub;
    private final Subscription sub;
    private final UnsafeBuffer message;
    private final int[] received = new int[1];
    private final FragmentHandler handler;

    AeronTransport(final MediaDriver driver, final int msgBytes, final long connectTimeoutMs)
    {
        this.driver = driver;
        this.aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName())
            .preTouchMappedMemory(true));
        this.pub = aeron.addExclusivePublication(CHANNEL, PING_STREAM);
        this.sub = aeron.addSubscription(CHANNEL, PONG_STREAM);
        this.message = new UnsafeBuffer(new byte[msgBytes]);
        this.handler = new FragmentAssembler((buffer, offset, length, header) -> received[0]++);
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(connectTimeoutMs);
        while (!pub.isConnected() || !sub.isConnected())
        {
            if (System.nanoTime() - deadline > 0)
            {
                throw new IllegalStateException("Aeron peer did not connect within " + connectTimeoutMs + " ms");
            }
            Thread.onSpinWait();
        }
    }

    static MediaDriver launchDriver(final String dir)
    {
        return MediaDriver.launchEmbedded(new MediaDriver.Context()
            .aeronDirectoryName(dir)
            .threadingMode(ThreadingMode.SHARED)
            .sharedIdleStrategy(new BackoffIdleStrategy())
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true));
    }

    @Override
    public boolean send()
    {
        return pub.offer(message, 0, message.capacity()) > 0;
    }

    @Override
    public int poll()
    {
        received[0] = 0;
        sub.poll(handler, 64);
        return received[0];
    }

    @Override
    public void close()
    {
        sub.close();
        pub.close();
        aeron.close();
    }

    MediaDriver driver()
    {
        return driver;
    }
}
