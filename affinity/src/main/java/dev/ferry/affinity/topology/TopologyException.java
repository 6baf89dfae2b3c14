package dev.ferry.affinity.topology;

/**
 * Thrown when a machine's topology cannot be read: the filesystem root is missing or holds no sysfs CPU
 * tree. The message names the path that was missing and what was expected there.
 *
 * <p>Immutable once thrown; safe to pass between threads.
 */
public final class TopologyException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message what was wrong and what to do.
     */
    public TopologyException(final String message)
    {
        super(message);
    }
}
