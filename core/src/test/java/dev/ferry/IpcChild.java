package dev.ferry;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * The child processes of the multi-process tests: a kernel, a server or a client, driven by arguments and by lines
 * on standard input ("close"), reporting on standard output.
 *
 * <p>Not thread-safe; one role per process.
 */
public final class IpcChild
{
    private IpcChild()
    {
    }

    /**
     * @param args the role and its arguments.
     * @throws Exception on failure, which ends the process with a stack trace and status 1.
     */
    public static void main(final String[] args) throws Exception
    {
        final Path dir = Path.of(args[1]);
        switch (args[0])
        {
            case "kernel" -> kernel(dir, Mode.valueOf(args[2]), Integer.parseInt(args[3]), Long.parseLong(args[4]),
                args.length > 5 ? Integer.parseInt(args[5]) : 16);
            case "server" -> server(dir, Integer.parseInt(args[2]), Long.parseLong(args[3]));
            case "client" -> client(dir, Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                Long.parseLong(args[4]), Integer.parseInt(args[5]));
            case "harness-client" -> HarnessClient.run(dir, Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                Integer.parseInt(args[4]), Long.parseLong(args[5]));
            case "harness-server" -> harnessServer(dir, Integer.parseInt(args[2]), Long.parseLong(args[3]));
            case "prober" -> prober(dir, Integer.parseInt(args[2]));
            case "lifecycle" -> LifecycleRounds.rounds(dir, Mode.valueOf(args[2]), Integer.parseInt(args[3]),
                Integer.parseInt(args[4]));
            case "after-close" -> LifecycleRounds.afterClose(dir, Mode.valueOf(args[2]), Integer.parseInt(args[3]));
            default -> throw new IllegalArgumentException("unknown role " + args[0]);
        }
        System.exit(0);
    }

    private static void kernel(
        final Path dir, final Mode mode, final int services, final long timeoutMs, final int maxClients)
        throws Exception
    {
        final Kernel kernel = Kernel.builder().directory(dir).mode(mode).services(services).maxInFlight(32)
            .maxClients(maxClients).slotBytes(64).timeouts(Timeouts.of(Duration.ofMillis(timeoutMs))).build()
            .start();
        say("READY");
        waitForClose();
        kernel.close();
        say("CLOSED forwarded=" + kernel.forwarded());
    }

    /** Echoes; checks that each client's sequence numbers arrive in order, one more each time. */
    private static void server(final Path dir, final int service, final long delayMicros) throws Exception
    {
        final Map<Integer, Integer> last = new HashMap<>();
        final long[] violations = new long[1];
        final Server server = Server.builder().directory(dir).service(service, (msg, len) ->
        {
            final int tag = msg.getInt(0);
            final int seq = msg.getInt(4);
            final Integer previous = last.put(tag, seq);
            if (previous != null && seq != previous + 1)
            {
                violations[0]++;
            }
            if (delayMicros > 0)
            {
                LockSupport.parkNanos(delayMicros * 1000);
            }
            return len;
        }).start();
        say("READY generation=" + server.generation());
        final Thread closer = new Thread(() ->
        {
            try
            {
                waitForClose();
            }
            catch (final Exception ignore)
            {
                // stdin closed: close anyway
            }
        });
        closer.setDaemon(true);
        closer.start();
        while (closer.isAlive() && server.isRunning())
        {
            closer.join(20);
        }
        final String reason = server.stopReason();
        server.close();
        say("SERVED " + server.served() + " violations=" + violations[0] + " corrupt=" + server.corruptRecords()
            + (reason == null ? "" : " stopped: " + reason));
    }

    /**
     * Makes {@code count} calls (forever when negative) with up to {@code window} in flight, each carrying the tag
     * and a sequence number; checks every reply is OK, echoes its own call, and arrives in submission order.
     */
    private static void client(final Path dir, final int service, final int tag, final long count, final int window)
    {
        final LaneClient client = Lanes.attach(dir, new BackoffIdleStrategy());
        say("READY client=" + client.id());
        final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
        final long[] state = new long[4]; // next expected seq, ok, bad, failed
        final StringBuilder firstProblem = new StringBuilder();
        int seq = 0;
        long lastReport = System.nanoTime();
        while (count < 0 || seq < count || client.inFlight() > 0)
        {
            while (client.inFlight() < window && (count < 0 || seq < count))
            {
                req.putInt(0, tag);
                req.putInt(4, seq);
                if (client.submit(service, req, 0, 8) == LaneClient.BACK_PRESSURE)
                {
                    break;
                }
                seq++;
            }
            client.await(c ->
            {
                if (c.status() != Status.OK)
                {
                    state[3]++;
                    if (firstProblem.length() == 0)
                    {
                        firstProblem.append(c.status()).append(": ").append(c.failure().getMessage());
                    }
                }
                else if (c.id() != state[0] || c.buffer().getInt(0) != tag || c.buffer().getInt(4) != (int)c.id())
                {
                    state[2]++;
                }
                else
                {
                    state[1]++;
                }
                state[0] = c.id() + 1;
            }, window);
            if (count < 0 && System.nanoTime() - lastReport > 50_000_000L)
            {
                lastReport = System.nanoTime();
                say("PROGRESS " + state[1]);
            }
        }
        client.close();
        say("DONE ok=" + state[1] + " bad=" + state[2] + " failed=" + state[3]
            + (firstProblem.length() == 0 ? "" : " first: " + firstProblem));
    }

    /**
     * An echo server (each call delayed by {@code delayMicros}) that keeps serving: when it stops by itself (the
     * kernel closed or died, it was replaced, its agent failed) it says {@code STOPPED <reason>} and attaches again,
     * retrying until the kernel takes it. {@code close} on standard input closes it: {@code SERVED <n>}.
     */
    private static void harnessServer(final Path dir, final int service, final long delayMicros) throws Exception
    {
        final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
        final Thread closer = new Thread(() ->
        {
            try
            {
                waitForClose();
            }
            catch (final Exception ignore)
            {
                // stdin closed: close anyway
            }
            closing.set(true);
        });
        closer.setDaemon(true);
        closer.start();
        long served = 0;
        while (!closing.get())
        {
            final Server server;
            try
            {
                server = Server.builder().directory(dir).service(service, (msg, len) ->
                {
                    if (delayMicros > 0)
                    {
                        LockSupport.parkNanos(delayMicros * 1000);
                    }
                    return len;
                }).start();
            }
            catch (final IllegalStateException ex)
            {
                LockSupport.parkNanos(20_000_000L);
                continue;
            }
            say("READY generation=" + server.generation());
            while (!closing.get() && server.isRunning())
            {
                LockSupport.parkNanos(5_000_000L);
            }
            final String reason = server.stopReason();
            server.close();
            served += server.served();
            if (!closing.get())
            {
                say("STOPPED " + reason);
            }
        }
        say("SERVED " + served);
    }

    /**
     * On {@code probe <n>}: attaches a new client, makes one call with a 3 s deadline, closes, and says {@code PROBE
     * <n> ok}, {@code refused <message>} (attach threw IllegalStateException), {@code failed <status> <message>},
     * {@code hung} or {@code threw <exception>} (anything but IllegalStateException).
     */
    private static void prober(final Path dir, final int service) throws Exception
    {
        final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
        while ((line = in.readLine()) != null && !"stop".equals(line.trim()))
        {
            final String n = line.trim().substring("probe".length()).trim();
            say("PROBE " + n + " " + probe(dir, service, req));
        }
    }

    private static String probe(final Path dir, final int service, final UnsafeBuffer req)
    {
        final LaneClient client;
        try
        {
            client = Lanes.attach(dir, new BackoffIdleStrategy());
        }
        catch (final IllegalStateException ex)
        {
            return "refused " + ex.getMessage();
        }
        catch (final RuntimeException ex)
        {
            return "threw " + ex;
        }
        final String[] outcome = new String[1];
        try
        {
            req.putInt(0, -7);
            if (client.submit(service, req, 0, 8) < 0)
            {
                return "failed back-pressure on a new client";
            }
            client.flush();
            final long deadline = System.nanoTime() + 3_000_000_000L;
            while (outcome[0] == null && System.nanoTime() - deadline < 0)
            {
                client.poll(c -> outcome[0] = c.status() == Status.OK ? "ok"
                    : "failed " + c.status() + " " + c.failure().getMessage(), 1);
                Thread.onSpinWait();
            }
            return outcome[0] == null ? "hung " + client.debugState() : outcome[0];
        }
        catch (final IllegalStateException ex)
        {
            return "refused " + ex.getMessage();
        }
        catch (final IllegalArgumentException ex)
        {
            // The API's answer to a request the (damaged) header's settings do not allow: a refusal, not a crash.
            return "refused (IllegalArgumentException) " + ex.getMessage();
        }
        catch (final RuntimeException ex)
        {
            return "threw " + ex;
        }
        finally
        {
            try
            {
                if (client.inFlight() == 0)
                {
                    client.close();
                }
            }
            catch (final RuntimeException ignore)
            {
                // reported above
            }
        }
    }

    private static void waitForClose() throws Exception
    {
        final BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null)
        {
            if ("close".equals(line.trim()))
            {
                return;
            }
        }
    }

    static void say(final String line)
    {
        System.out.println(line);
        System.out.flush();
    }
}
