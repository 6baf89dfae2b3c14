package dev.ferry;

import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A mapping's file truncated under live roles (another process of the same user did it): the JVM turns the lost
 * pages' SIGBUS into an {@link InternalError}, which the roles turn into a clear failure; no JVM crashes. The client,
 * polling for a call the server holds, meets the lost pages first: its poll throws IllegalStateException saying the
 * mapping faulted and the call ends CLOSED; the server, released, meets them writing the reply and stops. Run in a
 * child JVM ({@link TruncatedMappingChild}) so that a crash is seen as one.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
final class IpcTruncationTest
{
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void aTruncatedMappingFailsTheCallClearlyStopsTheServerAndCrashesNothing(final Mode mode) throws Exception
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--add-exports");
        command.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        command.add("-Xmx128m");
        command.add("-XX:ErrorFile=" + tmp.resolve("hs_err_%p.log"));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(TruncatedMappingChild.class.getName());
        command.add(tmp.resolve("ferry-truncated").toString());
        command.add(mode.name());
        final Path out = tmp.resolve("child.out");
        final Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile())
            .start();
        try
        {
            assertTrue(child.waitFor(90, TimeUnit.SECONDS), "the child hung");
            final String text = Files.readString(out, StandardCharsets.UTF_8);
            assertEquals(0, child.exitValue(), text);
            assertTrue(text.contains("\nDONE") || text.startsWith("DONE"), text);
            assertFalse(text.contains("A fatal error has been detected"), text);
            final String call = text.lines().filter(l -> l.startsWith("CALL ")).findFirst().orElse("");
            assertTrue(call.contains("IllegalStateException: the Ferry mapping at")
                && call.contains("faulted"), text);
            final String completion = text.lines().filter(l -> l.startsWith("COMPLETION ")).findFirst().orElse("");
            assertTrue(completion.startsWith("COMPLETION CLOSED"), text);
            final String server = text.lines().filter(l -> l.startsWith("SERVER ")).findFirst().orElse("");
            // Stopped; its reason is the InternalError, or none where JDK 17 delivered the fault after the agent's
            // catch (asynchronously) and the agent thread simply ended.
            assertTrue(server.startsWith("SERVER false server agent failed: java.lang.InternalError")
                || server.equals("SERVER false null"), text);
        }
        finally
        {
            child.destroyForcibly();
            child.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
