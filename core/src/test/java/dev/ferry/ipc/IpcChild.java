package dev.ferry.ipc;

import dev.ferry.Mode;
import dev.ferry.Status;
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
            case "kernel" -> kernel(dir, Mode.valueOf(args[2]), Integer.parseInt(args[3]), Long.parseLong(args[4]));
            case "server" -> server(dir, Integer.parseInt(args[2]), Long.parseLong(args[3]));
            case "client" -> client(dir, Integer.parseInt(args[2]), Integer.parseInt(args[3]),
                Long.parseLong(args[4]), Integer.parseInt(args[5]));
            default -> throw new IllegalArgumentException("unknown role " + args[0]);
        }
        System.exit(0);
    }

    private static void kernel(final Path dir, final Mode mode, final int services, final long timeoutMs)
        throws Exception
    {
        final IpcKernel kernel = IpcKernel.builder().directory(dir).mode(mode).services(services).maxInFlight(32)
            .slotBytes(64).timeouts(IpcTimeouts.of(Duration.ofMillis(timeoutMs))).build().start();
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
        final IpcServer server = IpcServer.builder().directory(dir).service(service, (msg, len) ->
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
        final IpcClient client = IpcClient.attach(dir, new BackoffIdleStrategy());
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
                if (client.submit(service, req, 0, 8) == IpcClient.BACK_PRESSURE)
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

    private static void say(final String line)
    {
        System.out.println(line);
        System.out.flush();
    }
}
