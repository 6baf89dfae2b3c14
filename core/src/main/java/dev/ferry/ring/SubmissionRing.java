package dev.ferry.ring;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

abstract class SubmissionRingPad0
{
    @SuppressWarnings("unused")
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p0a, p0b, p0c, p0d, p0e, p0f;
}

abstract class SubmissionRingProducer extends SubmissionRingPad0
{
    /** Producer-private: the next index to stage into. */
    long stagedTail;
    /** Producer-private: the consumer's head as last read. */
    long headCache;
    /** Written by the producer with a release store (the doorbell); read by the consumer with acquire. */
    long tail;
}

abstract class SubmissionRingPad1 extends SubmissionRingProducer
{
    @SuppressWarnings("unused")
    long p10, p11, p12, p13, p14, p15, p16, p17, p18, p19, p1a, p1b, p1c, p1d, p1e, p1f;
}

abstract class SubmissionRingConsumer extends SubmissionRingPad1
{
    /** Written by the consumer with a release store once it has read entries below it; read by the producer. */
    long head;
    /** Consumer-private: the producer's tail as last read. */
    long tailCache;
}

abstract class SubmissionRingPad2 extends SubmissionRingConsumer
{
    @SuppressWarnings("unused")
    long p20, p21, p22, p23, p24, p25, p26, p27, p28, p29, p2a, p2b, p2c, p2d, p2e, p2f;
}

/**
 * A client's submission ring (SQ): a single-producer, single-consumer ring of slot references in which the
 * producer stages any number of entries with plain stores and publishes the whole batch with one release store of
 * its tail (the doorbell), as io_uring's submission queue does. The consumer reads every entry below the tail it
 * acquired, then frees them with one release store of its head.
 *
 * <p>Threading: exactly one producer thread calls {@link #stage}, {@link #publish()} and {@link #staged()}; exactly
 * one consumer thread at a time calls {@link #available()}, {@link #get(int)} and {@link #release(int)} (the same
 * thread may be both). A change of consumer thread (the kernel sweeping the ring after its mover stopped) must
 * happen-after the previous consumer's last call, such as through {@link Thread#join()}.
 */
public final class SubmissionRing extends SubmissionRingPad2
{
    private static final VarHandle TAIL;
    private static final VarHandle HEAD;

    static
    {
        try
        {
            final MethodHandles.Lookup lookup = MethodHandles.lookup();
            TAIL = lookup.findVarHandle(SubmissionRingProducer.class, "tail", long.class);
            HEAD = lookup.findVarHandle(SubmissionRingConsumer.class, "head", long.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final Slot[] entries;
    private final int mask;
    private final int capacity;

    /**
     * @param capacity entries the ring holds; a power of two, at least 2.
     */
    public SubmissionRing(final int capacity)
    {
        Capacity.check("submission ring capacity", capacity, 2);
        this.capacity = capacity;
        this.mask = capacity - 1;
        this.entries = new Slot[capacity];
    }

    /**
     * @return entries the ring holds.
     */
    public int capacity()
    {
        return capacity;
    }

    // ---------------------------------------------------------------- producer side

    /**
     * Stages one entry without publishing it. Producer only.
     *
     * @param slot the entry.
     * @return false, staging nothing, when the ring is full.
     */
    public boolean stage(final Slot slot)
    {
        final long t = stagedTail;
        if (t - headCache >= capacity)
        {
            headCache = (long)HEAD.getAcquire(this);
            if (t - headCache >= capacity)
            {
                return false;
            }
        }
        entries[(int)t & mask] = slot;
        stagedTail = t + 1;
        return true;
    }

    /**
     * Publishes every staged entry with one release store. Producer only.
     *
     * @return how many entries this made visible to the consumer.
     */
    public int publish()
    {
        final long staged = stagedTail;
        final long published = tail;
        if (staged == published)
        {
            return 0;
        }
        TAIL.setRelease(this, staged);
        return (int)(staged - published);
    }

    /**
     * Producer only.
     *
     * @return entries staged and not yet published.
     */
    public int staged()
    {
        return (int)(stagedTail - tail);
    }

    // ---------------------------------------------------------------- consumer side

    /**
     * Consumer only: how many published entries wait to be read, acquiring the producer's tail when the last one
     * read is used up.
     *
     * @return entries readable with {@link #get(int)}, from index 0.
     */
    public int available()
    {
        final long h = head;
        if (h >= tailCache)
        {
            tailCache = (long)TAIL.getAcquire(this);
        }
        return (int)(tailCache - h);
    }

    /**
     * Consumer only.
     *
     * @param i an index below what {@link #available()} returned.
     * @return the {@code i}-th unread entry.
     */
    public Slot get(final int i)
    {
        return entries[(int)(head + i) & mask];
    }

    /**
     * Consumer only: frees the first {@code n} unread entries for the producer, with one release store.
     *
     * @param n how many entries were consumed, at most what {@link #available()} returned.
     */
    public void release(final int n)
    {
        HEAD.setRelease(this, head + n);
    }
}
