import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Compares the CPU cost of one {@code IpcCpuBenchmark} method in two builds of Ferry, in one JVM: each build's
 * {@code ferry-bench.jar} gets its own class loader and its own kernel, server and client, and the two take turns,
 * round after round (each first in every other round), so that the host's changes of speed (this project's VM runs
 * 1.5x slower in its slow state) fall on both alike. Separate JMH runs moved by more than the differences sought here.
 *
 * <p>The build loaded second measures several ns slower than the one loaded first, whatever the builds (seen here:
 * 5-14 ns on identical jars). So the comparison runs in two child JVMs, one loading A first and one loading B first,
 * and reports each one's paired median of (B - A) and their mean, in which that bias cancels. On identical jars the
 * mean came out between -3.2 and +4.2 ns per round trip here (about 100 ns): differences smaller than that are noise.
 *
 * <p>Usage, from the repository's top, after building both jars:
 * <pre>
 * java bench/scripts/CpuAb.java ferry A.jar B.jar [ROUNDS CALLS]
 * </pre>
 * Each jar's Aeron driver starts too (the benchmark's setup), which adds threads that back off when idle.
 */
public final class CpuAb
{
    private CpuAb()
    {
    }

    public static void main(final String[] args) throws Throwable
    {
        if (args.length >= 1 && args[0].equals("--child"))
        {
            child(args);
            return;
        }
        if (args.length < 3)
        {
            System.err.println("usage: java bench/scripts/CpuAb.java METHOD A.jar B.jar [ROUNDS CALLS_PER_ROUND]"
                + "  (METHOD: ferry or aeron; run from the repository's top)");
            System.exit(2);
        }
        final String rounds = args.length > 3 ? args[3] : "60";
        final String calls = args.length > 4 ? args[4] : "200000";
        final double aFirst = runChild(args[0], args[1], args[2], rounds, calls);
        // The same with the load order swapped: the child reports (A - B) there.
        final double bFirst = -runChild(args[0], args[2], args[1], rounds, calls);
        System.out.printf("B - A, paired median, ns per call: %.1f with A loaded first, %.1f with B loaded first%n",
            aFirst, bFirst);
        System.out.printf("B - A, load-order bias taken out: %.1f ns per call%n", (aFirst + bFirst) / 2);
    }

    /** Runs a child JVM that loads {@code first} then {@code second}; returns its paired median (second - first). */
    private static double runChild(
        final String method, final String first, final String second, final String rounds, final String calls)
        throws Exception
    {
        final Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "bench/scripts/CpuAb.java", "--child", method,
            first, second, rounds, calls).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        final String out = new String(p.getInputStream().readAllBytes()).trim();
        if (p.waitFor() != 0 || out.isEmpty())
        {
            throw new IllegalStateException("the measuring JVM failed (exit " + p.exitValue() + "): " + out);
        }
        return Double.parseDouble(out.substring(out.lastIndexOf('\n') + 1));
    }

    private static void child(final String[] args) throws Throwable
    {
        final String method = args[1];
        final int rounds = Integer.parseInt(args[4]);
        final int calls = Integer.parseInt(args[5]);
        final Subject first = new Subject(Path.of(args[2]), method);
        final Subject second = new Subject(Path.of(args[3]), method);
        for (int w = 0; w < 20; w++)
        {
            first.time(calls);
            second.time(calls);
        }
        System.out.println(pairedMedian(first, second, rounds, calls));
        System.exit(0);
    }

    /** Median over the rounds of (second's time - first's time), ns per call; they take turns going first. */
    private static double pairedMedian(final Subject first, final Subject second, final int rounds, final int calls)
        throws Throwable
    {
        final double[] d = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            final double t1;
            final double t2;
            if ((r & 1) == 0)
            {
                t1 = first.time(calls);
                t2 = second.time(calls);
            }
            else
            {
                t2 = second.time(calls);
                t1 = first.time(calls);
            }
            d[r] = t2 - t1;
        }
        Arrays.sort(d);
        return d[rounds / 2];
    }

    private static final class Subject
    {
        private final Object bench;
        private final Method method;

        Subject(final Path jar, final String name) throws Exception
        {
            final URLClassLoader loader = new URLClassLoader(new URL[] {jar.toUri().toURL()},
                ClassLoader.getPlatformClassLoader());
            final Class<?> type = loader.loadClass("dev.ferry.bench.jmh.IpcCpuBenchmark");
            bench = type.getConstructor().newInstance();
            type.getMethod("setUp").invoke(bench);
            method = type.getMethod(name);
        }

        /** Mean ns per call over {@code calls} calls. */
        double time(final int calls) throws Throwable
        {
            final long start = System.nanoTime();
            for (int i = 0; i < calls; i++)
            {
                method.invoke(bench);
            }
            return (System.nanoTime() - start) / (double)calls;
        }
    }
}
