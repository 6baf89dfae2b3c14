package dev.ferry;

import org.agrona.MutableDirectBuffer;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * An echo handler that holds the server inside one call: a request whose first int is the marker signals
 * {@link #awaitHeld} and waits for {@link #release()}; every other request is echoed at once. For tests that need
 * the server busy (its lanes' consumer positions still) while they arrange the next requests.
 *
 * <p>Threading: the handler runs on the server's thread; the test thread awaits and releases.
 */
final class HoldingHandler implements Handler
{
    private final int marker;
    private final CountDownLatch held = new CountDownLatch(1);
    private final CountDownLatch release = new CountDownLatch(1);

    HoldingHandler(final int marker)
    {
        this.marker = marker;
    }

    @Override
    public int onCall(final MutableDirectBuffer message, final int length)
    {
        if (message.getInt(0) == marker)
        {
            held.countDown();
            try
            {
                release.await();
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        return length;
    }

    /** @return true once the server is inside the held call, false if that took longer than 10 s. */
    boolean awaitHeld() throws InterruptedException
    {
        return held.await(10, TimeUnit.SECONDS);
    }

    void release()
    {
        release.countDown();
    }
}
