package dev.ferry.affinity.model;

import java.util.ArrayList;
import java.util.List;

import dev.ferry.Mode;
import dev.ferry.affinity.topology.CpuSet;
import dev.ferry.affinity.topology.Topology;

/**
 * Predicts placements on machines we do not have: a topology (e.g. an hwloc fixture) with published per-level
 * line latencies, and this machine's calibrations (line transfers per hop, handler, wake-ups).
 *
 * <p>Immutable; safe to share between threads.
 */
public final class Simulation
{
    private final Topology topology;
    private final PublishedLatencies published;
    private final CostModel model;

    /**
     * @param topology    the simulated machine.
     * @param published   its per-level line round trips.
     * @param calibration this machine's costs; only its line latencies are replaced.
     */
    public Simulation(final Topology topology, final PublishedLatencies published, final MachineCosts calibration)
    {
        this.topology = topology;
        this.published = published;
        this.model = new CostModel(calibration.withLines(LineLatency.of(topology, published)));
    }

    /**
     * @return the model of the simulated machine.
     */
    public CostModel model()
    {
        return model;
    }

    /**
     * "What does putting the mover on the server's SMT sibling save?": MOVER predictions with the server on the
     * first core that has a sibling and the client on the next core of the server's package, and the mover on
     * (1) the server's sibling, (2) the client's sibling, (3) a third core of the package, (4) a core of another
     * package; each alternative only where the machine has it.
     *
     * @param batch calls per batch.
     * @return the predictions, in that order.
     * @throws IllegalArgumentException if the machine has no second core in the server's package.
     */
    public List<Prediction> moverPlacements(final int batch)
    {
        final List<CpuSet> cores = topology.usableCores();
        CpuSet serverCore = cores.get(0);
        for (final CpuSet core : cores)
        {
            if (core.size() > 1)
            {
                serverCore = core;
                break;
            }
        }
        final int server = serverCore.first();
        final List<CpuSet> near = new ArrayList<>();
        final List<CpuSet> far = new ArrayList<>();
        for (final CpuSet core : cores)
        {
            if (!core.equals(serverCore))
            {
                final Level level = TopologyLevels.levelOf(topology, server, core.first());
                (level == Level.OTHER_PACKAGE ? far : near).add(core);
            }
        }
        if (near.isEmpty())
        {
            throw new IllegalArgumentException("the simulated machine has no second core in the server's package: " +
                "it cannot place a client and a mover apart from the server");
        }
        final CpuSet clientCore = near.get(0);
        final int client = clientCore.first();
        final List<Prediction> result = new ArrayList<>();
        if (serverCore.size() > 1)
        {
            result.add(predictMover(client, server, serverCore.toArray()[1], batch));
        }
        if (clientCore.size() > 1)
        {
            result.add(predictMover(client, server, clientCore.toArray()[1], batch));
        }
        if (near.size() > 1)
        {
            result.add(predictMover(client, server, near.get(1).first(), batch));
        }
        if (!far.isEmpty())
        {
            result.add(predictMover(client, server, far.get(0).first(), batch));
        }
        return result;
    }

    private Prediction predictMover(final int client, final int server, final int mover, final int batch)
    {
        return model.predict(Mode.MOVER, ModelPlacement.withMover(client, server, mover), batch);
    }

    /**
     * @param prediction a prediction on this machine.
     * @return its placement with each pair's level, e.g. {@code "client@2 server@0 mover@8 (mover-server: SMT sibling)"}.
     */
    public String describe(final Prediction prediction)
    {
        final ModelPlacement p = prediction.placement();
        final StringBuilder sb = new StringBuilder(p.toString()).append(" (client-server: ")
            .append(TopologyLevels.levelOf(topology, p.client(), p.server()).label());
        if (p.hasMover())
        {
            sb.append(", client-mover: ").append(level(p.client(), p.mover()))
                .append(", mover-server: ").append(level(p.mover(), p.server()));
        }
        return sb.append(')').toString();
    }

    private String level(final int a, final int b)
    {
        return a == b ? "same CPU" : TopologyLevels.levelOf(topology, a, b).label();
    }

    /**
     * @return the published figures used.
     */
    public PublishedLatencies published()
    {
        return published;
    }
}
