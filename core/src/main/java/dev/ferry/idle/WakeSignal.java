package dev.ferry.idle;

import java.util.concurrent.locks.LockSupport;

/**
 * Lets producers wake a poller that has backed off all the way to parking, as io_uring's
 * {@code IORING_SQ_NEED_WAKEUP} lets a submitter wake a sleeping SQ-poll thread: the poller announces itself here
 * just before it parks, and a producer that has just published work calls {@link #wake()}, which unparks it only if
 * it is asleep. A message that arrives while its poller sleeps then waits one wake-up (tens of microseconds) rather
 * than the rest of a park period.
 *
 * <p>Best effort by design: {@link #wake()} reads the flag without a full fence after the producer's publication, so a
 * producer racing with a poller that is just going to sleep can miss it; the poller's park is always timed, so the
 * miss costs at most one park period and nothing is lost. That keeps a fence off every publication.
 *
 * <p>Threading: {@link #sleeping()} and {@link #awake()} are called by the one polling thread that owns the signal;
 * {@link #wake()} by any producer thread.
 */
public final class WakeSignal
{
    @SuppressWarnings("unused")
    private long p00, p01, p02, p03, p04, p05, p06, p07;
    private volatile Thread sleeper;
    @SuppressWarnings("unused")
    private long p10, p11, p12, p13, p14, p15, p16, p17;

    /** The owning poller is about to park. */
    public void sleeping()
    {
        sleeper = Thread.currentThread();
    }

    /** The owning poller is awake again. */
    public void awake()
    {
        sleeper = null;
    }

    /** Unparks the owning poller if it is parked (or about to park); does nothing, cheaply, otherwise. */
    public void wake()
    {
        final Thread t = sleeper;
        if (t != null)
        {
            LockSupport.unpark(t);
        }
    }

    /**
     * @return whether the owning poller said it is parked; a racy snapshot.
     */
    public boolean isSleeping()
    {
        return sleeper != null;
    }
}
