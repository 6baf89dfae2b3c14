package dev.ferry.affinity.topology;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * hwloc's test machines: sysfs and procfs dumps (tar.bz2) and lstopo's view of each (.console), from
 * {@code src/test/resources/hwloc}. Each dump is extracted once per JVM with the system's {@code tar},
 * under {@code target/hwloc-fixtures}.
 */
public final class HwlocFixtures
{
    private HwlocFixtures()
    {
    }

    public static Path resourceDir()
    {
        final URL url = HwlocFixtures.class.getResource("/hwloc/COPYING.hwloc");
        if (url == null)
        {
            throw new IllegalStateException("hwloc fixtures missing from the test classpath: expected hwloc/COPYING.hwloc");
        }
        try
        {
            return Path.of(url.toURI()).getParent();
        }
        catch (final URISyntaxException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static List<String> names()
    {
        try (Stream<Path> files = Files.list(resourceDir()))
        {
            return files.map(p -> p.getFileName().toString())
                .filter(n -> n.endsWith(".tar.bz2"))
                .map(n -> n.substring(0, n.length() - ".tar.bz2".length()))
                .sorted()
                .collect(Collectors.toList());
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    public static Path console(final String name)
    {
        return resourceDir().resolve(name + ".console");
    }

    /**
     * @return the directory holding the fixture's sys/ and proc/, extracted on first use.
     */
    public static synchronized Path root(final String name)
    {
        final Path into = resourceDir().getParent().getParent().resolve("hwloc-fixtures");
        final Path root = into.resolve(name);
        final Path done = into.resolve(name + ".extracted");
        if (Files.exists(done))
        {
            return root;
        }
        final Path tarball = resourceDir().resolve(name + ".tar.bz2");
        try
        {
            Files.createDirectories(into);
            final Process tar = new ProcessBuilder("tar", "xjf", tarball.toString(), "-C", into.toString())
                .redirectErrorStream(true)
                .start();
            final String output = new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!tar.waitFor(60, TimeUnit.SECONDS) || tar.exitValue() != 0)
            {
                throw new IllegalStateException("tar xjf " + tarball + " failed (tar and bzip2 must be on the PATH): " + output);
            }
            Files.createFile(done);
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("cannot extract " + tarball + ": the tests need the system's tar and bzip2 " +
                "on the PATH (apt-get install tar bzip2): " + ex, ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
        if (!Files.isDirectory(root))
        {
            throw new IllegalStateException(tarball + " did not hold a top directory named " + name);
        }
        return root;
    }
}
