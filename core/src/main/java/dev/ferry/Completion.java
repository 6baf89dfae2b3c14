package dev.ferry;

import org.agrona.DirectBuffer;

/**
 * The outcome of one call, as a {@link CompletionHandler} sees it: a flyweight over the call's recycled slot.
 *
 * <p>Threading: valid only on the client's owning thread and only during the
 * {@link CompletionHandler#onCompletion(Completion)} callback that received it; the slot is reused afterwards, so
 * copy out whatever must outlive the callback.
 */
public interface Completion
{
    /** @return the call's id, as {@link Client#submit} returned it. */
    long id();

    /** @return the service the call went to. */
    int serviceId();

    /** @return how the call ended. */
    Status status();

    /** @return the reply bytes, {@code [0, length())}; meaningful when {@link #status()} is {@link Status#OK}. */
    DirectBuffer buffer();

    /** @return the reply's length in bytes; 0 unless {@link #status()} is {@link Status#OK}. */
    int length();

    /**
     * @return what ended the call when {@link #status()} is {@link Status#FAILED}, {@link Status#CLOSED} or
     * {@link Status#TIMED_OUT}; else null.
     */
    Throwable failure();
}
