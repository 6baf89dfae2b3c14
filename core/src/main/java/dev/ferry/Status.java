package dev.ferry;

/**
 * How a call ended.
 *
 * <p>Immutable; safe to share between threads.
 */
public enum Status
{
    /** The handler returned; the reply is in the completion's buffer. */
    OK,
    /** The handler threw, or returned a reply length out of range; {@link Completion#failure()} says what. */
    FAILED,
    /** The kernel closed before the call was handled; it was not run. */
    CLOSED,
    /**
     * The call's deadline passed before its reply arrived. The handler may not have run, may be running, or may have
     * run: a reply that arrives later is dropped and counted. Never written into shared memory: a client-side outcome.
     */
    TIMED_OUT
}
