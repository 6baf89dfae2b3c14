package dev.ferry;

/**
 * What failed a call across processes, as its completion's {@link dev.ferry.Completion#failure()}: the server's
 * handler threw (the message carries the server's exception, class and message, since the exception itself stayed in
 * the server's process), the server or the kernel died, or a record was corrupt.
 *
 * <p>Immutable once thrown; safe to pass between threads.
 */
public final class RemoteFailureException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed the call and, where it helps, what to do.
     */
    public RemoteFailureException(final String message)
    {
        super(message, null, false, false);
    }
}
