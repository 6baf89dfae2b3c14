package dev.ferry;

/**
 * Receives completions polled from a client's completion ring, one callback per call, allocating nothing.
 *
 * <p>Threading: called on the client's owning thread, from {@link Client#poll} or {@link Client#await}.
 */
@FunctionalInterface
public interface CompletionHandler
{
    /**
     * One call has completed.
     *
     * @param completion the call's outcome, valid only during this callback.
     */
    void onCompletion(Completion completion);
}
