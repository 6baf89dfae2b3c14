package dev.ferry.idle;

import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * Lets producers wake a poller that has backed off all the way to parking, as io_uring's
 * {@code IORING_SQ_NEED_WAKEUP} lets a submitter wake a sleeping SQ-poll thread: the poller announces itself here
 * just before it parks, and a producer that has just published work calls {@link #wake()}, which unparks it only if
 * it is asleep. A message that arrives while its poller sleeps then waits one wake-up (tens of microseconds) rather
 * than the rest of a park period.
 *
 * <p>The handshake is Dekker's: the poller stores its announcement (a volatile store, fenced) and then polls once
 * more; a producer stores its work and then {@link #wake()} fences and reads the announcement. Either the poller's
 * last poll sees the work or the producer sees the announcement, so no wake is missed. The fence is paid once per
 * batch a producer publishes, not per message. Parks stay timed all the same.
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

    /**
     * Unparks the owning poller if it is parked (or about to park); otherwise only fences and reads its flag.
     *
     * @return true if the poller had announced a park and was unparked.
     */
    public boolean wake()
    {
        // Order the work published before this call ahead of the read below (StoreLoad): without it the read can
        // pass the publication and miss a poller that announced its park and then polled too early to see it.
        VarHandle.fullFence();
        final Thread t = sleeper;
        if (t != null)
        {
            LockSupport.unpark(t);
            return true;
        }
        return false;
    }

    /**
     * @return whether the owning poller said it is parked; a racy snapshot.
     */
    public boolean isSleeping()
    {
        return sleeper != null;
    }
}
