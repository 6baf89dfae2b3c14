package dev.ferry.affinity.model;

/**
 * One term of a predicted cost: a count of something times what one costs, e.g. "2 hops x 3.1 line transfers"
 * times "72 ns per one-way line transfer".
 *
 * <p>Immutable; safe to share between threads.
 */
public final class Term
{
    private final String name;
    private final double count;
    private final double unitNs;

    /**
     * @param name   what is counted, readable, e.g. {@code "line transfers (2 hops x 3.1), CPU 0-1"}.
     * @param count  how many.
     * @param unitNs what one costs, in ns.
     */
    public Term(final String name, final double count, final double unitNs)
    {
        this.name = name;
        this.count = count;
        this.unitNs = unitNs;
    }

    /**
     * @return what is counted.
     */
    public String name()
    {
        return name;
    }

    /**
     * @return how many.
     */
    public double count()
    {
        return count;
    }

    /**
     * @return what one costs, in ns.
     */
    public double unitNs()
    {
        return unitNs;
    }

    /**
     * @return count times unit, in ns.
     */
    public double ns()
    {
        return count * unitNs;
    }

    @Override
    public String toString()
    {
        return String.format("%s: %.2f x %.1f ns = %.0f ns", name, count, unitNs, ns());
    }
}
