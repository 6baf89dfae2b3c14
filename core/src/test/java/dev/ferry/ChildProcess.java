package dev.ferry;

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
    private final List<String> history = java.util.Collections.synchronizedList(new ArrayList<>());
    private final Path log;

    ChildProcess(final Path log, final String... args) throws IOException
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--add-exports");
        command.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        command.add("-Xmx64m");
        if (System.getProperty("ferry.harness.debug") != null)
        {
            // Harness clients then add their LaneClient.debugState() to every MARK line.
            command.add("-Dferry.harness.debug=1");
        }
        command.add("-XX:+UseSerialGC");
        // A crash report next to the child's log, where a test that sees the child die can find it.
        command.add("-XX:ErrorFile=" + log.toAbsolutePath().getParent().resolve("hs_err_pid%p.log"));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(IpcChild.class.getName());
        command.addAll(List.of(args));
        this.log = log;
        process = new ProcessBuilder(command).redirectError(log.toFile()).start();
        final Thread reader = new Thread(() ->
        {
            try (BufferedReader in = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
            {
                String line;
                while ((line = in.readLine()) != null)
                {
                    history.add(line);
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

    /** @return every line the child printed so far that starts with {@code prefix}, in order (any thread). */
    List<String> linesStartingWith(final String prefix)
    {
        final List<String> found = new ArrayList<>();
        synchronized (history)
        {
            for (final String line : history)
            {
                if (line.startsWith(prefix))
                {
                    found.add(line);
                }
            }
        }
        return found;
    }

    /** @return the latest line starting with {@code prefix}, or null (any thread). */
    String latest(final String prefix)
    {
        synchronized (history)
        {
            for (int i = history.size() - 1; i >= 0; i--)
            {
                if (history.get(i).startsWith(prefix))
                {
                    return history.get(i);
                }
            }
        }
        return null;
    }

    boolean isAlive()
    {
        return process.isAlive();
    }

    /** @return the child's standard error so far, and its hs_err crash report if it wrote one, for a report. */
    String diagnostics()
    {
        final StringBuilder b = new StringBuilder();
        try
        {
            final String err = java.nio.file.Files.readString(log);
            b.append(err.length() > 4000 ? "..." + err.substring(err.length() - 4000) : err);
            final Path hsErr = log.toAbsolutePath().getParent().resolve("hs_err_pid" + process.pid() + ".log");
            if (java.nio.file.Files.exists(hsErr))
            {
                final String crash = java.nio.file.Files.readString(hsErr);
                b.append("\n").append(hsErr).append(":\n").append(crash, 0, Math.min(crash.length(), 3000));
            }
        }
        catch (final IOException ex)
        {
            b.append("(no log: ").append(ex).append(')');
        }
        return b.toString();
    }

    /** Sends SIGSTOP ({@code stop}) or SIGCONT to the child with kill(1). */
    void signal(final String signal) throws IOException, InterruptedException
    {
        final Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start();
        if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0)
        {
            throw new IOException("kill -" + signal + " " + process.pid() + " failed");
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
