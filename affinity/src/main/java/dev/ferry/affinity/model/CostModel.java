package dev.ferry.affinity.model;

import java.util.ArrayList;
import java.util.List;

import dev.ferry.Mode;

/**
 * Predicts what a call costs from the machine's probes: a batch's round trip as readable terms, and the calls per
 * second of one client sending batch after batch.
 *
 * <ul>
 * <li>Every mode: Ferry's own work per call with no core crossed (slot, submission and completion rings, handler),
 *     measured through the INLINE path; INLINE is {@code batch x local work}, a calibration rather than a
 *     prediction. Across cores, a batch pays the local work of its first call, and for each further call the
 *     client's staging (the client submits the whole batch before it publishes it, so nothing overlaps that) and
 *     the handler; the rest of the client's work on one call (polling its completion) overlaps the server's on
 *     another.</li>
 * <li>DIRECT: {@code 2 hops x transfers per hop(batch) x one-way line transfer(client, server)}, plus half a
 *     {@code Thread.onSpinWait()} per hop (the poller notices the message mid-pause).</li>
 * <li>BLOCKING: {@code 2 wake-ups} (half a park/unpark round trip each), plus the line transfers of 2 hops and
 *     local work.</li>
 * <li>MOVER: {@code 4 hops}, two between client and mover and two between mover and server, with their
 *     pauses; when the mover shares a CPU with another thread, each hop onto the shared CPU waits
 *     for the other thread to give way ({@code yield}), which the model adds and flags, since the scheduler decides
 *     how long that really takes.</li>
 * </ul>
 *
 * <p>Immutable; safe to share between threads.
 */
public final class CostModel
{
    private final MachineCosts costs;

    /**
     * @param costs the probes' results.
     */
    public CostModel(final MachineCosts costs)
    {
        this.costs = costs;
    }

    /**
     * @return the inputs.
     */
    public MachineCosts costs()
    {
        return costs;
    }

    /**
     * @param mode      the call path.
     * @param placement where the threads run (a mover is needed for MOVER, and ignored otherwise).
     * @param batch     calls per batch, at least 1.
     * @return the prediction, with its terms.
     * @throws IllegalArgumentException if MOVER is asked for without a mover, or the batch is below 1.
     */
    public Prediction predict(final Mode mode, final ModelPlacement placement, final int batch)
    {
        if (batch < 1)
        {
            throw new IllegalArgumentException("a batch holds at least 1 call; got " + batch);
        }
        final List<Term> terms = new ArrayList<>();
        String caveat = null;
        final double transfers = costs.transfersPerHop(batch);
        final int c = placement.client();
        final int s = placement.server();
        switch (mode)
        {
            case INLINE:
                caveat = "INLINE is the calibration of the local-work term, measured, not predicted";
                break;
            case DIRECT:
                terms.add(hops(2, transfers, c, s));
                terms.add(pauses(2));
                break;
            case BLOCKING:
                terms.add(new Term("wake-ups (park/unpark)", 2, costs.wakeRtt().median() / 2));
                terms.add(hops(2, transfers, c, s));
                break;
            case MOVER:
                if (!placement.hasMover())
                {
                    throw new IllegalArgumentException("MOVER mode needs a mover's CPU: use ModelPlacement.withMover");
                }
                final int m = placement.mover();
                terms.add(hops(2, transfers, c, m));
                terms.add(hops(2, transfers, m, s));
                terms.add(pauses(4));
                if (m == c || m == s)
                {
                    terms.add(new Term("hand-overs on the shared CPU " + m + " (yield)", 2 * batch,
                        costs.yieldCost().median()));
                    caveat = "the mover shares CPU " + m + " with the " + (m == c ? "client" : "server") +
                        ": how long each waits for the other is the scheduler's choice, not a probe's";
                }
                break;
            default:
                throw new IllegalArgumentException("no model for mode " + mode);
        }
        if (mode == Mode.INLINE || batch == 1)
        {
            terms.add(new Term("Ferry's local work per call (INLINE path: slot, rings, handler, completion)", batch,
                costs.localBatchNs(batch) / batch));
        }
        else
        {
            // Across cores the client's work on one call (staging, polling) overlaps the server's on another: the
            // first call pays the whole local path, each further one only the server's handler.
            terms.add(new Term("Ferry's local work of the first call (INLINE path)", 1, costs.localBatchNs(1)));
            final double staging = costs.stagingNs(batch);
            if (staging > 0)
            {
                // The client submits the whole batch before its flush publishes it: no other thread has anything
                // to do meanwhile, so the staging of every further call stays on the critical path.
                terms.add(new Term("client staging of each further call (submit; published by one flush)", batch - 1,
                    staging / batch));
            }
            // The handler's fastest sample, not its median: a pure-CPU loop on one thread is only ever slowed by
            // interruptions and by running before the JIT compiled it, never sped up.
            terms.add(new Term("handler of each further call (the rest overlaps across the two cores)", batch - 1,
                costs.handler().min()));
        }
        return new Prediction(mode, placement, batch, terms, caveat);
    }

    /**
     * A poller waiting in its pause phase notices a message half a pause late, on average, at each hop.
     */
    private Term pauses(final int hops)
    {
        return new Term("polling pauses (half a Thread.onSpinWait per hop, " + hops + " hops)", hops * 0.5,
            costs.spinWait().median());
    }

    private Term hops(final int hops, final double transfers, final int a, final int b)
    {
        final String name = String.format("line transfers (%d hops x %.2f per hop), CPU %d-%d", hops, transfers, a, b);
        if (a == b)
        {
            // Both ends on one CPU: no line leaves the core; the hand-over is the shared-CPU term's.
            return new Term(name.replace("line transfers", "no line transfer on one CPU"), 0, 0);
        }
        return new Term(name, hops * transfers, costs.lineRttNs(a, b) / 2);
    }
}
