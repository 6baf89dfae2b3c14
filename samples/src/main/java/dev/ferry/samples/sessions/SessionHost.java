package dev.ferry.samples.sessions;

/**
 * One way of hosting N logical sessions, each answering a stream of small requests by counting them. The driver
 * keeps at most a window of requests in flight, each to the next session in turn, and times each from its issue to
 * its reply.
 *
 * <p>Threading: every method is called by the one driver thread; implementations run sessions on their own threads.
 */
interface SessionHost extends AutoCloseable
{
    /** @return the approach's name for the table. */
    String name();

    /**
     * Creates the sessions.
     *
     * @param sessions how many.
     * @throws GaveOut when the approach cannot host that many (a thread cap, no memory for threads).
     */
    void open(int sessions) throws GaveOut;

    /**
     * Sends every session {@code perSession} requests, at most {@code window} in flight.
     *
     * @param perSession requests per session.
     * @param window     most requests in flight.
     * @param deadlineNs {@link System#nanoTime()} by which to give up.
     * @param latencies  receives each request's round trip in ns, in reply order.
     * @return replies received; fewer than asked when the deadline passed.
     */
    int drive(int perSession, int window, long deadlineNs, long[] latencies);

    /**
     * @param perSession requests each session should have counted.
     * @return the sessions whose count is wrong, after {@link #drive} and before {@link #close}.
     */
    int wrongCounts(int perSession);

    /** Ends every session's thread or the servers; bounded. */
    @Override
    void close();

    /**
     * An approach cannot host the sessions asked for; the message says why.
     *
     * <p>Immutable once thrown.
     */
    final class GaveOut extends Exception
    {
        private static final long serialVersionUID = 1L;

        GaveOut(final String message)
        {
            super(message, null, false, false);
        }
    }
}
