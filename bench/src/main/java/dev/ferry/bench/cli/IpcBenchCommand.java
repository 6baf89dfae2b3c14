package dev.ferry.bench.cli;

import dev.ferry.affinity.model.MachineState;
import dev.ferry.bench.ipc.IpcBench;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code ferry-bench ipc-bench}: round trips between two processes over Ferry's shared memory, Unix domain sockets,
 * TCP on loopback and Aeron IPC, with Ferry's in-process DIRECT round trip as the reference, at 32 B and 1 KiB.
 *
 * <p>Not thread-safe: picocli builds and runs one instance on one thread.
 */
@Command(
    name = "ipc-bench",
    mixinStandardHelpOptions = true,
    description = {
        "Compares, in one run, round trips between this process and an echo peer process: Ferry's shared memory",
        "(DIRECT), Unix domain sockets, TCP on loopback and Aeron IPC (embedded SHARED driver, backoff idle",
        "strategy, pre-touched client memory), with Ferry's in-process DIRECT round trip as the reference.",
        "Every side busy-polls. Reports round-trip p50/p99 (one message in flight) and messages per second with",
        "a window in flight.",
    })
public final class IpcBenchCommand implements Callable<Integer>
{
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", description = "Print a JSON array of {transport, msgBytes, rttP50Ns, rttP99Ns, msgsPerSec, "
        + "lineRttNs, sameState}.")
    private boolean json;

    @Option(names = "--round-trips", defaultValue = "200000", description = "Measured round trips. Default: ${DEFAULT-VALUE}")
    private int roundTrips;

    @Option(names = "--warmup", defaultValue = "100000", description = "Warm-up round trips. Default: ${DEFAULT-VALUE}")
    private int warmup;

    @Option(names = "--messages", defaultValue = "500000",
        description = "Messages in the throughput phase. Default: ${DEFAULT-VALUE}")
    private int messages;

    @Option(names = "--window", defaultValue = "32", description = "Messages in flight for throughput. Default: ${DEFAULT-VALUE}")
    private int window;

    @Option(names = "--repeats", defaultValue = "3", description = "Rounds over every transport; each figure is the "
        + "median of its rounds, so a change of the machine's speed during one round does not decide a comparison. "
        + "Default: ${DEFAULT-VALUE}")
    private int repeats;

    @Option(names = "--sizes", split = ",", defaultValue = "32,1024", description = "Message sizes in bytes. Default: ${DEFAULT-VALUE}")
    private List<Integer> sizes;

    @Option(names = "--transports", split = ",",
        defaultValue = "ferry-inprocess-direct,ferry-shm,uds,tcp,aeron-ipc",
        description = "Transports to measure. Default: ${DEFAULT-VALUE}. Also: agrona-m2o, agrona-o2o (a bare pair of "
            + "Agrona rings between the processes, the floor under Ferry's shared memory; m2o's reader zeroes what it "
            + "read, as Ferry's rings do, o2o's single producer zeroes ahead); slots (a bare ring of call slots, each "
            + "reply written into its request's slot: one cache line each way for a 32-byte call)")
    private List<String> transports;

    @Override
    public Integer call() throws Exception
    {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        final List<IpcBench.Result> results = new IpcBench(warmup, roundTrips, messages, window, line ->
        {
            err.println(line);
            err.flush();
        }).run(transports, sizes, repeats);
        if (json)
        {
            out.println(results.stream().map(IpcBench.Result::toJson).collect(Collectors.joining(",", "[", "]")));
        }
        else
        {
            out.printf("%-24s %8s %12s %12s %14s %12s %12s%n", "transport", "msgBytes", "rtt p50 ns", "rtt p99 ns",
                "msgs/s", "p50 ratio", "line rtt ns");
            boolean mixed = false;
            for (final IpcBench.Result r : results)
            {
                final IpcBench.Result reference = results.stream()
                    .filter(x -> x.msgBytes() == r.msgBytes() && x.transport().equals("ferry-shm"))
                    .findFirst().orElse(null);
                final String ratio = reference == null || reference.rttP50Ns() == 0 ? "-"
                    : String.format("%.2fx", (double)r.rttP50Ns() / reference.rttP50Ns());
                final String line = r.lineRttNs() == MachineState.NOT_PROBED ? "-"
                    : r.lineRttNs() == MachineState.CHANGED ? "changed" : Long.toString(r.lineRttNs());
                mixed |= !r.sameState();
                out.printf("%-24s %8d %12d %12d %14d %12s %12s%n", r.transport() + (r.sameState() ? "" : " *"),
                    r.msgBytes(), r.rttP50Ns(), r.rttP99Ns(), r.msgsPerSec(), ratio, line);
            }
            out.println("p50 ratio: this transport's median round trip over Ferry shared memory's, same size, same run"
                + (repeats > 1 ? "; every figure the median of " + repeats + " rounds" : ""));
            out.println("line rtt: a two-thread cache-line round trip probed before and after each measurement, the "
                + "machine's state; each row keeps its rounds probed within 20% of the state most of the run was in");
            if (mixed)
            {
                out.println("* no round of this row was measured in that state (the machine changed speed): do not "
                    + "compare it with the other rows; run again");
            }
        }
        out.flush();
        return 0;
    }
}
