package dev.ferry.ipc;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One {@link IpcChild} JVM started with {@link ProcessBuilder}: its output lines queued for the test, its standard
 * input for commands, destroyed forcibly by {@link #close()}.
 *
 * <p>Not thread-safe: used by the test thread; one reader thread fills the line queue.
 */
final class ChildProcess implements AutoCloseable
{
    private final Process process;
    private final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> all = new ArrayList<>();

    ChildProcess(final Path log, final String... args) throws IOException
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--add-exports");
        command.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        command.add("-Xmx64m");
        command.add("-XX:+UseSerialGC");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(IpcChild.class.getName());
        command.addAll(List.of(args));
        process = new ProcessBuilder(command).redirectError(log.toFile()).start();
        final Thread reader = new Thread(() ->
        {
            try (BufferedReader in = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
            {
                String line;
                while ((line = in.readLine()) != null)
                {
                    lines.add(line);
                }
            }
            catch (final IOException ignore)
            {
                // the process ended
            }
        }, "child-output-" + args[0]);
        reader.setDaemon(true);
        reader.start();
    }

    /** Waits for a line starting with {@code prefix}, failing with everything seen after {@code seconds}. */
    String await(final String prefix, final long seconds) throws InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true)
        {
            final long left = deadline - System.nanoTime();
            final String line = left > 0 ? lines.poll(left, TimeUnit.NANOSECONDS) : null;
            if (line == null)
            {
                throw new AssertionError("no line starting with '" + prefix + "' within " + seconds + " s; saw "
                    + all + "; alive=" + process.isAlive());
            }
            all.add(line);
            if (line.startsWith(prefix))
            {
                return line;
            }
        }
    }

    void send(final String command) throws IOException
    {
        final OutputStream out = process.getOutputStream();
        out.write((command + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    long pid()
    {
        return process.pid();
    }

    void kill9() throws InterruptedException
    {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    boolean waitFor(final long seconds) throws InterruptedException
    {
        return process.waitFor(seconds, TimeUnit.SECONDS);
    }

    int exitValue()
    {
        return process.exitValue();
    }

    @Override
    public void close()
    {
        if (process.isAlive())
        {
            process.destroyForcibly();
            try
            {
                process.waitFor(10, TimeUnit.SECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
    }
}
