package dev.ferry.affinity.topology;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The CPUs this process may run on, and where that was learnt: the scheduler affinity the process started
 * with ({@code sched_getaffinity}, read as {@code Cpus_allowed_list} in {@code /proc/self/status}, or through
 * OpenHFT Affinity where that file is unreadable on the live system) intersected with the cgroup cpuset
 * (v2 {@code cpuset.cpus.effective}; v1 through {@code /proc/self/cpuset} and the cpuset mount). Every file
 * is read under a filesystem root, as hwloc's {@code HWLOC_FSROOT}, so a dump of another machine can be read.
 *
 * <p>Immutable; safe to share between threads. {@link #read} may be called from any thread.
 */
public final class AllowedCpus
{
    private final CpuSet cpus;
    private final boolean restricted;
    private final String source;

    private AllowedCpus(final CpuSet cpus, final boolean restricted, final String source)
    {
        this.cpus = cpus;
        this.restricted = restricted;
        this.source = source;
    }

    /**
     * @return what the live system allows this process.
     */
    public static AllowedCpus live()
    {
        return read(Path.of("/"), null);
    }

    /**
     * Reads the allowed CPUs under a filesystem root.
     *
     * @param root    the filesystem root, {@code /} for the live system.
     * @param present the CPUs present, to which the result is limited; {@code null} for no limit.
     * @return the allowed CPUs and their source; where nothing restricts them (no affinity or cpuset
     *         information) the present CPUs, with {@link #restricted()} false.
     */
    public static AllowedCpus read(final Path root, final CpuSet present)
    {
        final List<String> sources = new ArrayList<>();
        CpuSet result = null;

        final CpuSet sched = readSchedAffinity(root, sources);
        if (sched != null)
        {
            result = sched;
        }
        final CpuSet cpuset = readCgroupCpuset(root, sources);
        if (cpuset != null)
        {
            result = result == null ? cpuset : result.and(cpuset);
        }

        if (result == null)
        {
            final CpuSet all = present == null ? CpuSet.empty() : present;
            sources.add("no scheduler affinity or cgroup cpuset found under " + root +
                ": every present CPU taken as allowed");
            return new AllowedCpus(all, false, String.join("; ", sources));
        }
        return new AllowedCpus(present == null ? result : result.and(present), true, String.join("; ", sources));
    }

    /**
     * @return the allowed CPUs.
     */
    public CpuSet cpus()
    {
        return cpus;
    }

    /**
     * @return whether a scheduler mask or cpuset was found; false when every present CPU was assumed allowed.
     */
    public boolean restricted()
    {
        return restricted;
    }

    /**
     * @return which files or calls gave the set, and what each said.
     */
    public String source()
    {
        return source;
    }

    @Override
    public String toString()
    {
        return cpus + " (" + source + ")";
    }

    private static CpuSet readSchedAffinity(final Path root, final List<String> sources)
    {
        final Path status = root.resolve("proc/self/status");
        final List<String> lines = readLines(status);
        if (lines != null)
        {
            for (final String line : lines)
            {
                if (line.startsWith("Cpus_allowed_list:"))
                {
                    final CpuSet set = CpuSet.parseList(line.substring("Cpus_allowed_list:".length()));
                    sources.add("sched_getaffinity " + set + " (" + status + " Cpus_allowed_list)");
                    return set;
                }
            }
        }
        if (isLiveRoot(root))
        {
            final CpuSet set = NativeAffinityMask.currentThread();
            if (set != null)
            {
                sources.add("sched_getaffinity " + set + " (OpenHFT Affinity, calling thread)");
                return set;
            }
        }
        return null;
    }

    private static CpuSet readCgroupCpuset(final Path root, final List<String> sources)
    {
        final List<String> mounts = readLines(root.resolve("proc/mounts"));
        if (mounts == null)
        {
            return null;
        }
        String v2Mount = null;
        String v1Mount = null;
        boolean v1IsCpusetFs = false;
        for (final String line : mounts)
        {
            final String[] f = line.trim().split("\\s+");
            if (f.length < 4)
            {
                continue;
            }
            final String mountPoint = unescapeMount(f[1]);
            if ("cgroup2".equals(f[2]) && v2Mount == null)
            {
                v2Mount = mountPoint;
            }
            else if ("cpuset".equals(f[2]) && v1Mount == null)
            {
                v1Mount = mountPoint;
                v1IsCpusetFs = true;
            }
            else if ("cgroup".equals(f[2]) && v1Mount == null && List.of(f[3].split(",")).contains("cpuset"))
            {
                v1Mount = mountPoint;
            }
        }

        if (v1Mount != null)
        {
            final String path = v1CgroupPath(root);
            if (path != null)
            {
                final Path dir = under(root, v1Mount).resolve(relative(path));
                final String[] names = v1IsCpusetFs ?
                    new String[]{ "cpus" } : new String[]{ "cpuset.effective_cpus", "cpuset.cpus" };
                for (final String name : names)
                {
                    final String text = readFirstLine(dir.resolve(name));
                    if (text != null)
                    {
                        final CpuSet set = CpuSet.parseList(text);
                        sources.add("cgroup v1 cpuset " + set + " (" + dir.resolve(name) + ")");
                        return set;
                    }
                }
            }
        }
        if (v2Mount != null)
        {
            final String path = v2CgroupPath(root);
            if (path != null)
            {
                final Path mount = under(root, v2Mount);
                Path dir = mount.resolve(relative(path)).normalize();
                while (dir.startsWith(mount))
                {
                    final Path file = dir.resolve("cpuset.cpus.effective");
                    final String text = readFirstLine(file);
                    if (text != null)
                    {
                        final CpuSet set = CpuSet.parseList(text);
                        sources.add("cgroup v2 cpuset " + set + " (" + file + ")");
                        return set;
                    }
                    if (dir.equals(mount))
                    {
                        break;
                    }
                    dir = dir.getParent();
                }
            }
        }
        return null;
    }

    private static String v1CgroupPath(final Path root)
    {
        final String cpuset = readFirstLine(root.resolve("proc/self/cpuset"));
        if (cpuset != null && cpuset.startsWith("/"))
        {
            return cpuset;
        }
        final List<String> lines = readLines(root.resolve("proc/self/cgroup"));
        if (lines != null)
        {
            for (final String line : lines)
            {
                final String[] f = line.split(":", 3);
                if (f.length == 3 && List.of(f[1].split(",")).contains("cpuset"))
                {
                    return f[2];
                }
            }
        }
        return null;
    }

    private static String v2CgroupPath(final Path root)
    {
        final List<String> lines = readLines(root.resolve("proc/self/cgroup"));
        if (lines != null)
        {
            for (final String line : lines)
            {
                if (line.startsWith("0::"))
                {
                    return line.substring(3).trim();
                }
            }
        }
        return null;
    }

    static boolean isLiveRoot(final Path root)
    {
        final Path abs = root.toAbsolutePath().normalize();
        return abs.getParent() == null;
    }

    private static Path under(final Path root, final String absolute)
    {
        return root.resolve(relative(absolute));
    }

    private static String relative(final String absolute)
    {
        String s = absolute;
        while (s.startsWith("/"))
        {
            s = s.substring(1);
        }
        return s;
    }

    private static String unescapeMount(final String field)
    {
        final StringBuilder sb = new StringBuilder();
        for (int i = 0; i < field.length(); i++)
        {
            final char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).matches("[0-7]{3}"))
            {
                sb.append((char)Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            }
            else
            {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    static List<String> readLines(final Path file)
    {
        try
        {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        }
        catch (final IOException | RuntimeException ex)
        {
            return null;
        }
    }

    static String readFirstLine(final Path file)
    {
        final List<String> lines = readLines(file);
        if (lines == null)
        {
            return null;
        }
        return lines.isEmpty() ? "" : lines.get(0).trim();
    }
}
