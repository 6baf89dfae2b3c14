package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The process's heartbeat stamper: one daemon thread that writes {@link System#nanoTime()} (CLOCK_MONOTONIC on
 * Linux, the same clock in every process of the machine) into the heartbeat field of every client and server entry
 * this process holds, at the shortest registered interval. A process that dies stops stamping; that is how the
 * others learn of it. Each entry also names what must be alive for it to be stamped (a server's agent thread, a
 * client's owner thread): once that has died the entry is dropped and its heartbeat ages, so a process that goes on
 * living does not keep a dead role looking alive. A thread busy in a long handler still counts as alive: per-call
 * deadlines, not heartbeats, bound how long a caller waits for it.
 *
 * <p>Entries are found by identity, never by {@code equals}: an Agrona buffer's {@code equals} compares contents,
 * which would read a mapping that may already be unmapped.
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

    /** One stamped field. Identity only: no {@code equals} or {@code hashCode} of its own. */
    private static final class Entry
    {
        private final UnsafeBuffer buffer;
        private final int offset;
        private final long intervalNs;
        private final BooleanSupplier alive;

        private Entry(final UnsafeBuffer buffer, final int offset, final long intervalNs, final BooleanSupplier alive)
        {
            this.buffer = buffer;
            this.offset = offset;
            this.intervalNs = intervalNs;
            this.alive = alive;
        }
    }

    /**
     * Stamps {@code offset} now and then at {@code intervalNs} (or a shorter interval another entry needs) while
     * {@code alive} says so.
     *
     * @return the handle for {@link #unregister}.
     */
    static Object register(
        final UnsafeBuffer buffer, final int offset, final long intervalNs, final BooleanSupplier alive)
    {
        final Entry entry = new Entry(buffer, offset, intervalNs, alive);
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

    /** Stops stamping the entry; idempotent. */
    static void unregister(final Object handle)
    {
        synchronized (LOCK)
        {
            for (int i = ENTRIES.size() - 1; i >= 0; i--)
            {
                if (ENTRIES.get(i) == handle)
                {
                    ENTRIES.remove(i);
                }
            }
        }
    }

    /** @return entries stamped now (tests). */
    static int registered()
    {
        synchronized (LOCK)
        {
            return ENTRIES.size();
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
                for (int i = ENTRIES.size() - 1; i >= 0; i--)
                {
                    final Entry e = ENTRIES.get(i);
                    if (!e.alive.getAsBoolean())
                    {
                        ENTRIES.remove(i);
                        continue;
                    }
                    e.buffer.putLongOrdered(e.offset, now);
                    interval = Math.min(interval, e.intervalNs);
                }
            }
            LockSupport.parkNanos(Heartbeats.class, Math.max(1_000_000L, interval / 2));
        }
    }
}
