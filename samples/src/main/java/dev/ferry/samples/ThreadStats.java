package dev.ferry.samples;

import dev.ferry.agent.AgentRole;
import dev.ferry.agent.AgentThreadFactory;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * CPU time and context switches of a set of threads: the threads a sample's calls involve (the caller, the servers,
 * the movers). CPU time comes from {@link ThreadMXBean}; context switches (voluntary and involuntary) from
 * {@code /proc/self/task/<tid>/status} on Linux, found through {@code /proc/thread-self} read by each thread itself.
 *
 * <p>Threading: {@link #register()} is called by each tracked thread on itself (the {@link #wrap} factory does it
 * for agent threads); {@link #snapshot()} may be called from any thread while the tracked threads are alive.
 */
public final class ThreadStats
{
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();
    private final Map<Thread, Integer> tids = new ConcurrentHashMap<>();

    /**
     * @return whether this JVM measures per-thread CPU time.
     */
    public static boolean cpuTimeSupported()
    {
        return MX.isThreadCpuTimeSupported();
    }

    /**
     * Tracks the calling thread.
     */
    public void register()
    {
        if (MX.isThreadCpuTimeSupported() && !MX.isThreadCpuTimeEnabled())
        {
            MX.setThreadCpuTimeEnabled(true);
        }
        tids.put(Thread.currentThread(), currentTid());
    }

    /**
     * @param factory the factory to wrap.
     * @return a factory whose threads register themselves here before running their agent.
     */
    public AgentThreadFactory wrap(final AgentThreadFactory factory)
    {
        return (AgentRole role, int index, Runnable body) -> factory.newThread(role, index, () ->
        {
            register();
            body.run();
        });
    }

    /**
     * Waits until {@code count} threads are registered, so that a snapshot covers them all.
     *
     * @param count   how many threads to wait for.
     * @param timeoutMs for how long at most.
     * @throws IllegalStateException if they did not register in time.
     */
    public void awaitRegistered(final int count, final long timeoutMs)
    {
        final long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        while (tids.size() < count)
        {
            if (System.nanoTime() - deadline > 0)
            {
                throw new IllegalStateException("only " + tids.size() + " of " + count + " threads registered within "
                    + timeoutMs + " ms; were the agent threads made by ThreadStats.wrap(...)?");
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    /**
     * @return how many threads are tracked.
     */
    public int threads()
    {
        return tids.size();
    }

    /**
     * @return the tracked threads' CPU time and context switches so far.
     */
    public Snapshot snapshot()
    {
        long cpu = 0;
        long voluntary = 0;
        long involuntary = 0;
        boolean switchesKnown = true;
        final List<Thread> threads = new ArrayList<>(tids.keySet());
        for (final Thread t : threads)
        {
            final long ns = MX.getThreadCpuTime(t.getId());
            if (ns > 0)
            {
                cpu += ns;
            }
            final long[] cs = contextSwitches(tids.get(t));
            if (cs == null)
            {
                switchesKnown = false;
            }
            else
            {
                voluntary += cs[0];
                involuntary += cs[1];
            }
        }
        return new Snapshot(System.nanoTime(), cpu, switchesKnown ? voluntary : -1, switchesKnown ? involuntary : -1);
    }

    /**
     * @return the calling thread's Linux task id, or -1 where {@code /proc/thread-self} does not exist.
     */
    public static int currentTid()
    {
        try
        {
            final Path link = Files.readSymbolicLink(Paths.get("/proc/thread-self"));
            return Integer.parseInt(link.getFileName().toString());
        }
        catch (final IOException | UnsupportedOperationException | NumberFormatException ex)
        {
            return -1;
        }
    }

    private static long[] contextSwitches(final int tid)
    {
        if (tid < 0)
        {
            return null;
        }
        try
        {
            long voluntary = -1;
            long involuntary = -1;
            for (final String line : Files.readAllLines(Paths.get("/proc/self/task/" + tid + "/status")))
            {
                if (line.startsWith("voluntary_ctxt_switches:"))
                {
                    voluntary = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                }
                else if (line.startsWith("nonvoluntary_ctxt_switches:"))
                {
                    involuntary = Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                }
            }
            return voluntary < 0 || involuntary < 0 ? null : new long[]{voluntary, involuntary};
        }
        catch (final IOException | NumberFormatException ex)
        {
            return null;
        }
    }

    /**
     * The tracked threads' totals at one moment.
     *
     * <p>Immutable; safe to share between threads.
     *
     * @param nanoTime    {@link System#nanoTime()} when taken.
     * @param cpuNs       CPU time of all tracked threads.
     * @param voluntary   voluntary context switches, or -1 where unknown.
     * @param involuntary involuntary context switches, or -1 where unknown.
     */
    public record Snapshot(long nanoTime, long cpuNs, long voluntary, long involuntary)
    {
        /**
         * @param earlier an earlier snapshot of the same threads.
         * @return context switches between the two, or -1 where unknown.
         */
        public long switchesSince(final Snapshot earlier)
        {
            if (voluntary < 0 || earlier.voluntary < 0)
            {
                return -1;
            }
            return voluntary + involuntary - earlier.voluntary - earlier.involuntary;
        }
    }
}
