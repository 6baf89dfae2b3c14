package dev.ferry.server;

import dev.ferry.ring.Slot;
import dev.ferry.ring.SubmissionRing;
import org.jctools.queues.MessagePassingQueue;

/**
 * Hands the published calls of a submission ring to their servers' request rings, as a client does in DIRECT and
 * BLOCKING mode and the mover does in MOVER mode. Consecutive calls to the same service form a run, and a run is
 * published with one claim on the server's ring ({@code MpscArrayQueue.fill}: one compare-and-swap of the ring's
 * producer index for the whole run, then one ordered store per entry) rather than one claim per call. Each server is
 * woken after its run, never before, so a server woken early cannot drain, park again and miss the rest of it.
 *
 * <p>A server ring with too little room takes what fits; the rest of the run, and every call after it, stays in the
 * submission ring in order: back-pressure, never a drop or a reordering.
 *
 * <p>Threading: one instance per consuming thread (a client's owner thread, or a mover's thread); it keeps the
 * cursor of the run being published.
 */
public final class RequestForwarder
{
    /**
     * What to do once a run of calls is in a server's ring.
     */
    @FunctionalInterface
    public interface Waker
    {
        /**
         * @param server the server that was just handed a run of calls.
         */
        void wake(ServerAgent server);
    }

    private final ServerAgent[] servers;
    private final Waker waker;
    private final Run run = new Run();

    /**
     * @param servers the kernel's servers, by service id.
     * @param waker   called once per run, after it was published.
     */
    public RequestForwarder(final ServerAgent[] servers, final Waker waker)
    {
        this.servers = servers;
        this.waker = waker;
    }

    /**
     * Publishes the first {@code count} unread calls of a submission ring to their servers. The caller releases the
     * calls handed on from the submission ring.
     *
     * @param sq    the submission ring, read by the calling thread only.
     * @param count how many of its unread calls to hand on, at most what {@link SubmissionRing#available()} returned.
     * @return how many were handed on, from the first; fewer than {@code count} when a server ring was full.
     */
    public int forward(final SubmissionRing sq, final int count)
    {
        int i = 0;
        while (i < count)
        {
            final int serviceId = sq.get(i).serviceId();
            int end = i + 1;
            while (end < count && sq.get(end).serviceId() == serviceId)
            {
                end++;
            }
            final ServerAgent server = servers[serviceId];
            final int start = i;
            run.ring = sq;
            int handed;
            do
            {
                // fill claims at most what the ring's cached limit allows and refreshes that limit only when it is
                // used up, so a short claim is retried; only a claim of nothing means the ring is full.
                run.next = i;
                handed = server.requests().fill(run, end - i);
                i += handed;
            }
            while (handed > 0 && i < end);
            run.ring = null;
            if (i > start)
            {
                waker.wake(server);
            }
            if (i < end)
            {
                break;
            }
        }
        return i;
    }

    /** The run being published, handed to the server ring's {@code fill} one call at a time. */
    private static final class Run implements MessagePassingQueue.Supplier<Slot>
    {
        private SubmissionRing ring;
        private int next;

        @Override
        public Slot get()
        {
            return ring.get(next++);
        }
    }
}
