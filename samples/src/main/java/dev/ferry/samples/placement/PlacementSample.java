package dev.ferry.samples.placement;

import dev.ferry.Handler;
import dev.ferry.Mode;
import dev.ferry.affinity.model.CostModel;
import dev.ferry.affinity.model.FerryCalls;
import dev.ferry.affinity.model.LatencyMatrix;
import dev.ferry.affinity.model.MachineCosts;
import dev.ferry.affinity.model.ModelPlacement;
import dev.ferry.affinity.model.Prediction;
import dev.ferry.affinity.model.ProbeOptions;
import dev.ferry.affinity.model.ProbeProgress;
import dev.ferry.affinity.model.Probes;
import dev.ferry.affinity.model.Stats;
import dev.ferry.affinity.placement.Placement;
import dev.ferry.affinity.placement.PlacementPolicy;
import dev.ferry.affinity.placement.Roles;
import dev.ferry.affinity.topology.Topology;
import dev.ferry.samples.Args;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Where should the mover run? The hardware model (issue 4's {@link CostModel}) measures this machine (line round
 * trips between the CPUs involved, ring hops, wake-ups, yields, the handler) and predicts the round trip of a MOVER
 * batch for every candidate seat of the mover; the sample then runs the same workload (one client sending batch
 * after batch to one service through the mover, {@link FerryCalls}) with the mover where the model advises and
 * where it advises against, and every other candidate, and prints predicted against measured.
 *
 * <p>The client and the server sit where {@link Placement} seats them; the mover's candidates are each usable CPU
 * (at most 8), and, on a machine with fewer than three CPUs, also the seat that leaves the mover a CPU of its own
 * by putting the client and the server together.
 *
 * <p>Threading: {@link #run} runs on the calling thread; the probes and measurements start and join their own
 * pinned threads.
 */
public final class PlacementSample
{
    private static final int REQUEST_BYTES = 32;
    private static final int MAX_MOVER_CPUS = 8;

    private PlacementSample()
    {
    }

    /**
     * @param args see {@code placement --help}.
     */
    public static void main(final String[] args)
    {
        final Args a = new Args("placement", args);
        final int batch = a.intArg("batch", 32, "calls per batch");
        final int samples = a.intArg("samples", 7, "samples per probe and per measurement (each measurement"
            + " sample runs 10 ms)");
        final int rounds = a.intArg("rounds", 2000, "round trips per probe sample");
        if (a.helpOrCheck())
        {
            return;
        }
        run(batch, new ProbeOptions(2, samples, rounds), System.out);
    }

    /**
     * One candidate seat of the mover, predicted and measured.
     *
     * <p>Immutable; safe to share between threads.
     *
     * @param placement   client, server and mover CPUs.
     * @param predictedNs the model's round trip of one batch.
     * @param measuredNs  the measured median round trip of one batch.
     * @param spread      the measurement's spread (p90 - p10 over the median).
     * @param caveat      what the model leaves out here, or null.
     * @param advice      "advised", "advised against" or "".
     */
    public record Row(ModelPlacement placement, double predictedNs, double measuredNs, double spread, String caveat,
                      String advice)
    {
        /** @return measured over predicted. */
        public double error()
        {
            return measuredNs / predictedNs;
        }
    }

    /**
     * What {@link #run} found.
     *
     * <p>Immutable; safe to share between threads.
     *
     * @param rows           every candidate, in the order measured.
     * @param advised        the model's choice.
     * @param against        the model's worst candidate.
     * @param adviceHeld     whether the advised seat measured faster than the one advised against.
     */
    public record Result(List<Row> rows, Row advised, Row against, boolean adviceHeld)
    {
    }

    /**
     * Probes the machine, predicts, measures and prints the table.
     *
     * @param batch   calls per batch.
     * @param options probe and measurement lengths.
     * @param out     where the table goes.
     * @return the rows.
     */
    public static Result run(final int batch, final ProbeOptions options, final PrintStream out)
    {
        if (batch < 1)
        {
            throw new IllegalArgumentException("placement: --batch must be at least 1, not " + batch);
        }
        final Topology topology = Topology.live();
        final int[] usable = topology.usable().toArray();
        if (usable.length < 2)
        {
            throw new IllegalStateException("placement needs at least two usable CPUs to compare seats; this process"
                + " may use " + topology.usable() + " (check taskset or the container's cpuset)");
        }
        final Placement seats = Placement.plan(topology, Roles.of(1, 0, 1),
            PlacementPolicy.defaults().withOversubscribe(true));
        final int client = seats.clientCpu(0);
        final int server = seats.servers()[0];
        final Set<Integer> cpus = new LinkedHashSet<>(List.of(client, server));
        for (int i = 0; i < usable.length && cpus.size() < MAX_MOVER_CPUS; i++)
        {
            cpus.add(usable[i]);
        }
        final List<ModelPlacement> candidates = new ArrayList<>();
        for (final int m : cpus)
        {
            candidates.add(ModelPlacement.withMover(client, server, m));
        }
        if (usable.length < 3)
        {
            candidates.add(ModelPlacement.withMover(client, client, server));
        }

        out.printf("placement: MOVER mode, batches of %d calls of %d bytes, client on CPU %d, server on CPU %d"
            + " (as Placement seats them), mover on each candidate CPU%n", batch, REQUEST_BYTES, client, server);
        final String pinning = Probes.pinningNote();
        if (pinning != null)
        {
            out.println("WARNING: " + pinning + "; seats are not enforced, so advised and advised-against may not"
                + " differ at all");
        }
        final Handler handler = FerryCalls.checksumHandler();
        MachineCosts costs = MachineCosts.measure(client, server, batch == 1 ? new int[]{1} : new int[]{1, batch},
            handler, REQUEST_BYTES, options, ProbeProgress.NONE);
        if (cpus.size() > 2)
        {
            final LatencyMatrix matrix = Probes.latencyMatrix(cpus.stream().mapToInt(Integer::intValue).toArray(),
                options, ProbeProgress.NONE);
            costs = costs.withLines(matrix::rttBetween);
        }
        final CostModel model = new CostModel(costs);
        final List<Prediction> predictions = new ArrayList<>();
        Prediction best = null;
        Prediction worst = null;
        for (final ModelPlacement p : candidates)
        {
            final Prediction prediction = model.predict(Mode.MOVER, p, batch);
            predictions.add(prediction);
            if (best == null || prediction.rttNs() < best.rttNs())
            {
                best = prediction;
            }
            if (worst == null || prediction.rttNs() > worst.rttNs())
            {
                worst = prediction;
            }
        }

        final List<Row> rows = new ArrayList<>();
        Row advised = null;
        Row against = null;
        for (final Prediction p : predictions)
        {
            final Stats measured = FerryCalls.measure(Mode.MOVER, p.placement(), batch, handler, REQUEST_BYTES, options);
            final String advice = p == best ? "advised" : p == worst ? "advised against" : "";
            final Row row = new Row(p.placement(), p.rttNs(), measured.median(), measured.spread(), p.caveat(),
                advice);
            rows.add(row);
            if (p == best)
            {
                advised = row;
            }
            if (p == worst)
            {
                against = row;
            }
        }

        out.printf("%-16s %-8s %-8s %-8s %14s %14s %10s %9s%n", "advice", "client", "server", "mover",
            "predicted ns", "measured ns", "meas/pred", "spread");
        for (final Row r : rows)
        {
            out.printf("%-16s %-8d %-8d %-8d %14.0f %14.0f %10.2f %8.0f%%%n", r.advice().isEmpty() ? "-" : r.advice(),
                r.placement().client(), r.placement().server(), r.placement().mover(), r.predictedNs(),
                r.measuredNs(), r.error(), r.spread() * 100);
        }
        final boolean held = advised.measuredNs() <= against.measuredNs();
        if (advised == against)
        {
            out.println("the model sees no difference between the candidates; nothing to compare");
        }
        else
        {
            out.printf("advised seat vs advised against: predicted %.2fx faster, measured %.2fx faster: the advice %s%n",
                against.predictedNs() / advised.predictedNs(), against.measuredNs() / advised.measuredNs(),
                held ? "held" : "did NOT hold on this run");
        }
        out.println("advice from: dev.ferry.affinity.model.CostModel over probes of this machine (line round trip "
            + String.format("%s %.0f ns, yield %.0f ns, park/unpark %.0f ns",
            costs.calibrationPair(), costs.calibrationLineRttNs(), costs.yieldCost().median(),
            costs.wakeRtt().median()) + ")");
        for (final Row r : rows)
        {
            if (r.caveat() != null)
            {
                out.println("caveat (mover on CPU " + r.placement().mover() + ", client " + r.placement().client()
                    + ", server " + r.placement().server() + "): " + r.caveat());
            }
        }
        if (usable.length < 3)
        {
            out.println("note: with " + usable.length + " usable CPUs every seat shares a CPU between two of the three"
                + " threads; the last candidate puts the client and the server together to give the mover a CPU of"
                + " its own, which the model does not charge for (its caveats apply to a shared mover only)");
        }
        return new Result(rows, advised, against, held);
    }
}
