package dev.ferry.idle;

/**
 * The {@link WakeSignal}s a producer owes a wake after publishing a batch of work: a server that posted replies to
 * several clients, a mover that carried replies back. Each signal is woken once, after the batch, so a batch costs
 * one {@link WakeSignal#wake()} (one fence, one read) per consumer rather than one per message; repeats of the
 * signal added last are dropped, others are harmless (a second wake of an awake poller only reads its flag).
 *
 * <p>Threading: owned by one producer thread.
 */
public final class WakeBatch
{
    private final WakeSignal[] pending;
    private int count;

    /**
     * @param capacity signals held before the batch wakes them early; at least 1.
     */
    public WakeBatch(final int capacity)
    {
        if (capacity < 1)
        {
            throw new IllegalArgumentException("capacity is " + capacity + "; it must be at least 1");
        }
        this.pending = new WakeSignal[capacity];
    }

    /**
     * Owes {@code signal} a wake at the end of the batch.
     *
     * @param signal the consumer's signal.
     */
    public void add(final WakeSignal signal)
    {
        if (count > 0 && pending[count - 1] == signal)
        {
            return;
        }
        if (count == pending.length)
        {
            wakeAll();
        }
        pending[count++] = signal;
    }

    /** Wakes every signal owed, in the order added, and forgets them. */
    public void wakeAll()
    {
        for (int i = 0; i < count; i++)
        {
            pending[i].wake();
            pending[i] = null;
        }
        count = 0;
    }

    /**
     * @return signals owed a wake.
     */
    public int pending()
    {
        return count;
    }
}
