package dev.ferry.bench.ipc;

import dev.ferry.Kernel;
import dev.ferry.Mode;
import dev.ferry.affinity.model.MachineState;
import dev.ferry.affinity.model.Stats;
import io.aeron.driver.MediaDriver;
import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.ToLongFunction;

/**
 * {@code ipc-bench}: round trips between this process and an echo peer in another JVM, over Ferry's shared memory,
 * Unix domain sockets, TCP on loopback and Aeron IPC, plus Ferry's in-process DIRECT round trip as the reference,
 * each at every message size, in one run. For each it measures the round trip's p50 and p99 (one message in flight)
 * and the throughput with a window of messages in flight.
 *
 * <p>Not thread-safe: run from one thread.
 */
public final class IpcBench
{
    /** Transports in the order they are measured. */
    public static final List<String> TRANSPORTS = List.of("ferry-inprocess-direct", "ferry-shm", "uds", "tcp",
        "aeron-ipc");

    /**
     * Transports measured only when asked for: bare Agrona ring pairs ({@link RingTransport}), the floor under
     * Ferry's shared memory, with the reader zeroing what it read (m2o, as Ferry's rings) or the producer zeroing
     * ahead (o2o); and a bare ring of call slots answered in place ({@link SlotTransport}), the floor of the other
     * layout the design brief asks to measure.
     */
    public static final List<String> EXTRA_TRANSPORTS = List.of("agrona-m2o", "agrona-o2o", "slots");

    /**
     * One measurement.
     *
     * @param transport  which transport.
     * @param msgBytes   the message size.
     * @param rttP50Ns   median round trip.
     * @param rttP99Ns   99th percentile round trip.
     * @param msgsPerSec echoed messages per second with a window in flight.
     * @param lineRttNs  the machine's state during the measurement ({@link MachineState#across} of the probes just
     *                   before and just after it): {@link MachineState#NOT_PROBED}, {@link MachineState#CHANGED}, or the line round
     *                   trip in ns; for a row, the median of its rounds'.
     * @param sameState  for a row: its figures come from rounds probed in the state most of the run was measured in
     *                   ({@link #typicalProbe}), so rows that both have it compare like for like.
     */
    public record Result(
        String transport, int msgBytes, long rttP50Ns, long rttP99Ns, long msgsPerSec, long lineRttNs,
        boolean sameState)
    {
        /**
         * @return this result as a JSON object.
         */
        public String toJson()
        {
            return "{\"transport\":\"" + transport + "\",\"msgBytes\":" + msgBytes + ",\"rttP50Ns\":" + rttP50Ns
                + ",\"rttP99Ns\":" + rttP99Ns + ",\"msgsPerSec\":" + msgsPerSec + ",\"lineRttNs\":" + lineRttNs
                + ",\"sameState\":" + sameState + "}";
        }
    }


    private final int warmup;
    private final int roundTrips;
    private final int throughputMessages;
    private final int window;
    private final Consumer<String> log;

    /**
     * @param warmup             round trips before measuring, per transport and size.
     * @param roundTrips         measured round trips.
     * @param throughputMessages messages in the throughput phase.
     * @param window             messages in flight in the throughput phase.
     * @param log                receives progress lines.
     */
    public IpcBench(
        final int warmup, final int roundTrips, final int throughputMessages, final int window,
        final Consumer<String> log)
    {
        this.warmup = warmup;
        this.roundTrips = roundTrips;
        this.throughputMessages = throughputMessages;
        this.window = window;
        this.log = log;
    }

    /**
     * Measures the transports at the sizes, once.
     *
     * @param transports names from {@link #TRANSPORTS} or {@link #EXTRA_TRANSPORTS}.
     * @param sizes      message sizes in bytes, at most 1024.
     * @return one result per transport and size.
     * @throws Exception when a transport cannot be set up.
     */
    public List<Result> run(final List<String> transports, final List<Integer> sizes) throws Exception
    {
        return run(transports, sizes, 1);
    }

    /**
     * Measures the transports at the sizes in {@code repeats} rounds, every transport once per round, and reports
     * for each transport and size the median of its rounds (each figure on its own). The transports are measured
     * one after the other, so a machine that changes speed in the middle of a round (this project's VM switches
     * between a fast and a slow state) would skew a comparison: a cache-line round trip probed before and after each
     * measurement tells the states apart, and each row keeps the rounds measured in the state most of the run was
     * measured in (see {@link #summarise}).
     *
     * @param transports names from {@link #TRANSPORTS} or {@link #EXTRA_TRANSPORTS}.
     * @param sizes      message sizes in bytes, at most 1024.
     * @param repeats    rounds, at least 1.
     * @return one result per transport and size.
     * @throws Exception when a transport cannot be set up.
     */
    public List<Result> run(final List<String> transports, final List<Integer> sizes, final int repeats)
        throws Exception
    {
        if (repeats < 1)
        {
            throw new IllegalArgumentException("repeats is " + repeats + "; it must be at least 1");
        }
        for (final int size : sizes)
        {
            if (size < 1 || size > 1024)
            {
                throw new IllegalArgumentException("message size " + size + " is outside 1-1024 bytes");
            }
        }
        final Map<String, List<Result>> rounds = new LinkedHashMap<>();
        // Each probe closes one measurement and opens the next: nothing runs between them.
        long probe = MachineState.probe();
        for (int r = 1; r <= repeats; r++)
        {
            for (final int size : sizes)
            {
                for (final String transport : transports)
                {
                    log.accept("measuring " + transport + " at " + size + " B" + (repeats > 1 ? ", round " + r + " of "
                        + repeats : "") + " ...");
                    final Result m = measure(transport, size);
                    final long before = probe;
                    probe = MachineState.probe();
                    final long line = MachineState.across(before, probe);
                    rounds.computeIfAbsent(transport + "/" + size, k -> new ArrayList<>()).add(new Result(
                        m.transport(), m.msgBytes(), m.rttP50Ns(), m.rttP99Ns(), m.msgsPerSec(), line, true));
                }
            }
        }
        final List<List<Result>> rows = new ArrayList<>();
        for (final int size : sizes)
        {
            for (final String transport : transports)
            {
                rows.add(rounds.get(transport + "/" + size));
            }
        }
        return summarise(rows);
    }

    /**
     * One result per row (a transport at a size) from its rounds. Where the machine was probed, a row's figures are
     * the medians of its rounds probed within 20% of {@link #typicalProbe} (the state most of the run was measured
     * in), and {@link Result#sameState()} says so; a row with no such round takes the median of all its rounds and
     * is marked as not comparable. Unprobed rows take the median of all their rounds.
     *
     * @param rows each row's rounds.
     * @return one result per row, in order.
     */
    static List<Result> summarise(final List<List<Result>> rows)
    {
        final double typical = typicalProbe(rows);
        final List<Result> results = new ArrayList<>();
        for (final List<Result> row : rows)
        {
            if (typical == 0)
            {
                results.add(median(row, true));
                continue;
            }
            final List<Result> inState = row.stream()
                .filter(r -> MachineState.same(r.lineRttNs(), Math.round(typical)))
                .toList();
            results.add(inState.isEmpty() ? median(row, false) : median(inState, true));
        }
        return results;
    }

    /**
     * The state most of the run was measured in: of the clusters of probes within 20% of one probe, the one that
     * covers the most rows, then the one with the most probes; its median. (The probes of a machine that switches
     * between two states are bimodal: their overall median can lie between the two and match neither.)
     *
     * @param rows each row's rounds.
     * @return the typical probe in ns, 0 when nothing was probed.
     */
    static double typicalProbe(final List<List<Result>> rows)
    {
        double best = 0;
        int bestRows = 0;
        int bestCount = 0;
        for (final List<Result> row : rows)
        {
            for (final Result candidate : row)
            {
                final long centre = candidate.lineRttNs();
                if (centre <= 0)
                {
                    continue;
                }
                int covered = 0;
                int count = 0;
                final List<Double> members = new ArrayList<>();
                for (final List<Result> other : rows)
                {
                    boolean in = false;
                    for (final Result r : other)
                    {
                        if (MachineState.same(r.lineRttNs(), centre))
                        {
                            in = true;
                            count++;
                            members.add((double)r.lineRttNs());
                        }
                    }
                    covered += in ? 1 : 0;
                }
                if (covered > bestRows || (covered == bestRows && count > bestCount))
                {
                    bestRows = covered;
                    bestCount = count;
                    best = Stats.of(members.stream().mapToDouble(Double::doubleValue).toArray()).median();
                }
            }
        }
        return best;
    }

    /**
     * @param rounds    one transport's results at one size.
     * @param sameState what the result says of its state.
     * @return their medians, each figure taken on its own.
     */
    static Result median(final List<Result> rounds, final boolean sameState)
    {
        final Result first = rounds.get(0);
        final double[] probes = rounds.stream().mapToLong(Result::lineRttNs).filter(v -> v > 0).asDoubleStream()
            .toArray();
        final long probe = probes.length > 0 ? (long)Stats.of(probes).median()
            : rounds.stream().anyMatch(r -> r.lineRttNs() == MachineState.CHANGED) ? MachineState.CHANGED
            : MachineState.NOT_PROBED;
        return new Result(first.transport(), first.msgBytes(), median(rounds, Result::rttP50Ns),
            median(rounds, Result::rttP99Ns), median(rounds, Result::msgsPerSec), probe, sameState);
    }

    private static long median(final List<Result> rounds, final ToLongFunction<Result> f)
    {
        return (long)Stats.of(rounds.stream().mapToLong(f).asDoubleStream().toArray()).median();
    }

    private Result measure(final String transport, final int size) throws Exception
    {
        final Path scratch = Files.createTempDirectory("ferry-ipc-bench");
        Process peer = null;
        MediaDriver driver = null;
        Kernel kernel = null;
        Transport t = null;
        try
        {
            switch (transport)
            {
                case "ferry-inprocess-direct" -> t = FerryTransport.inProcess(size, window);
                case "ferry-shm" ->
                {
                    kernel = Kernel.builder().name("bench-" + ProcessHandle.current().pid()).mode(Mode.DIRECT)
                        .slotBytes(1024).maxClients(2).maxInFlight(Math.max(64, window)).build().start();
                    peer = startPeer(scratch, "ferry", kernel.directory().toString());
                    awaitReady(peer);
                    t = FerryTransport.shm(kernel, size);
                }
                case "uds" ->
                {
                    final Path socket = scratch.resolve("echo.sock");
                    peer = startPeer(scratch, "uds", socket.toString());
                    awaitReady(peer);
                    t = new SocketTransport(UnixDomainSocketAddress.of(socket), size);
                }
                case "tcp" ->
                {
                    peer = startPeer(scratch, "tcp");
                    final int port = Integer.parseInt(awaitReady(peer).substring("READY ".length()).trim());
                    t = new SocketTransport(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), size);
                }
                case "aeron-ipc" ->
                {
                    final String dir = Files.isDirectory(Path.of("/dev/shm"))
                        ? "/dev/shm/ferry-bench-aeron-" + ProcessHandle.current().pid()
                        : scratch.resolve("aeron").toString();
                    driver = AeronTransport.launchDriver(dir);
                    peer = startPeer(scratch, "aeron", dir);
                    awaitReady(peer);
                    t = new AeronTransport(driver, size, 20_000);
                }
                case "agrona-m2o", "agrona-o2o" ->
                {
                    final Path file = sharedFile(scratch, transport);
                    t = new RingTransport(file, transport.equals("agrona-o2o"), size);
                    peer = startPeer(scratch, transport, file.toString());
                    awaitReady(peer);
                }
                case "slots" ->
                {
                    final Path file = sharedFile(scratch, transport);
                    t = new SlotTransport(file, size);
                    peer = startPeer(scratch, transport, file.toString(), Integer.toString(size));
                    awaitReady(peer);
                }
                default -> throw new IllegalArgumentException("unknown transport '" + transport + "'; pick from "
                    + TRANSPORTS + " or " + EXTRA_TRANSPORTS);
            }
            final Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
            pingPong(t, warmup, null);
            pingPong(t, roundTrips, histogram);
            final long perSec = throughput(t);
            return new Result(transport, size, histogram.getValueAtPercentile(50),
                histogram.getValueAtPercentile(99), perSec, MachineState.NOT_PROBED, true);
        }
        finally
        {
            if (t != null)
            {
                t.close();
            }
            if (peer != null)
            {
                peer.destroyForcibly();
                peer.waitFor(10, TimeUnit.SECONDS);
            }
            if (kernel != null)
            {
                kernel.close();
            }
            if (driver != null)
            {
                driver.close();
            }
            deleteTree(scratch);
        }
    }

    private static void pingPong(final Transport t, final int n, final Histogram histogram) throws Exception
    {
        for (int i = 0; i < n; i++)
        {
            final long start = System.nanoTime();
            while (!t.send())
            {
                t.poll();
            }
            while (t.poll() == 0)
            {
                Thread.onSpinWait();
            }
            if (histogram != null)
            {
                histogram.recordValue(Math.min(System.nanoTime() - start, histogram.getHighestTrackableValue()));
            }
        }
    }

    private long throughput(final Transport t) throws Exception
    {
        long sent = 0;
        long received = 0;
        final long start = System.nanoTime();
        while (received < throughputMessages)
        {
            while (sent - received < window && sent < throughputMessages)
            {
                if (!t.send())
                {
                    break;
                }
                sent++;
            }
            final int n = t.poll();
            if (n == 0)
            {
                Thread.onSpinWait();
            }
            received += n;
        }
        final long elapsed = System.nanoTime() - start;
        return (long)(received * 1e9 / elapsed);
    }

    /** Where a bare transport's shared file goes: {@code /dev/shm} when there is one, else the scratch folder. */
    private static Path sharedFile(final Path scratch, final String transport)
    {
        return (Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm") : scratch)
            .resolve("ferry-bench-" + transport + "-" + ProcessHandle.current().pid());
    }

    private static Process startPeer(final Path scratch, final String... args) throws Exception
    {
        final List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--add-exports");
        command.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        command.add("-Daeron.pre.touch.mapped.memory=true");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(IpcBenchPeer.class.getName());
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectError(scratch.resolve("peer.err").toFile()).start();
    }

    private static String awaitReady(final Process peer) throws Exception
    {
        final BufferedReader in = new BufferedReader(new InputStreamReader(peer.getInputStream(),
            StandardCharsets.UTF_8));
        final String line = in.readLine();
        if (line == null || !line.startsWith("READY"))
        {
            peer.waitFor(5, TimeUnit.SECONDS);
            throw new IllegalStateException("the echo peer did not start (exit " + (peer.isAlive() ? "-" :
                peer.exitValue()) + "); its output: " + line);
        }
        return line;
    }

    private static void deleteTree(final Path root)
    {
        final File[] files = root.toFile().listFiles();
        if (files != null)
        {
            for (final File f : files)
            {
                if (f.isDirectory())
                {
                    deleteTree(f.toPath());
                }
                else
                {
                    f.delete();
                }
            }
        }
        root.toFile().delete();
    }
}
