package dev.ferry.bench.report;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Per-thread CPU time (from {@link ThreadMXBean}) and context switches (voluntary and involuntary, from
 * {@code /proc/self/task/<tid>/status} on Linux). Agent threads are found by their native name, which the JVM sets
 * from the Java name (cut to 15 characters); the calling thread reads {@code /proc/thread-self}.
 *
 * <p>Stateless and thread-safe. Where {@code /proc} is missing (not Linux), context switches read as -1.
 */
public final class ThreadStats
{
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private ThreadStats()
    {
    }

    /**
     * A snapshot of one thread's counters.
     *
     * @param cpuNs        CPU time in nanoseconds, or -1 if unknown.
     * @param voluntary    voluntary context switches (the thread blocked or yielded), or -1 if unknown.
     * @param involuntary  involuntary context switches (the scheduler preempted it), or -1 if unknown.
     */
    public record Sample(long cpuNs, long voluntary, long involuntary)
    {
        /**
         * @param earlier an earlier sample of the same thread.
         * @return the counts between the two, each -1 if unknown in either.
         */
        public Sample minus(final Sample earlier)
        {
            return new Sample(
                diff(cpuNs, earlier.cpuNs), diff(voluntary, earlier.voluntary), diff(involuntary, earlier.involuntary));
        }

        private static long diff(final long a, final long b)
        {
            return a < 0 || b < 0 ? -1 : a - b;
        }
    }

    /**
     * @return whether this JVM measures per-thread CPU time.
     */
    public static boolean cpuTimeSupported()
    {
        return THREADS.isThreadCpuTimeSupported();
    }

    /**
     * Samples the calling thread.
     *
     * @return its CPU time and context switches.
     */
    public static Sample current()
    {
        final long cpu = THREADS.isCurrentThreadCpuTimeSupported() ? THREADS.getCurrentThreadCpuTime() : -1;
        final long[] cs = switches(Path.of("/proc/thread-self/status"));
        return new Sample(cpu, cs[0], cs[1]);
    }

    /**
     * Samples another thread of this JVM.
     *
     * @param thread a live thread whose name is unique among this process's threads (first 15 characters).
     * @return its CPU time and context switches.
     */
    @SuppressWarnings("deprecation")
    public static Sample of(final Thread thread)
    {
        final long cpu = THREADS.isThreadCpuTimeSupported() ? THREADS.getThreadCpuTime(thread.getId()) : -1;
        final long[] cs = switches(taskStatus(thread.getName()));
        return new Sample(cpu, cs[0], cs[1]);
    }

    private static Path taskStatus(final String javaName)
    {
        final String comm = javaName.length() > 15 ? javaName.substring(0, 15) : javaName;
        final Path tasks = Path.of("/proc/self/task");
        if (!Files.isDirectory(tasks))
        {
            return null;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(tasks))
        {
            for (final Path dir : dirs)
            {
                try
                {
                    if (comm.equals(Files.readString(dir.resolve("comm")).strip()))
                    {
                        return dir.resolve("status");
                    }
                }
                catch (final IOException ex)
                {
                    // The task ended while we listed it: not the one we look for.
                }
            }
        }
        catch (final IOException ex)
        {
            return null;
        }
        return null;
    }

    private static long[] switches(final Path status)
    {
        final long[] cs = {-1, -1};
        if (status == null)
        {
            return cs;
        }
        try
        {
            for (final String line : Files.readAllLines(status))
            {
                if (line.startsWith("voluntary_ctxt_switches:"))
                {
                    cs[0] = Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
                }
                else if (line.startsWith("nonvoluntary_ctxt_switches:"))
                {
                    cs[1] = Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
                }
            }
        }
        catch (final IOException | NumberFormatException ex)
        {
            return new long[] {-1, -1};
        }
        return cs;
    }
}
