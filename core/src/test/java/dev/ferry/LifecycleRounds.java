package dev.ferry;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * The {@code lifecycle} and {@code after-close} roles of {@link IpcChild}, run in a child JVM so that a crash of the
 * JVM (a SIGSEGV reading an unmapped mapping) is seen by the test as a dead child, not as a dead test run.
 *
 * <p>{@code lifecycle}: rounds of a kernel, two servers of service 0 (the second replacing the first after it closed,
 * variant 0, or after it "died": its heartbeat made stale, variant 1) and clients, all in this JVM, closed in the
 * order given by the round's permutation of four roles. Says {@code ROUND <r> <variant> <order>} before each round,
 * {@code PROBLEM <r> <what>} for a close or call that threw, and {@code DONE} at the end.
 *
 * <p>{@code after-close}: every public method of a closed client, server and kernel, one check at a time:
 * {@code CHECK <i> <name>} before it and {@code RESULT <i> ok} or {@code RESULT <i> FAIL <what>} after.
 *
 * <p>Threading: the main thread only (the roles' own agents and heartbeat thread aside).
 */
final class LifecycleRounds
{
    /** The 24 orders of the four roles 0-3, in lexicographic order. */
    static final List<int[]> ORDERS = permutations();
    private static final Duration TIMEOUT = Duration.ofMillis(200);

    private LifecycleRounds()
    {
    }

    private static List<int[]> permutations()
    {
        final List<int[]> all = new ArrayList<>();
        for (int a = 0; a < 4; a++)
        {
            for (int b = 0; b < 4; b++)
            {
                for (int c = 0; c < 4; c++)
                {
                    final int d = 6 - a - b - c;
                    if (a != b && a != c && b != c && d != a && d != b && d != c)
                    {
                        all.add(new int[] {a, b, c, d});
                    }
                }
            }
        }
        return all;
    }

    static void rounds(final Path dir, final Mode mode, final int from, final int count) throws Exception
    {
        final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
        final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
        for (int r = from; r < from + count; r++)
        {
            final int variant = (r / ORDERS.size()) % 2;
            final int[] order = ORDERS.get(r % ORDERS.size());
            final String[] names = variant == 0
                ? new String[] {"kernel", "server2", "clientA", "clientB"}
                : new String[] {"kernel", "server1(replaced)", "server2", "clientA"};
            final StringBuilder o = new StringBuilder();
            for (final int i : order)
            {
                o.append(o.length() == 0 ? "" : ",").append(names[i]);
            }
            IpcChild.say("ROUND " + r + " " + (variant == 0 ? "after-close" : "after-death") + " " + o);
            final Path d = dir.resolve("round-" + r);
            final AutoCloseable[] roles = new AutoCloseable[4];
            final Kernel kernel = Kernel.builder().directory(d).mode(mode).maxClients(4).maxInFlight(8)
                .slotBytes(64).timeouts(Timeouts.of(TIMEOUT)).build().start();
            roles[0] = kernel;
            try
            {
                final Server first = Server.builder().directory(d).service(0, (m, l) -> l).start();
                final LaneClient a = Lanes.attach(d, new BackoffIdleStrategy());
                call(r, a, req, rep);
                final Server second;
                if (variant == 0)
                {
                    first.close();
                    second = Server.builder().directory(d).service(0, (m, l) -> l).start();
                    final LaneClient b = Lanes.attach(d, new BackoffIdleStrategy());
                    call(r, b, req, rep);
                    roles[1] = second;
                    roles[2] = a;
                    roles[3] = b;
                }
                else
                {
                    second = replace(d);
                    if (!first.awaitStop(Duration.ofSeconds(5)))
                    {
                        IpcChild.say("PROBLEM " + r + " the replaced server did not stop");
                    }
                    roles[1] = first;
                    roles[2] = second;
                    roles[3] = a;
                }
                call(r, a, req, rep);
            }
            catch (final RuntimeException ex)
            {
                IpcChild.say("PROBLEM " + r + " setup threw " + ex);
            }
            for (final int i : order)
            {
                if (roles[i] != null)
                {
                    try
                    {
                        roles[i].close();
                    }
                    catch (final Exception ex)
                    {
                        IpcChild.say("PROBLEM " + r + " " + names[i] + ".close() threw " + ex);
                    }
                }
            }
        }
        // Give a heartbeat stamper that still holds an unmapped entry the time to write to it.
        Thread.sleep(TIMEOUT.toMillis());
        IpcChild.say("DONE");
    }

    private static void call(final int r, final LaneClient client, final UnsafeBuffer req, final UnsafeBuffer rep)
    {
        try
        {
            req.putInt(0, r);
            if (client.call(0, req, 0, 8, rep, 0) != 8 || rep.getInt(0) != r)
            {
                IpcChild.say("PROBLEM " + r + " a call returned the wrong reply");
            }
        }
        catch (final RuntimeException ex)
        {
            IpcChild.say("PROBLEM " + r + " a call threw " + ex);
        }
    }

    /**
     * A second server for service 0 while the first still runs: the first's heartbeat is made stale (as if its
     * process had stopped for longer than the server timeout) until the second's attach accepts it as dead.
     */
    private static Server replace(final Path d) throws Exception
    {
        try (Mapping view = Mapping.open(d))
        {
            final int heartbeat = view.layout.serverEntry(0) + IpcLayout.ENTRY_HEARTBEAT_OFFSET;
            for (int attempt = 0; ; attempt++)
            {
                view.buffer.putLongVolatile(heartbeat, System.nanoTime() - 10 * TIMEOUT.toNanos());
                try
                {
                    return Server.builder().directory(d).service(0, (m, l) -> l).start();
                }
                catch (final IllegalStateException ex)
                {
                    if (attempt > 200)
                    {
                        throw ex;
                    }
                    Thread.sleep(1);
                }
            }
        }
    }

    /** One use of a role after close, and what it must do. */
    private record Check(String name, Callable<Object> action, boolean mustThrow)
    {
    }

    static void afterClose(final Path dir, final Mode mode, final int from) throws Exception
    {
        final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
        final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
        final Kernel kernel = Kernel.builder().directory(dir).mode(mode).maxClients(4).maxInFlight(8)
            .slotBytes(64).timeouts(Timeouts.of(TIMEOUT)).build().start();
        final Server server = Server.builder().directory(dir).service(0, (m, l) -> l).start();
        final LaneClient client = Lanes.attach(dir, new BackoffIdleStrategy());
        final LaneClient left = Lanes.attach(dir, new BackoffIdleStrategy());
        client.call(0, req, 0, 8, rep, 0);
        left.call(0, req, 0, 8, rep, 0);
        client.close();
        server.close();
        final List<Check> checks = new ArrayList<>();
        checks.add(new Check("client.submit(DirectBuffer)", () -> client.submit(0, req, 0, 8), true));
        checks.add(new Check("client.submit(byte[])", () -> client.submit(0, new byte[8]), true));
        checks.add(new Check("client.flush()", client::flush, true));
        checks.add(new Check("client.poll()", () -> client.poll(c -> { }, 1), true));
        checks.add(new Check("client.await()", () -> client.await(c -> { }, 1), true));
        checks.add(new Check("client.call()", () -> client.call(0, req, 0, 8, rep, 0), true));
        // Heap state, answered after close as by the in-process Client (a caller may read what was left in flight).
        checks.add(new Check("client.inFlight()", client::inFlight, false));
        checks.add(new Check("client.staged()", client::staged, false));
        checks.add(new Check("client.freeSlots()", client::freeSlots, false));
        checks.add(new Check("client.close() again", () -> close(client), false));
        checks.add(new Check("client heap counters", () -> "" + client.id() + client.generation() + client.lateReplies()
            + client.corruptRecords() + client.owner().getName() + client, false));
        checks.add(new Check("server.isRunning() is false", () -> falseOrThrow(server.isRunning()), false));
        checks.add(new Check("server.awaitStop()", () -> server.awaitStop(Duration.ofMillis(100)), false));
        checks.add(new Check("server heap counters", () -> "" + server.served() + server.corruptRecords()
            + server.staleRequests() + server.discardedAtAttach() + server.serviceId() + server.generation()
            + server.stopReason() + server, false));
        checks.add(new Check("server.close() again", () -> close(server), false));
        checks.add(new Check("kernel.close()", () -> close(kernel), false));
        checks.add(new Check("kernel.attachedClients()", kernel::attachedClients, true));
        checks.add(new Check("kernel.start()", kernel::start, true));
        checks.add(new Check("kernel.isRunning() is false", () -> falseOrThrow(kernel.isRunning()), false));
        checks.add(new Check("kernel heap counters", () -> "" + kernel.forwarded() + kernel.reclaimedClients()
            + kernel.corruptRecords() + kernel.failure() + kernel.mode() + kernel.directory() + kernel, false));
        checks.add(new Check("kernel.close() again", () -> close(kernel), false));
        checks.add(new Check("Lanes.attach() to a closed kernel",
            () -> Lanes.attach(dir, new BackoffIdleStrategy()), true));
        checks.add(new Check("Server.start() on a closed kernel",
            () -> Server.builder().directory(dir).service(0, (m, l) -> l).start(), true));
        checks.add(new Check("open client.submit() after the kernel closed", () -> left.submit(0, req, 0, 8), true));
        checks.add(new Check("open client.poll() after the kernel closed", () -> left.poll(c -> { }, 1), false));
        checks.add(new Check("open client.close() after the kernel closed", () -> close(left), false));
        checks.add(new Check("that client.poll() after its close", () -> left.poll(c -> { }, 1), true));
        for (int i = 0; i < checks.size(); i++)
        {
            final Check check = checks.get(i);
            if (i < from)
            {
                // Checks before the start point ran in an earlier child; closes still happen, so state is the same.
                if (check.name().contains("close()") && !check.name().contains("again"))
                {
                    quietly(check.action());
                }
                continue;
            }
            IpcChild.say("CHECK " + i + " " + check.name());
            String result;
            try
            {
                final Object value = check.action().call();
                result = check.mustThrow() ? "FAIL returned " + value + " instead of throwing IllegalStateException"
                    : "ok";
            }
            catch (final IllegalStateException ex)
            {
                result = check.mustThrow() ? "ok" : "FAIL threw " + ex;
            }
            catch (final Throwable ex)
            {
                result = "FAIL threw " + ex + " (expected " + (check.mustThrow() ? "IllegalStateException)" : "none)");
            }
            IpcChild.say("RESULT " + i + " " + result);
        }
        IpcChild.say("DONE " + checks.size());
    }

    private static Object close(final AutoCloseable closeable) throws Exception
    {
        closeable.close();
        return "closed";
    }

    private static Object falseOrThrow(final boolean value)
    {
        if (value)
        {
            throw new AssertionError("true after close");
        }
        return false;
    }

    private static void quietly(final Callable<Object> action)
    {
        try
        {
            action.call();
        }
        catch (final Exception ignore)
        {
            // as in the run that checked it
        }
    }
}
