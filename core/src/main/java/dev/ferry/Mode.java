package dev.ferry;

/**
 * The four ways a call can reach the same handler. Because the handler is the same, every difference a
 * measurement shows between modes is the cost of the path.
 *
 * <p>Immutable; safe to share between threads.
 */
public enum Mode
{
    /** The handler runs on the caller's thread, inside {@link Client#flush()}: a monolithic kernel's direct call. */
    INLINE,
    /**
     * The caller hands each call to the server's thread and parks until the reply; the server parks when idle and is
     * unparked per hand-off: the classic microkernel, four context switches per call.
     */
    BLOCKING,
    /**
     * The client writes into the server's MPSC request ring; the server writes the reply into the client's
     * completion ring; both poll, backing off when idle. No thread in between.
     */
    DIRECT,
    /**
     * Client submission ring, then a mover thread, then the server's ring; replies back through the mover to the
     * client's completion ring. The seed's kernel thread, moving queued messages asynchronously in batches.
     */
    MOVER
}
