package dev.ferry.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code ferry-bench topology}, run in-process through picocli on hwloc's 16em64t-4s2c2t-offlines machine
 * (4 packages of 2 cores of 2 threads, CPUs 2, 5, 13 and 14 offline), extracted with the system's tar.
 */
final class TopologyCommandTest
{
    private static final Pattern CPU_ENTRY = Pattern.compile(
        "\\{\"cpu\":(\\d+),\"online\":(true|false),\"allowed\":(true|false),\"package\":(-?\\d+)," +
        "\"core\":(-?\\d+),\"l3\":(-?\\d+),\"numa\":(-?\\d+),\"kind\":(-?\\d+)}");

    @TempDir
    static Path extracted;

    private static Path machine;

    @BeforeAll
    static void extract() throws IOException, InterruptedException, URISyntaxException
    {
        final Path tarball = Path.of(TopologyCommandTest.class.getResource("/hwloc/16em64t-4s2c2t-offlines.tar.bz2").toURI());
        final Process tar = new ProcessBuilder("tar", "xjf", tarball.toString(), "-C", extracted.toString())
            .redirectErrorStream(true).start();
        final String output = new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(tar.waitFor(60, TimeUnit.SECONDS) && tar.exitValue() == 0,
            "tar xjf failed (the test needs tar and bzip2 on the PATH): " + output);
        machine = extracted.resolve("16em64t-4s2c2t-offlines");
    }

    private static final class Run
    {
        final int status;
        final String out;
        final String err;

        Run(final String... args)
        {
            final StringWriter out = new StringWriter();
            final StringWriter err = new StringWriter();
            final CommandLine cli = FerryBench.commandLine();
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            this.status = cli.execute(args);
            this.out = out.toString();
            this.err = err.toString();
        }
    }

    @Test
    void jsonHasOneEntryPerCpuAndASummary()
    {
        final Run run = new Run("topology", "--fsroot", machine.toString(), "--json");
        assertEquals(0, run.status, run.err);
        final String json = run.out.trim();
        assertTrue(json.startsWith("{") && json.endsWith("}"), json);
        assertTrue(json.contains("\"cpus\":["), json);

        final List<Map<String, String>> cpus = new ArrayList<>();
        final Matcher m = CPU_ENTRY.matcher(json);
        while (m.find())
        {
            final Map<String, String> cpu = new HashMap<>();
            final String[] keys = { "cpu", "online", "allowed", "package", "core", "l3", "numa", "kind" };
            for (int i = 0; i < keys.length; i++)
            {
                cpu.put(keys[i], m.group(i + 1));
            }
            cpus.add(cpu);
        }
        assertEquals(16, cpus.size(), "one entry per CPU present: " + json);
        for (int i = 0; i < 16; i++)
        {
            assertEquals(String.valueOf(i), cpus.get(i).get("cpu"));
        }

        final Set<Integer> offline = new HashSet<>();
        final Map<String, Set<Integer>> byCore = new HashMap<>();
        final Map<String, Set<Integer>> byL3 = new HashMap<>();
        for (final Map<String, String> cpu : cpus)
        {
            final int id = Integer.parseInt(cpu.get("cpu"));
            assertEquals("true", cpu.get("allowed"));
            if ("false".equals(cpu.get("online")))
            {
                offline.add(id);
                assertEquals("-1", cpu.get("core"), "an offline CPU's core is unknown");
                continue;
            }
            byCore.computeIfAbsent(cpu.get("core"), k -> new HashSet<>()).add(id);
            byL3.computeIfAbsent(cpu.get("l3"), k -> new HashSet<>()).add(id);
        }
        assertEquals(Set.of(2, 5, 13, 14), offline);
        assertEquals(7, byCore.size(), "7 physical cores hold the 12 online CPUs");
        assertEquals(Set.of(0, 8), byCore.get("0"), "core 0 is shared by exactly SMT siblings 0 and 8");
        assertEquals(Set.of(6), byCore.get("5"));
        assertEquals(4, byL3.size());
        assertEquals(Set.of(0, 4, 8, 12), byL3.get("0"));

        assertTrue(json.contains("\"summary\":{\"cpus\":16,\"online\":12,\"allowed\":16,\"usable\":12,\"packages\":4,"), json);
        assertTrue(json.contains("\"cores\":7,"), json);
        assertTrue(json.contains("\"l3Caches\":4,"), json);
    }

    @Test
    void textIsATreeLikeLstopos()
    {
        final Run run = new Run("topology", "--fsroot", machine.toString());
        assertEquals(0, run.status, run.err);
        assertTrue(run.out.startsWith("Machine\n  NUMANode L#0 (P#0)\n  Package L#0 (P#0)\n    L3Cache L#0\n" +
            "      L2Cache L#0\n        Core L#0 (P#0)\n          PU L#0 (P#0)\n          PU L#1 (P#8)\n"), run.out);
        assertTrue(run.out.contains("Offline (not in the tree): 2,5,13-14"), run.out);
    }

    @Test
    void aMissingRootFailsWithItsPath()
    {
        final Path missing = extracted.resolve("no-such-machine");
        final Run run = new Run("topology", "--fsroot", missing.toString(), "--json");
        assertEquals(1, run.status);
        assertTrue(run.err.contains(missing.toString()) && run.err.contains("does not exist"), run.err);
        assertEquals("", run.out);
    }

    @Test
    void aRootWithoutSysfsNamesTheMissingDirectory()
    {
        final Run run = new Run("topology", "--fsroot", extracted.toString());
        assertEquals(1, run.status);
        assertTrue(run.err.contains(extracted.resolve("sys/devices/system/cpu").toString()), run.err);
    }

    @Test
    void anUnknownOptionIsAUsageError()
    {
        final Run run = new Run("topology", "--frobnicate");
        assertEquals(2, run.status);
        assertTrue(run.err.contains("--frobnicate"), run.err);
    }

    @Test
    void theLiveMachineWorks()
    {
        final Run run = new Run("topology", "--json");
        assertEquals(0, run.status, run.err);
        assertTrue(run.out.contains("\"cpus\":[{\"cpu\":"), run.out);
    }
}
