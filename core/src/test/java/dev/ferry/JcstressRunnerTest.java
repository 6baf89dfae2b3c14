package dev.ferry;

import dev.ferry.idle.WakeSignalHandshakeStressTest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openjdk.jcstress.JCStress;
import org.openjdk.jcstress.Options;
import org.openjdk.jcstress.infra.Status;
import org.openjdk.jcstress.infra.collectors.DiskReadCollector;
import org.openjdk.jcstress.infra.collectors.InProcessCollector;
import org.openjdk.jcstress.infra.collectors.TestResult;
import org.openjdk.jcstress.infra.grading.GradingResult;
import org.openjdk.jcstress.infra.grading.TestGrading;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Runs the jcstress tests of Ferry's own lock-free protocols (the call lanes, the entry table, the wake signal), in
 * forked JVMs, in a mode bounded for a 2-core machine, and fails if any of them observed a {@code FORBIDDEN} outcome,
 * an outcome no {@code @Outcome} covers, or ended in an error (test exception, VM crash, timeout, a test that ran no
 * samples):
 *
 * <ul>
 *     <li>{@link WakeSignalHandshakeStressTest}: a producer's publish-then-wake against a poller's
 *     announce-then-poll; forbidden: the lost wake-up, where neither sees the other.</li>
 *     <li>{@link LaneWriterStressTest}: IPC's single-producer (lane) claim and commit, Agrona's many-to-one record
 *     layout with the tail advanced by a release store and the length stored only at commit, against a
 *     {@code RingReader} that zeroes what it consumed (at once or deferred): two records across the ring's end, on a
 *     fresh ring and on one that went a lap first; forbidden: a torn, stale, out-of-order, repeated or lost record, a
 *     resynchronisation, bytes left non-zero once everything is read.</li>
 *     <li>{@link CallLaneStressTest}: DIRECT mode's replies in place, a server's {@code CallLane} writing each reply
 *     over its request (REQUEST, REPLYING, REPLY) while the client's in-place {@code RingReader} reads and zeroes
 *     the written part of each record, two calls across the ring's end; forbidden: a torn, repeated or lost reply, a
 *     call served twice, bytes left non-zero.</li>
 * </ul>
 *
 * <p>jcstress runs inside this JVM through {@link JCStress#run()}, never {@code Main} (which calls
 * {@code System.exit}); {@code run()} ends by throwing an {@link AssertionError} when a test failed, which this class
 * catches and replaces with its own grading of the result file. The forks get {@code java.class.path} (pointed at a
 * snapshot of {@code target/classes} and {@code target/test-classes}), the surefire JVM's own flags (jcstress copies
 * them) and {@link #JVM_ARGS}. Each test runs one fork per VM configuration: 2 on JDK 17 (jcstress adds
 * {@code -XX:+/-UseBiasedLocking}), 1 on JDK 25; 3 iterations of 200 ms each. The console goes to
 * {@code target/jcstress/ring/console.log}, the HTML report to {@code target/jcstress/ring/report}. A longer run:
 * {@code -Dferry.jcstress.args="-iters 10 -time 1000 -f 3"}. Some of the tests only (by simple class name, comma
 * separated; all by default): {@code -Dferry.jcstress.tests=EntryClaimStressTest,TakeoverStressTest}.
 */
class JcstressRunnerTest
{
    /** The jcstress tests this class runs; each must report a result. */
    static final List<Class<?>> TESTS = List.of(
        WakeSignalHandshakeStressTest.class,
        LaneWriterStressTest.class,
        CallLaneStressTest.class,
        EntryClaimStressTest.class,
        QuarantineBarrierStressTest.class,
        CallLaneResetStressTest.class,
        TakeoverStressTest.class);

    /**
     * The forks' VM configuration, instead of jcstress's auto-detected set (16 forks per test on JDK 17, too many for
     * 2 cores): C2 only, with its code-motion randomizers, where compiler reorderings that break a protocol show up,
     * and the export that Agrona needs.
     */
    private static final String JVM_ARGS = "--add-exports java.base/jdk.internal.misc=ALL-UNNAMED"
        + " -XX:+UnlockDiagnosticVMOptions -XX:-TieredCompilation -XX:+StressLCM -XX:+StressGCM";

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void ringProtocolsShowNoForbiddenOutcome() throws Exception
    {
        final Set<String> only = new TreeSet<>(Arrays.asList(
            System.getProperty("ferry.jcstress.tests", "").trim().split("\\s*,\\s*")));
        only.remove("");
        final Set<String> names = new TreeSet<>();
        TESTS.stream().filter(c -> only.isEmpty() || only.contains(c.getSimpleName()))
            .forEach(c -> names.add(c.getName()));
        assertTrue(!names.isEmpty(), "-Dferry.jcstress.tests=" + only + " names none of " + TESTS);
        final List<String> problems = run(names, "ring");
        if (!problems.isEmpty())
        {
            fail("jcstress found " + problems.size() + " problem(s) in Ferry's ring protocols (full console in "
                + "target/jcstress/ring/console.log, report in target/jcstress/ring/report):\n"
                + String.join("\n", problems));
        }
    }

    /**
     * Runs the named jcstress tests and grades their results.
     *
     * @param names the tests' class names.
     * @param label a directory name under {@code target/jcstress} for this run's console log and report.
     * @return one line per problem: a forbidden or unknown outcome seen, an error, or a test with no result.
     */
    static List<String> run(final Set<String> names, final String label) throws Exception
    {
        final Path dir = Paths.get("target", "jcstress", label).toAbsolutePath();
        Files.createDirectories(dir);
        final List<String> args = new ArrayList<>(Arrays.asList(
            "-t", "^(" + String.join("|", names).replace(".", "\\.") + ")$",
            "-m", "quick",
            "-c", String.valueOf(Math.min(2, Runtime.getRuntime().availableProcessors())),
            "-f", "1",
            "-iters", "3",
            "-time", "200",
            "-sc", "false",
            "-hs", "256",
            "-jvmArgs", JVM_ARGS,
            "-r", dir.resolve("report").toString()));
        final String extra = System.getProperty("ferry.jcstress.args", "").trim();
        if (!extra.isEmpty())
        {
            // Every default above is an option and its value: drop those the caller gives again.
            final List<String> overrides = Arrays.asList(extra.split("\\s+"));
            for (int i = args.size() - 2; i >= 0; i -= 2)
            {
                if (overrides.contains(args.get(i)))
                {
                    args.subList(i, i + 2).clear();
                }
            }
            args.addAll(overrides);
        }

        final Options options = new Options(args.toArray(new String[0]));
        assertTrue(options.parse(), "jcstress rejected the options " + args);
        final Path resultFile = Paths.get(options.getResultFile()).toAbsolutePath();
        final PrintStream console = System.out;
        final String classPath = System.getProperty("java.class.path");
        final InProcessCollector collector = new InProcessCollector();
        AssertionError reported = null;
        final long start = System.nanoTime();
        try
        {
            try (PrintStream log = new PrintStream(new FileOutputStream(dir.resolve("console.log").toFile()), true,
                StandardCharsets.UTF_8))
            {
                // The forks start with java.class.path: point it at a snapshot of this module's class directories,
                // so that a concurrent build recompiling target/ cannot pull classes from under the forks mid-run.
                System.setProperty("java.class.path", snapshotClassPath(classPath, dir.resolve("classpath")));
                System.setOut(log);
                new JCStress(options).run();
            }
            catch (final AssertionError ex)
            {
                // JCStress.run() ends by throwing "TEST FAILURES" when a test failed; the grading below says which.
                reported = ex;
            }
            finally
            {
                System.setOut(console);
                System.setProperty("java.class.path", classPath);
            }
            console.printf("jcstress %s: %d tests in %d s, args %s%n", label, names.size(),
                TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start), args);
            assertTrue(Files.exists(resultFile), "jcstress wrote no result file " + resultFile + "; see "
                + dir.resolve("console.log"));
            final DiskReadCollector reader = new DiskReadCollector(resultFile.toString(), collector);
            reader.dump();
            reader.close();
        }
        finally
        {
            // jcstress writes its binary result blob into the working directory; keep the module directory clean.
            if (Files.exists(resultFile))
            {
                Files.move(resultFile, dir.resolve("results.bin.gz"), StandardCopyOption.REPLACE_EXISTING);
            }
        }

        final List<String> problems = new ArrayList<>();
        final TreeMap<String, Long> forbidden = new TreeMap<>();
        final TreeMap<String, Long> samples = new TreeMap<>();
        final TreeMap<String, TreeMap<String, Long>> outcomes = new TreeMap<>();
        for (final TestResult result : collector.getTestResults())
        {
            final String name = result.getName();
            samples.merge(name, result.getTotalCount(), Long::sum);
            for (final String state : result.getStateKeys())
            {
                outcomes.computeIfAbsent(name, k -> new TreeMap<>()).merge(state, result.getCount(state), Long::sum);
            }
            if (result.status() != Status.NORMAL)
            {
                problems.add(shortName(name) + ": " + result.status() + " in " + result.getConfig() + ": "
                    + result.getMessages() + " " + lastLines(result.getVmErr()));
                continue;
            }
            final TestGrading grading = result.grading();
            if (!grading.isPassed)
            {
                boolean explained = false;
                for (final GradingResult g : grading.gradingResults.values())
                {
                    if (g.count > 0 && !TestGrading.passed(g.expect, g.count))
                    {
                        forbidden.merge(shortName(name) + ": outcome [" + g.id + "] is " + g.expect + " ("
                            + g.description + "), seen", g.count, Long::sum);
                        explained = true;
                    }
                }
                if (!explained)
                {
                    problems.addAll(grading.failureMessages);
                }
            }
        }
        forbidden.forEach((what, count) -> problems.add(what + String.format(" %,d times", count)));
        for (final String name : names)
        {
            if (!samples.containsKey(name))
            {
                problems.add(shortName(name) + ": no result; was it compiled by the jcstress annotation processor?");
            }
            else if (samples.get(name) == 0)
            {
                problems.add(shortName(name) + ": ran no samples");
            }
        }
        if (reported != null && problems.isEmpty())
        {
            problems.add("jcstress reported failures the grading did not find: " + reported.getMessage());
        }
        samples.forEach((name, count) -> console.printf("  %-45s %,13d samples: %s%n", shortName(name), count,
            outcomes.getOrDefault(name, new TreeMap<>())));
        assertEquals(new TreeSet<>(names), new TreeSet<>(samples.keySet()), "jcstress ran other tests than asked");
        return problems;
    }

    /**
     * Copies this module's class directories out of {@code target/} and returns the class path with the copies in
     * their place. Another build in the same working tree (a second engineer's {@code mvn verify}) may be recompiling
     * {@code target/} at the moment: a copy counts only if no class file changed during it or in the 3 s before it.
     */
    private static String snapshotClassPath(final String classPath, final Path snapshot) throws Exception
    {
        final Path target = Paths.get("target").toAbsolutePath().normalize();
        final List<Path> sources = new ArrayList<>();
        for (final String entry : classPath.split(File.pathSeparator))
        {
            final Path path = Paths.get(entry).toAbsolutePath().normalize();
            if (Files.isDirectory(path) && path.startsWith(target))
            {
                sources.add(path);
            }
        }
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true)
        {
            final Map<Path, String> before = listing(sources);
            final long newest = before.values().stream().mapToLong(v -> Long.parseLong(v.split(":")[1])).max()
                .orElse(0);
            if (System.currentTimeMillis() - newest > 3_000)
            {
                for (int i = 0; i < sources.size(); i++)
                {
                    copyTree(sources.get(i), snapshot.resolve(i + "-" + sources.get(i).getFileName()));
                }
                if (before.equals(listing(sources)))
                {
                    break;
                }
            }
            if (System.nanoTime() - deadline > 0)
            {
                throw new IllegalStateException("the class directories " + sources + " kept changing for 2 minutes;"
                    + " is another build running in this working tree?");
            }
            Thread.sleep(1_000);
        }
        final List<String> entries = new ArrayList<>();
        for (final String entry : classPath.split(File.pathSeparator))
        {
            final int i = sources.indexOf(Paths.get(entry).toAbsolutePath().normalize());
            entries.add(i < 0 ? entry : snapshot.resolve(i + "-" + sources.get(i).getFileName()).toString());
        }
        return String.join(File.pathSeparator, entries);
    }

    private static Map<Path, String> listing(final List<Path> roots) throws IOException
    {
        final Map<Path, String> files = new HashMap<>();
        for (final Path root : roots)
        {
            try (Stream<Path> walk = Files.walk(root))
            {
                for (final Path p : (Iterable<Path>)walk::iterator)
                {
                    if (Files.isRegularFile(p))
                    {
                        files.put(p, Files.size(p) + ":" + Files.getLastModifiedTime(p).toMillis());
                    }
                }
            }
        }
        return files;
    }

    private static void copyTree(final Path from, final Path to) throws IOException
    {
        if (Files.exists(to))
        {
            try (Stream<Path> old = Files.walk(to))
            {
                old.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        try (Stream<Path> files = Files.walk(from))
        {
            for (final Path p : (Iterable<Path>)files::iterator)
            {
                final Path dest = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p))
                {
                    Files.createDirectories(dest);
                }
                else
                {
                    Files.copy(p, dest, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static String shortName(final String name)
    {
        return name.substring(name.lastIndexOf('.') + 1);
    }

    private static List<String> lastLines(final List<String> lines)
    {
        return lines.size() <= 10 ? lines : lines.subList(lines.size() - 10, lines.size());
    }
}
