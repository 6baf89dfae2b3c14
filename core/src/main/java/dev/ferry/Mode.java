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
     * DIRECT's call lanes, with the caller parked until its reply and the server parked when idle, each unparked per
     * hand-off: the classic microkernel, four context switches per call. In-process only.
     */
    BLOCKING,
    /**
     * The client writes each call into its call lane to the service; the server answers it in place, the reply over
     * the request; both poll, backing off when idle. No thread in between.
     */
    DIRECT,
    /**
     * The client writes its calls into its submission ring; the kernel's mover thread scans every client's ring and
     * moves each call into the lane its server reads, in batches; the server replies into the client's reply lane.
     * The seed's kernel thread, moving queued messages asynchronously.
     */
    MOVER
}
