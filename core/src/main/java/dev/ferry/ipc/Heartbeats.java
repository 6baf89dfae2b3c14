package dev.ferry.ipc;

import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * The process's heartbeat stamper: one daemon thread that writes {@link System#nanoTime()} (CLOCK_MONOTONIC on
 * Linux, the same clock in every process of the machine) into the heartbeat field of every client and server entry
 * this process holds, at the shortest registered interval. A process that dies stops stamping; that is how the
 * others learn of it. Liveness is the process's, not its threads': a thread busy in a long handler still counts as
 * alive.
 *
 * <p>Threading: {@link #register} and {@link #unregister} may be called from any thread; after
 * {@link #unregister} returns, the stamper no longer touches that buffer, which may then be unmapped.
 */
final class Heartbeats
{
    private static final Object LOCK = new Object();
    private static final List<Entry> ENTRIES = new ArrayList<>();
    private static Thread thread;

    private Heartbeats()
    {
    }

    private record Entry(UnsafeBuffer buffer, int offset, long intervalNs)
    {
    }

    static Object register(final UnsafeBuffer buffer, final int offset, final long intervalNs)
    {
        final Entry entry = new Entry(buffer, offset, intervalNs);
        synchronized (LOCK)
        {
            buffer.putLongOrdered(offset, System.nanoTime());
            ENTRIES.add(entry);
            if (thread == null)
            {
                thread = new Thread(Heartbeats::run, "ferry-ipc-heartbeat");
                thread.setDaemon(true);
                thread.start();
            }
            else
            {
                LockSupport.unpark(thread);
            }
        }
        return entry;
    }

    static void unregister(final Object handle)
    {
        synchronized (LOCK)
        {
            ENTRIES.remove(handle);
        }
    }

    private static void run()
    {
        while (true)
        {
            long interval = 100_000_000L;
            synchronized (LOCK)
            {
                final long now = System.nanoTime();
                for (final Entry e : ENTRIES)
                {
                    e.buffer.putLongOrdered(e.offset, now);
                    interval = Math.min(interval, e.intervalNs);
                }
            }
            LockSupport.parkNanos(Heartbeats.class, Math.max(1_000_000L, interval / 2));
        }
    }
}
