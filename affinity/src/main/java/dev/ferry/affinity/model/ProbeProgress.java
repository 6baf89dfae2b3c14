package dev.ferry.affinity.model;

/**
 * Told how far a long probe has got, e.g. to print progress while a latency matrix is measured.
 *
 * <p>Called on the thread that runs the probe, one call at a time.
 */
@FunctionalInterface
public interface ProbeProgress
{
    /** Ignores progress. */
    ProbeProgress NONE = (what, done, total) ->
    {
    };

    /**
     * @param what  what is being measured, e.g. {@code "CPU 0 - CPU 1"}.
     * @param done  steps finished.
     * @param total steps in all.
     */
    void onProgress(String what, int done, int total);
}
