package dev.ferry.affinity.pin;

import java.util.BitSet;

import dev.ferry.affinity.topology.CpuSet;
import net.openhft.affinity.Affinity;

/**
 * A thread's pinning to one CPU, verified when made; {@link #close()} restores the affinity the thread had
 * before.
 *
 * <p>Confined to the pinned thread: {@link #close()} must be called on it (Linux sets a thread's own
 * affinity only); calling it elsewhere throws. Closing twice does nothing.
 */
public final class Pin implements AutoCloseable
{
    private final Thread thread;
    private final int cpu;
    private final CpuSet previous;
    private boolean closed;

    Pin(final Thread thread, final int cpu, final CpuSet previous)
    {
        this.thread = thread;
        this.cpu = cpu;
        this.previous = previous;
    }

    /**
     * @return the CPU the thread is pinned to.
     */
    public int cpu()
    {
        return cpu;
    }

    /**
     * @return the affinity the thread had before, restored by {@link #close()}.
     */
    public CpuSet previous()
    {
        return previous;
    }

    /**
     * @return the pinned thread.
     */
    public Thread thread()
    {
        return thread;
    }

    /**
     * Restores the thread's previous affinity.
     *
     * @throws IllegalStateException if called from another thread than the pinned one.
     */
    @Override
    public void close()
    {
        if (Thread.currentThread() != thread)
        {
            throw new IllegalStateException("a pin is released by the thread it pinned (" + thread.getName() +
                "), not by " + Thread.currentThread().getName());
        }
        if (!closed)
        {
            closed = true;
            final BitSet mask = previous.toBitSet();
            Affinity.setAffinity(mask);
        }
    }

    @Override
    public String toString()
    {
        return "Pin{" + thread.getName() + " on CPU " + cpu + ", previously " + previous + (closed ? ", released" : "") + "}";
    }
}
