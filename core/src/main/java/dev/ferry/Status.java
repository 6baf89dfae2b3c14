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
    CLOSED
}
