package dev.ferry;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The protocol half of a {@link LaneClient}: how its calls reach the servers and how their replies come back. Two
 * kinds, one per protocol, chosen once when the client attaches: {@link DirectLanes} (DIRECT and BLOCKING: each call
 * a record of the client's call lane to its service, answered in place) and {@link MoverLanes} (MOVER: each call a
 * record of the client's submission ring, routed by the mover; replies in reply lanes). The client keeps what both
 * share: its {@link CallBook}, the liveness checks, the API.
 *
 * <p>Nothing read from a lane is trusted: a record that names no call of this client, or makes no sense, fails the
 * calls it may have been, and never reaches a completion handler as a reply.
 *
 * <p>Threading: the client's owner thread only.
 */
abstract class ClientLanes implements RingReader.RecordHandler
{
    /** Replies already read whose zeroing may wait for the next poll: at most this many bytes of a lane. */
    private static final int DEFER_LIMIT = 16 * 1024;

    final CallBook book;
    final IpcLayout layout;
    final int client;
    final int generation;
    /** Per service: where this client reads its replies. */
    final RingReader[] replyLanes;
    /** The service whose reply lane is being read, else -1. */
    int readingService = -1;
    // In-process kernels only: whom a flush wakes (null across processes), and the services this flush sent to.
    private final Wakeups wakeups;
    private final boolean[] wakeFlags;
    private final int[] wakeList;
    private int wakeCount;

    ClientLanes(
        final CallBook book, final IpcLayout layout, final int client, final int generation, final Wakeups wakeups)
    {
        this.wakeups = wakeups;
        this.wakeFlags = new boolean[layout.maxServices];
        this.wakeList = new int[layout.maxServices];
        this.book = book;
        this.layout = layout;
        this.client = client;
        this.generation = generation;
        this.replyLanes = new RingReader[layout.maxServices];
    }

    /**
     * Up to 16 KiB of a reply ring may hold replies already read whose zeroing waits for the next poll, beyond a
     * record per call in flight, a padding record at the wrap and a record of margin.
     */
    static int deferLimit(final int ringBytes, final int maxInFlight, final int recordBytes)
    {
        return (int)Math.min(DEFER_LIMIT, Math.max(0, ringBytes - (long)(maxInFlight + 2) * recordBytes));
    }

    /**
     * Writes a staged call into its lane and records it as sent.
     *
     * @param slot             the call's slot.
     * @param service          its service.
     * @param serverGeneration the generation of the service's server now.
     * @param request          the request's bytes: the caller's buffer ({@code call()}), or null for the staging area.
     * @param offset           where they start in {@code request}.
     * @return false if the lane is full: the call stays staged.
     */
    abstract boolean send(int slot, int service, int serverGeneration, DirectBuffer request, int offset);

    /**
     * Writes a staged call's request bytes into its claimed record: from the caller's buffer during a
     * {@code call()}, else from the call's slot of the staging area.
     */
    final void putRequest(
        final UnsafeBuffer record, final int at, final int slot, final DirectBuffer request, final int offset)
    {
        final int length = book.stagedLengths[slot];
        if (request != null)
        {
            record.putBytes(at, request, offset, length);
        }
        else
        {
            RawMemory.copy(book.staging, slot * layout.slotBytes, record, at, length);
        }
    }

    /**
     * @return true if calls to {@code service} may be sent now; false while a lane this client broke waits for its
     * server to halt it (held back as by a full lane).
     */
    abstract boolean ready(int service);

    /** Wakes whoever reads what a flush sent to {@code service}, in-process. */
    abstract void wake(Wakeups wakeups, int service);

    /** A flush sent a call to {@code service}: its reader is woken at the flush's end. */
    final void toWake(final int service)
    {
        if (wakeups != null && !wakeFlags[service])
        {
            wakeFlags[service] = true;
            wakeList[wakeCount++] = service;
        }
    }

    /** Wakes, once per flush, the reader of each service's lane the flush sent to. */
    final void wakeAll()
    {
        for (int i = 0; i < wakeCount; i++)
        {
            final int service = wakeList[i];
            wakeFlags[service] = false;
            wake(wakeups, service);
        }
        wakeCount = 0;
    }

    /** Reads replies until {@code limit} completions were delivered since {@code before}. */
    final void read(final long before, final int limit)
    {
        readOthers(before, limit);
        for (int i = 0; i < book.activeCount && book.delivered - before < limit; )
        {
            final int s = book.activeServices[i];
            final RingReader lane = replyLanes[s];
            if (lane.hasRecord())
            {
                readingService = s;
                lane.read(this, limit - (int)(book.delivered - before));
                readingService = -1;
            }
            if (!book.deactivateIfIdle(i))
            {
                i++;
            }
        }
    }

    /** Reads replies that come in another ring than a service's lane (MOVER: the mover's). */
    void readOthers(final long before, final int limit)
    {
    }

    /**
     * Reads every reply already committed (past the lanes' wraps too), before calls are failed for want of one: a
     * read stops after a bounded number of records, so each lane is read until it yields nothing.
     */
    void drain()
    {
        for (int i = 0; i < book.activeCount; i++)
        {
            final int s = book.activeServices[i];
            readingService = s;
            drain(replyLanes[s]);
            readingService = -1;
        }
    }

    /** Reads {@code lane} until a read yields nothing; at most one read per call in flight, and two more. */
    final void drain(final RingReader lane)
    {
        for (int reads = 0; reads < book.maxInFlight + 2 && lane.readAcrossWrap(this, book.maxInFlight) > 0; reads++)
        {
            // Each read handled at least one record.
        }
    }

    /**
     * The periodic check of one service's lanes, once its server was found alive and of the generation the calls
     * went to: fails the calls its server passed without an answer this client could read.
     */
    abstract void checkAnswered(int service);

    /** The periodic check of one service's lanes before its server is checked (DIRECT: a lane halted by it). */
    void checkHalted(final int service)
    {
    }

    /** Diagnostics: positions of the lanes to {@code service}. */
    abstract String debugState(int service);

    /** Diagnostics: positions of every service's lanes. */
    final String debugState()
    {
        final StringBuilder b = new StringBuilder();
        for (int s = 0; s < layout.maxServices; s++)
        {
            b.append(" lane[").append(s).append("]: ").append(debugState(s));
        }
        return b.toString();
    }
}
