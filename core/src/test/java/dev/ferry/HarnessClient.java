package dev.ferry;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * The {@code harness-client} role of {@link IpcChild}: a client that calls service {@code service} for ever (up to
 * {@code window} calls in flight, each carrying its tag and its call id), with a harness deadline per call, and
 * counts what happens to every call. It never blocks in the library (it polls), so a call that does not complete
 * within the deadline is seen and counted as <em>hung</em>, with its submission time (CLOCK_MONOTONIC, the clock of
 * every process of the machine) so that the test can tell which fault caused it.
 *
 * <p>Counts (per window between two {@code mark} commands, and in total at the end): {@code ok}; {@code failed},
 * {@code closed}, {@code timedOut} (completions of that status); {@code hung} (not completed within the deadline);
 * {@code dup} (a completion for an id already completed, or never submitted); {@code ooo} (an OK reply to an id
 * below one already answered OK: out of submission order); {@code bad} (an OK reply that is not this call's echo);
 * {@code lost} (calls never completed when the client was given up or stopped); {@code reattach} (the client
 * attached again after its old one was closed or gone); {@code refused} (submits that threw). When a submit throws
 * (the kernel closed or died, the client was reclaimed), the client polls its calls to completion, closes and
 * attaches again, retrying until the kernel takes it.
 *
 * <p>Standard input: {@code mark <n>} prints {@code MARK <n> <counts>} for the window since the last mark;
 * {@code stop} stops submitting, completes (or gives up) what is in flight, closes and prints {@code DONE <totals>}.
 * Other output: {@code ATTACHED client=<index> generation=<g>}, {@code HUNG id=<id> submittedAt=<ns> ...}, and from a
 * watchdog {@code STUCK <ms> <stack>} when a library call has not returned for 5 s.
 *
 * <p>Threading: the main thread runs the client; one thread reads standard input, one watches the main loop.
 */
final class HarnessClient
{
    private static final String[] NAMES = {"ok", "failed", "closed", "timedOut", "hung", "dup", "ooo", "bad", "lost",
        "reattach", "refused"};
    private static final int OK = 0;
    private static final int FAILED = 1;
    private static final int CLOSED = 2;
    private static final int TIMED_OUT = 3;
    private static final int HUNG = 4;
    private static final int DUP = 5;
    private static final int OOO = 6;
    private static final int BAD = 7;
    private static final int LOST = 8;
    private static final int REATTACH = 9;
    private static final int REFUSED = 10;

    private final Path dir;
    private final int service;
    private final int tag;
    private final int window;
    private final long deadlineNs;
    private final long[] counts = new long[NAMES.length];
    private final long[] totals = new long[NAMES.length];
    private final ConcurrentLinkedQueue<String> commands = new ConcurrentLinkedQueue<>();
    private final UnsafeBuffer request = new UnsafeBuffer(new byte[8]);
    private final BackoffIdleStrategy idle = new BackoffIdleStrategy(10, 20, 1_000, 200_000);
    private String firstProblem;
    private volatile long loopAt = System.nanoTime();
    private volatile Thread main;

    // The current attachment.
    private LaneClient client;
    private final Map<Long, Long> pending = new HashMap<>();
    private final BitSet completed = new BitSet();
    private final BitSet hungIds = new BitSet();
    private long submitted;
    private long lastOk = -1;
    private boolean retire;
    private long retireSince;

    private HarnessClient(final Path dir, final int service, final int tag, final int window, final long deadlineMs)
    {
        this.dir = dir;
        this.service = service;
        this.tag = tag;
        this.window = window;
        this.deadlineNs = deadlineMs * 1_000_000L;
    }

    static void run(final Path dir, final int service, final int tag, final int window, final long deadlineMs)
    {
        new HarnessClient(dir, service, tag, window, deadlineMs).loop();
    }

    private void loop()
    {
        main = Thread.currentThread();
        startThreads();
        boolean stopping = false;
        long stopAt = 0;
        while (true)
        {
            loopAt = System.nanoTime();
            final String command = commands.poll();
            if (command != null)
            {
                if (command.startsWith("mark"))
                {
                    mark(command.substring(4).trim());
                }
                else if ("stop".equals(command))
                {
                    stopping = true;
                    stopAt = System.nanoTime();
                }
            }
            if (client == null)
            {
                if (stopping)
                {
                    break;
                }
                attach();
                continue;
            }
            int work = 0;
            try
            {
                if (!stopping && !retire)
                {
                    work += submit();
                }
                work += client.poll(this::onCompletion, 16);
            }
            catch (final IllegalStateException ex)
            {
                counts[REFUSED]++;
                problem("refused: " + ex.getMessage());
                retire = true;
            }
            catch (final RuntimeException ex)
            {
                // Anything but IllegalStateException from the library is a finding: report, give this client up.
                problem("threw " + ex);
                say("THREW " + ex);
                retire = true;
            }
            checkHung();
            if (retire || (stopping && System.nanoTime() - stopAt > deadlineNs + 1_000_000_000L))
            {
                if (retireSince == 0)
                {
                    retireSince = System.nanoTime();
                }
                if (!retire(!stopping))
                {
                    idle.idle(work);
                }
                continue;
            }
            if (stopping && pending.isEmpty())
            {
                retire(false);
                continue;
            }
            idle.idle(work);
        }
        final StringBuilder b = new StringBuilder("DONE");
        for (int i = 0; i < NAMES.length; i++)
        {
            totals[i] += counts[i];
            b.append(' ').append(NAMES[i]).append('=').append(totals[i]);
        }
        say(b.toString());
    }

    private void startThreads()
    {
        final Thread reader = new Thread(() ->
        {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)))
            {
                String line;
                while ((line = in.readLine()) != null)
                {
                    commands.add(line.trim());
                }
            }
            catch (final Exception ignore)
            {
                // stdin closed
            }
            commands.add("stop");
        }, "commands");
        reader.setDaemon(true);
        reader.start();
        final Thread watchdog = new Thread(() ->
        {
            boolean reported = false;
            while (true)
            {
                LockSupport.parkNanos(500_000_000L);
                final long silent = System.nanoTime() - loopAt;
                if (silent > 5_000_000_000L && !reported)
                {
                    reported = true;
                    final StringBuilder b = new StringBuilder("STUCK " + silent / 1_000_000 + "ms in");
                    for (final StackTraceElement e : main.getStackTrace())
                    {
                        b.append(" | ").append(e);
                    }
                    say(b.toString());
                }
                else if (silent < 1_000_000_000L)
                {
                    reported = false;
                }
            }
        }, "watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    private void attach()
    {
        try
        {
            // The library's own deadline, well inside the harness's: a call the library leaves running past the
            // harness deadline is hung.
            client = Lanes.attach(dir, new BackoffIdleStrategy()).callTimeout(Duration.ofNanos(deadlineNs / 2));
            pending.clear();
            completed.clear();
            hungIds.clear();
            submitted = 0;
            lastOk = -1;
            retire = false;
            retireSince = 0;
            say("ATTACHED client=" + client.id() + " generation=" + client.generation());
        }
        catch (final IllegalStateException ex)
        {
            // No kernel, or it is not running, or every slot is taken: try again.
            LockSupport.parkNanos(20_000_000L);
        }
        catch (final RuntimeException ex)
        {
            problem("attach threw " + ex);
            say("THREW attach " + ex);
            LockSupport.parkNanos(20_000_000L);
        }
    }

    private int submit()
    {
        int n = 0;
        while (client.inFlight() < window)
        {
            request.putInt(0, tag);
            request.putInt(4, (int)submitted);
            final long id = client.submit(service, request, 0, 8);
            if (id == LaneClient.BACK_PRESSURE)
            {
                break;
            }
            if (id != submitted)
            {
                problem("submit returned id " + id + ", expected " + submitted);
            }
            pending.put(id, System.nanoTime());
            submitted++;
            n++;
        }
        if (n > 0)
        {
            client.flush();
        }
        return n;
    }

    private void onCompletion(final Completion c)
    {
        final long id = c.id();
        if (id < 0 || id >= submitted || completed.get((int)id))
        {
            counts[DUP]++;
            problem("completion for id " + id + " (submitted " + submitted + ", completed before: "
                + (id >= 0 && id < submitted && completed.get((int)id)) + ")");
            return;
        }
        completed.set((int)id);
        pending.remove(id);
        switch (c.status())
        {
            case OK ->
            {
                if (c.length() != 8 || c.buffer().getInt(0) != tag || c.buffer().getInt(4) != (int)id)
                {
                    counts[BAD]++;
                    problem("call " + id + ": OK reply of " + c.length() + " bytes that is not its echo");
                }
                else if (id < lastOk)
                {
                    counts[OOO]++;
                    problem("call " + id + " answered OK after call " + lastOk);
                }
                else
                {
                    counts[OK]++;
                }
                lastOk = Math.max(lastOk, id);
            }
            case FAILED ->
            {
                counts[FAILED]++;
                problem("FAILED: " + (c.failure() == null ? "" : c.failure().getMessage()));
            }
            case CLOSED ->
            {
                counts[CLOSED]++;
                problem("CLOSED: " + (c.failure() == null ? "" : c.failure().getMessage()));
            }
            default ->
            {
                counts[TIMED_OUT]++;
                problem("TIMED_OUT");
            }
        }
    }

    private void checkHung()
    {
        if (pending.isEmpty())
        {
            return;
        }
        final long now = System.nanoTime();
        for (final Iterator<Map.Entry<Long, Long>> it = pending.entrySet().iterator(); it.hasNext(); )
        {
            final Map.Entry<Long, Long> e = it.next();
            final long id = e.getKey();
            if (now - e.getValue() > deadlineNs && !hungIds.get((int)id))
            {
                hungIds.set((int)id);
                counts[HUNG]++;
                problem("call " + id + " hung");
                say("HUNG id=" + id + " submittedAt=" + e.getValue() + " client=" + client.id() + " "
                    + client.debugState());
            }
        }
    }

    /**
     * Gives the current client up once its calls completed (close, and attach again), or once every call left has
     * hung for a while longer (then they count as lost, and the client is dropped without close).
     *
     * @param again whether another client attaches afterwards (counted).
     * @return true when the client was given up.
     */
    private boolean retire(final boolean again)
    {
        if (client.inFlight() == 0)
        {
            if (!pending.isEmpty())
            {
                counts[LOST] += pending.size();
                say("LOST " + pending.size() + " calls " + pending.keySet() + " the client no longer has in flight");
            }
            try
            {
                client.close();
            }
            catch (final RuntimeException ex)
            {
                problem("close threw " + ex);
            }
        }
        else if (pending.size() == hungIds.cardinality() && hungIds.cardinality() > 0
            && System.nanoTime() - retireSince > 1_000_000_000L)
        {
            counts[LOST] += pending.size();
            say("LOST " + pending.size() + " calls " + pending.keySet() + " on client " + client.id());
        }
        else if (!pending.isEmpty() || client.inFlight() > 0)
        {
            return false;
        }
        client = null;
        if (again)
        {
            counts[REATTACH]++;
        }
        return true;
    }

    private void mark(final String n)
    {
        final StringBuilder b = new StringBuilder("MARK ").append(n);
        for (int i = 0; i < NAMES.length; i++)
        {
            b.append(' ').append(NAMES[i]).append('=').append(counts[i]);
            totals[i] += counts[i];
            counts[i] = 0;
        }
        b.append(" client=").append(client == null ? -1 : client.id());
        if (System.getProperty("ferry.harness.debug") != null && client != null)
        {
            b.append(" DEBUG pending:").append(pending.size()).append(" retire:").append(retire).append(" state: ")
                .append(client.debugState().replace('=', ':'));
        }
        if (firstProblem != null)
        {
            b.append(" first: ").append(firstProblem);
            firstProblem = null;
        }
        say(b.toString());
    }

    private void problem(final String what)
    {
        if (firstProblem == null)
        {
            firstProblem = what.length() > 300 ? what.substring(0, 300) : what;
        }
    }

    static void say(final String line)
    {
        synchronized (System.out)
        {
            System.out.println(line);
            System.out.flush();
        }
    }
}
