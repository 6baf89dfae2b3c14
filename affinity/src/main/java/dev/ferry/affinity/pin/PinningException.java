package dev.ferry.affinity.pin;

/**
 * Thrown when a thread cannot be pinned: native affinity is unavailable, or the kernel did not apply the
 * mask (read back, it differed). The message says which CPU, what was read back, and what to do.
 *
 * <p>Immutable once thrown; safe to pass between threads.
 */
public final class PinningException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message what was wrong and what to do.
     */
    public PinningException(final String message)
    {
        super(message);
    }

    /**
     * @param message what was wrong and what to do.
     * @param cause   the underlying failure.
     */
    public PinningException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
