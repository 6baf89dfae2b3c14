package dev.ferry.affinity.model;

import java.util.List;

import dev.ferry.Mode;

/**
 * What the cost model predicts for a mode, a placement and a batch: the round trip of one batch as a sum of
 * readable terms, and the calls per second one client achieves by sending batch after batch.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class Prediction
{
    private final Mode mode;
    private final ModelPlacement placement;
    private final int batch;
    private final List<Term> terms;
    private final String caveat;

    Prediction(final Mode mode, final ModelPlacement placement, final int batch, final List<Term> terms,
        final String caveat)
    {
        this.mode = mode;
        this.placement = placement;
        this.batch = batch;
        this.terms = List.copyOf(terms);
        this.caveat = caveat;
    }

    /**
     * @return the mode.
     */
    public Mode mode()
    {
        return mode;
    }

    /**
     * @return where the threads run.
     */
    public ModelPlacement placement()
    {
        return placement;
    }

    /**
     * @return calls per batch.
     */
    public int batch()
    {
        return batch;
    }

    /**
     * @return the terms whose sum is the round trip.
     */
    public List<Term> terms()
    {
        return terms;
    }

    /**
     * @return the round trip of one batch (submit to last reply), in ns.
     */
    public double rttNs()
    {
        return terms.stream().mapToDouble(Term::ns).sum();
    }

    /**
     * @return calls per second of one client sending batch after batch.
     */
    public double callsPerSec()
    {
        return batch * 1e9 / rttNs();
    }

    /**
     * @return null, or what the model leaves out for this case (e.g. scheduling when threads share a CPU).
     */
    public String caveat()
    {
        return caveat;
    }

    /**
     * @return the prediction and its terms, one per line.
     */
    public String explain()
    {
        final StringBuilder sb = new StringBuilder(String.format("%s %s batch %d: %.0f ns per batch, %.0f calls/s%n",
            mode, placement, batch, rttNs(), callsPerSec()));
        for (final Term t : terms)
        {
            sb.append("  ").append(t).append(System.lineSeparator());
        }
        if (caveat != null)
        {
            sb.append("  caveat: ").append(caveat).append(System.lineSeparator());
        }
        return sb.toString();
    }

    @Override
    public String toString()
    {
        return String.format("Prediction{%s %s batch %d: %.0f ns}", mode, placement, batch, rttNs());
    }
}
