package dev.ferry.affinity.placement;

/**
 * Thrown when a placement does not fit: the message names what was needed and what is allowed, e.g.
 * {@code needs 5 physical cores (2 servers, 2 movers on cores of their own, 1 client); allowed: 0-1 (2 physical cores)}.
 *
 * <p>Immutable once thrown; safe to pass between threads.
 */
public final class PlacementException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message what was needed, what is allowed, and what to change.
     */
    public PlacementException(final String message)
    {
        super(message);
    }
}
