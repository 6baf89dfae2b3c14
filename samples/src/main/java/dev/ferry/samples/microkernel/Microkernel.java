package dev.ferry.samples.microkernel;

import dev.ferry.Client;
import dev.ferry.Completion;
import dev.ferry.CompletionHandler;
import dev.ferry.Kernel;
import dev.ferry.Mode;
import dev.ferry.Status;
import dev.ferry.agent.AgentThreadFactory;
import dev.ferry.samples.Args;
import dev.ferry.samples.ThreadStats;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A toy operating-system personality on Ferry: a file-system server and a block-device server, and a client program
 * whose processes make open/read/write/close system calls against an in-memory disk. The same program runs as a
 * monolithic kernel (INLINE: the servers' code runs on the caller's thread), as a classic microkernel (BLOCKING: a
 * hand-off to each server and back, one call at a time) and with asynchronous batched calls through the MOVER
 * (every process keeps one call in flight; the client publishes all ready calls with one flush). For each it
 * measures system calls per second, CPU time per system call over every thread involved (caller, servers, mover)
 * and context switches per system call, and checks that all three leave the disk in the same state.
 *
 * <p>Threading: {@link #run} runs on the calling thread, which owns each kernel's client; each kernel's agents run
 * on their own threads and are stopped before {@link #run} returns.
 */
public final class Microkernel
{
    private static final int BLOCKS_PER_FILE = 4;

    private Microkernel()
    {
    }

    /**
     * @param args {@code --processes N --sessions N --rounds N}; {@code --help} lists them.
     */
    public static void main(final String[] args)
    {
        final Args a = new Args("microkernel", args);
        final int processes = a.intArg("processes", 1024, "processes, each with its own file and one call in flight");
        final int sessions = a.intArg("sessions", 6, "open ... close sessions per process");
        final int rounds = a.intArg("rounds", 4, "write+read pairs per session");
        if (a.helpOrCheck())
        {
            return;
        }
        final Result r = run(processes, sessions, rounds, System.out);
        if (!r.disksEqual())
        {
            System.exit(1);
        }
    }

    /**
     * Runs the program in the three ways and prints the table.
     *
     * @param processes processes, each with its own file.
     * @param sessions  open-to-close sessions per process.
     * @param rounds    write and read pairs per session.
     * @param out       where the table goes.
     * @return the measured rows and whether the disks agree.
     */
    public static Result run(final int processes, final int sessions, final int rounds, final PrintStream out)
    {
        if (processes < 1 || sessions < 1 || rounds < 1)
        {
            throw new IllegalArgumentException("processes, sessions and rounds must each be at least 1; got "
                + processes + ", " + sessions + ", " + rounds);
        }
        out.printf("microkernel: %d processes x %d sessions x (open, %d x (write, read), close) = %d system calls,"
            + " %d Ferry calls, on %d CPUs%n", processes, sessions, rounds, (long)processes * sessions * (2 + 2L * rounds),
            (long)processes * sessions * (2 + 4L * rounds), Runtime.getRuntime().availableProcessors());
        final List<Row> rows = new ArrayList<>();
        final Variant[] variants = {
            new Variant("monolithic (INLINE)", Mode.INLINE, false),
            new Variant("microkernel (BLOCKING)", Mode.BLOCKING, false),
            new Variant("batched async (MOVER)", Mode.MOVER, true)};
        for (final Variant v : variants)
        {
            runOnce(v, processes, Math.max(1, sessions / 4), rounds);
            rows.add(runOnce(v, processes, sessions, rounds));
        }

        out.printf("%-24s %10s %12s %14s %14s %12s %8s %10s%n", "kernel", "wall ms", "syscalls/s", "CPU ns/syscall",
            "ctx sw/syscall", "msgs/batch", "threads", "disk hash");
        for (final Row r : rows)
        {
            out.printf("%-24s %10.1f %12.0f %14.0f %14s %12.1f %8d %10s%n", r.name, r.wallNs / 1e6, r.callsPerSecond(),
                r.cpuNsPerCall(), r.switches < 0 ? "n/a" : String.format("%.3f", r.switchesPerCall()), r.meanBatch,
                r.threads, String.format("%08x", r.diskHash()));
        }
        boolean equal = true;
        for (final Row r : rows)
        {
            equal &= Arrays.equals(r.disk, rows.get(0).disk) && Arrays.equals(r.cursors, rows.get(0).cursors)
                && r.checksum == rows.get(0).checksum && r.syscalls == rows.get(0).syscalls;
        }
        final boolean written = !Arrays.equals(rows.get(0).disk, new byte[rows.get(0).disk.length]);
        out.println("disk states equal across all three: " + (equal ? "yes" : "NO")
            + (written ? "" : " (but nothing was written: the program did not run)"));
        final double ratio = rows.get(1).cpuNsPerCall() / rows.get(2).cpuNsPerCall();
        out.printf("CPU ns per system call, BLOCKING / batched MOVER: %.1fx (target at least 5x: %s)%n", ratio,
            ratio >= 5 ? "met" : "not met");
        out.println("(one system call is 1 Ferry call for open/close, 2 for read/write: file system, then disk)");
        return new Result(rows, equal && written, ratio);
    }

    private static Row runOnce(final Variant v, final int processes, final int sessions, final int rounds)
    {
        final FileSystem fs = new FileSystem(processes, BLOCKS_PER_FILE);
        final BlockDevice disk = new BlockDevice(processes * BLOCKS_PER_FILE);
        final ThreadStats stats = new ThreadStats();
        final int capacity = Math.max(2, Integer.highestOneBit(processes) << 1);
        final Process[] ps = new Process[processes];
        for (int i = 0; i < processes; i++)
        {
            ps[i] = new Process(i, sessions, rounds);
        }
        final Kernel kernel = Kernel.builder()
            .mode(v.mode)
            .service(Wire.FS, fs)
            .service(Wire.DISK, disk)
            .maxInFlight(capacity)
            .moverBatch(Math.max(32, capacity))
            .slotBytes(Wire.SLOT_BYTES)
            .threadFactory(stats.wrap(AgentThreadFactory.daemon()))
            .build()
            .start();
        final Sent sent;
        final ThreadStats.Snapshot before;
        final ThreadStats.Snapshot after;
        try
        {
            final Client client = kernel.newClient();
            stats.register();
            stats.awaitRegistered(1 + kernel.agentThreads().size(), 10_000);
            before = stats.snapshot();
            sent = v.batched ? runBatched(client, ps, capacity) : runSync(client, ps);
            after = stats.snapshot();
            client.close();
        }
        finally
        {
            kernel.close();
        }
        long syscalls = 0;
        long checksum = 0;
        for (final Process p : ps)
        {
            syscalls += p.syscalls();
            checksum = checksum * 1_000_003 + p.checksum();
        }
        return new Row(v.name, syscalls, sent.calls(), after.nanoTime() - before.nanoTime(),
            after.cpuNs() - before.cpuNs(), after.switchesSince(before), stats.threads(), sent.meanBatch(), disk.image(),
            fs.appendCursors(), checksum);
    }

    /** Every call is published on its own: batches of one. */
    private static Sent runSync(final Client client, final Process[] ps)
    {
        final UnsafeBuffer req = new UnsafeBuffer(new byte[Wire.SLOT_BYTES]);
        final UnsafeBuffer reply = new UnsafeBuffer(new byte[Wire.SLOT_BYTES]);
        long calls = 0;
        int remaining = ps.length;
        while (remaining > 0)
        {
            for (final Process p : ps)
            {
                if (!p.done())
                {
                    final int len = p.next(req);
                    client.call(p.service(), req, 0, len, reply, 0);
                    calls++;
                    p.onReply(reply);
                    if (p.done())
                    {
                        remaining--;
                    }
                }
            }
        }
        return new Sent(calls, calls);
    }

    /** Every round's ready calls are published with one flush: a batch is what one flush published. */
    private static Sent runBatched(final Client client, final Process[] ps, final int capacity)
    {
        final UnsafeBuffer req = new UnsafeBuffer(new byte[Wire.SLOT_BYTES]);
        final Replies replies = new Replies(ps);
        for (int i = 0; i < ps.length; i++)
        {
            replies.ready[replies.readyCount++] = i;
        }
        long calls = 0;
        long batches = 0;
        while (replies.remaining > 0)
        {
            for (int i = 0; i < replies.readyCount; i++)
            {
                final Process p = ps[replies.ready[i]];
                final int len = p.next(req);
                if (client.submit(p.service(), req, 0, len) == Client.BACK_PRESSURE)
                {
                    throw new IllegalStateException("back-pressure with " + client.inFlight() + " calls in flight and "
                        + capacity + " slots; each process should have at most one call in flight");
                }
                calls++;
            }
            replies.readyCount = 0;
            if (client.flush() > 0)
            {
                batches++;
            }
            if (client.staged() > 0)
            {
                throw new IllegalStateException(client.staged() + " calls left staged by a flush; the lanes should hold"
                    + " all " + capacity + " calls a client may have in flight");
            }
            client.await(replies, capacity);
        }
        return new Sent(calls, batches);
    }

    /** Routes each completion to its process by the tag; collects the processes ready for their next call. */
    private static final class Replies implements CompletionHandler
    {
        private final Process[] ps;
        private final int[] ready;
        private int readyCount;
        private int remaining;

        Replies(final Process[] ps)
        {
            this.ps = ps;
            this.ready = new int[ps.length];
            this.remaining = ps.length;
        }

        @Override
        public void onCompletion(final Completion c)
        {
            if (c.status() != Status.OK)
            {
                throw new IllegalStateException("system call failed: " + c.status(), c.failure());
            }
            final int pid = c.buffer().getInt(Wire.TAG);
            final Process p = ps[pid];
            p.onReply(c.buffer());
            if (p.done())
            {
                remaining--;
            }
            else
            {
                ready[readyCount++] = pid;
            }
        }
    }

    private record Variant(String name, Mode mode, boolean batched)
    {
    }

    /**
     * What a run sent.
     *
     * @param calls   Ferry calls made.
     * @param batches flushes that published them.
     */
    private record Sent(long calls, long batches)
    {
        double meanBatch()
        {
            return (double)calls / Math.max(1, batches);
        }
    }

    /**
     * One way of running the program, measured.
     *
     * <p>Immutable once built; safe to share between threads after {@link #run} returns.
     *
     * @param name        how the kernel is built.
     * @param syscalls    system calls made.
     * @param ferryCalls  Ferry calls they took.
     * @param wallNs      elapsed time.
     * @param cpuNs       CPU time of every thread involved.
     * @param switches    context switches of every thread involved, or -1 where unknown.
     * @param threads     threads involved.
     * @param meanBatch   Ferry calls per published batch.
     * @param disk        the disk's final contents.
     * @param cursors     the file system's final append cursors.
     * @param checksum    of every byte the program read.
     */
    public record Row(String name, long syscalls, long ferryCalls, long wallNs, long cpuNs, long switches, int threads,
                      double meanBatch, byte[] disk, int[] cursors, long checksum)
    {
        /** @return system calls per second. */
        public double callsPerSecond()
        {
            return syscalls * 1e9 / wallNs;
        }

        /** @return CPU ns per system call, over every thread involved. */
        public double cpuNsPerCall()
        {
            return (double)cpuNs / syscalls;
        }

        /** @return context switches per system call, or -1 where unknown. */
        public double switchesPerCall()
        {
            return switches < 0 ? -1 : (double)switches / syscalls;
        }

        /** @return a hash of the disk's contents and the file system's cursors. */
        public int diskHash()
        {
            return 31 * Arrays.hashCode(disk) + Arrays.hashCode(cursors);
        }
    }

    /**
     * What {@link #run} measured.
     *
     * <p>Immutable; safe to share between threads.
     *
     * @param rows              INLINE, BLOCKING, batched MOVER, in that order.
     * @param disksEqual        whether all three left the same, non-empty disk and read the same bytes.
     * @param blockingOverMover BLOCKING's CPU ns per system call over batched MOVER's.
     */
    public record Result(List<Row> rows, boolean disksEqual, double blockingOverMover)
    {
    }
}
