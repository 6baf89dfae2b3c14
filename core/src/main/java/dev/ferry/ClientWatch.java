package dev.ferry;

import dev.ferry.idle.AdaptiveIdleStrategy;
import dev.ferry.idle.IdleLevel;
import dev.ferry.idle.ParkingIdleStrategy;
import dev.ferry.idle.WakeSignal;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A {@link LaneClient}'s watch over what its calls depend on, run every few empty polls: the kernel (running and
 * heartbeating), the client's own entry (still its own: a client whose process was stopped past the client timeout
 * was reclaimed, and then touches none of its former lanes), each server it waits for (attached, heartbeating, of
 * the generation its calls went to, no corrupt records reported) and the lanes themselves ({@link ClientLanes}:
 * calls passed without an answer). Each case fails the calls concerned, saying why, after reading every reply
 * already in the lanes.
 *
 * <p>Threading: the client's owner thread only.
 */
final class ClientWatch
{
    private final Mapping mapping;
    private final IpcLayout layout;
    private final UnsafeBuffer header;
    private final CallBook book;
    private final ClientLanes lanes;
    private final int index;
    private final int entry;
    private final long ownedWord;
    private final long serverTimeoutNs;
    private final long kernelTimeoutNs;
    private final long[] serverEpochs;
    private long ownEpoch;
    /** Whether the client's waits always park (BLOCKING), or its adaptive strategy, whose level says if they do. */
    private final boolean alwaysParks;
    private final AdaptiveIdleStrategy adaptive;
    /** Why every call now fails (the kernel closed or died, the entry was lost), or null. */
    String gone;
    Status goneStatus;
    /**
     * True once this client's entry is no longer its own (reclaimed while the process was stopped, then maybe
     * reused): from then on it touches none of its former lanes, which may belong to another client now.
     */
    boolean evicted;

    ClientWatch(
        final Mapping mapping, final CallBook book, final ClientLanes lanes, final int index, final int gen,
        final IdleStrategy idle)
    {
        this.alwaysParks = idle instanceof ParkingIdleStrategy;
        this.adaptive = idle instanceof AdaptiveIdleStrategy ? (AdaptiveIdleStrategy)idle : null;
        this.mapping = mapping;
        this.layout = mapping.layout;
        this.header = mapping.buffer;
        this.book = book;
        this.lanes = lanes;
        this.index = index;
        this.entry = layout.clientEntry(index);
        this.ownedWord = EntryTable.word(IpcLayout.ATTACHED, gen);
        this.serverTimeoutNs = header.getLong(IpcLayout.SERVER_TIMEOUT_OFFSET);
        this.kernelTimeoutNs = header.getLong(IpcLayout.KERNEL_TIMEOUT_OFFSET);
        this.ownEpoch = header.getLongVolatile(entry + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET);
        this.serverEpochs = new long[layout.maxServices];
        for (int s = 0; s < layout.maxServices; s++)
        {
            serverEpochs[s] = header.getLongVolatile(layout.serverEntry(s) + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET);
        }
    }

    /**
     * The periodic check: fails the calls whose kernel, own entry or server is gone, or whose replies were lost.
     */
    void check(final long now)
    {
        if (gone != null)
        {
            return;
        }
        final int kernelState = header.getIntVolatile(IpcLayout.KERNEL_STATE_OFFSET);
        final long kernelSilence = now - header.getLongVolatile(IpcLayout.KERNEL_HEARTBEAT_OFFSET);
        if (kernelState == IpcLayout.KERNEL_CLOSED)
        {
            goneStatus = Status.CLOSED;
            gone = "the Ferry kernel at " + mapping.directory + " closed";
        }
        else if (kernelSilence > kernelTimeoutNs)
        {
            goneStatus = Status.CLOSED;
            gone = "the Ferry kernel at " + mapping.directory + " (pid " + header.getLong(IpcLayout.KERNEL_PID_OFFSET)
                + ") has not heartbeaten for " + kernelSilence / 1_000_000 + " ms: it died or hangs. Restart it and "
                + "attach a new client";
        }
        else if (checkOwnEntry())
        {
            return;
        }
        if (gone != null)
        {
            lanes.drain();
            book.failAllInFlight(goneStatus, gone);
            return;
        }
        final long epoch = header.getLongVolatile(entry + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET);
        if (epoch != ownEpoch)
        {
            ownEpoch = epoch;
            lanes.drain();
            book.corruptRecords++;
            book.failAllInFlight(Status.FAILED, "the kernel's mover found corrupt records in the submission ring of "
                + "client " + index + "; calls in flight then fail, since they may have been among them");
        }
        for (int s = 0; s < layout.maxServices; s++)
        {
            lanes.checkHalted(s);
            if (book.fifoCount[s] > 0)
            {
                checkServer(s, now);
            }
        }
    }

    /** Fails the calls in flight to {@code service} whose server died, was replaced, or lost them. */
    private void checkServer(final int service, final long now)
    {
        final int e = layout.serverEntry(service);
        final int serverState = header.getIntVolatile(e + IpcLayout.ENTRY_STATE_OFFSET);
        final int serverGen = header.getInt(e + IpcLayout.ENTRY_GENERATION_OFFSET);
        final long silence = now - header.getLongVolatile(e + IpcLayout.ENTRY_HEARTBEAT_OFFSET);
        final long serverEpoch = header.getLongVolatile(e + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET);
        if (serverState != IpcLayout.ATTACHED || silence > serverTimeoutNs)
        {
            lanes.drain();
            book.failService(service, Status.FAILED, "the server of service " + service + " (pid "
                + header.getLong(e + IpcLayout.ENTRY_PID_OFFSET) + ") "
                + (serverState == IpcLayout.ATTACHED ? "has not heartbeaten for " + silence / 1_000_000 + " ms"
                : "detached") + " before answering; the call may or may not have run. Retry once a server is "
                + "attached again");
        }
        else if (serverEpoch != serverEpochs[service])
        {
            serverEpochs[service] = serverEpoch;
            lanes.drain();
            book.corruptRecords++;
            book.failService(service, Status.FAILED, "the server of service " + service + " found corrupt records "
                + "in its request ring; calls in flight to it fail, since they may have been among them");
        }
        else
        {
            book.failOlderGenerations(service, serverGen);
            if (book.fifoCount[service] > 0)
            {
                lanes.checkAnswered(service);
            }
        }
    }

    /**
     * One read of this client's entry (a line only the heartbeat stamper and the kernel write, so mostly a cache
     * hit), before every flush and poll: a client whose entry was reclaimed (its process stopped past the client
     * timeout) must not write or read rings that may be another client's now. It fails its calls CLOSED without
     * reading them. A process stopped between this read and its next write can still write one batch there: that
     * window is the residue the fault model names.
     *
     * @return true if the entry is no longer this client's.
     */
    boolean checkOwnEntry()
    {
        if (evicted)
        {
            return true;
        }
        if (RawMemory.getLongVolatile(header, entry + IpcLayout.ENTRY_STATE_OFFSET) == ownedWord)
        {
            return false;
        }
        evict("client " + index + " was detached by the kernel (its heartbeat stopped for longer than the client "
            + "timeout: was this process suspended?); attach a new client");
        return true;
    }

    /**
     * From now on this client touches none of its rings (they may be another client's, or gone): every call in
     * flight or staged fails CLOSED with {@code why}, handed over by the next polls, without reading a ring.
     */
    void evict(final String why)
    {
        evicted = true;
        goneStatus = Status.CLOSED;
        gone = why;
        book.failAllInFlight(goneStatus, gone);
        book.failStaged(goneStatus, gone);
    }

    /**
     * @return true while the client's waits park: its deadlines and checks then run at every empty poll, which parks
     * make far longer than 64 empty polls without them.
     */
    boolean parks()
    {
        return alwaysParks || adaptive != null && adaptive.level() == IdleLevel.PARK;
    }

    /** @return the client's wake signal when its next idle call parks, else null. */
    WakeSignal signalBeforePark()
    {
        return adaptive != null && adaptive.wakeSignal() != null && adaptive.parksNext() ? adaptive.wakeSignal() : null;
    }

    /**
     * A fault touching the mapping (its file was truncated under it: the JVM turns the SIGBUS into an
     * {@link InternalError}): the client touches the mapping no more, fails its calls CLOSED (handed over by the
     * next polls) and says what happened.
     */
    IllegalStateException mappingFault(final InternalError fault)
    {
        if (!evicted)
        {
            evict("the Ferry mapping at " + mapping.directory + " faulted (its file was truncated or damaged: "
                + fault.getMessage() + "); restart the kernel and attach a new client");
        }
        return new IllegalStateException(gone, fault);
    }

    /** Refuses a new call once the client's calls can no longer be sent: the kernel closing, closed or gone. */
    void checkOpen()
    {
        if (gone != null)
        {
            throw new IllegalStateException(gone);
        }
        final int kernelState = header.getIntVolatile(IpcLayout.KERNEL_STATE_OFFSET);
        if (kernelState != IpcLayout.KERNEL_RUNNING)
        {
            throw new IllegalStateException("the Ferry kernel at " + mapping.directory + " is "
                + (kernelState == IpcLayout.KERNEL_CLOSING ? "closing" : "closed")
                + "; calls can no longer be submitted. Calls in flight still complete (OK or CLOSED): poll them");
        }
    }

    /**
     * Gives the client's entry back: one compare-and-swap of (state, generation), so an entry reclaimed and taken by
     * another client is never detached; nothing once evicted.
     */
    void detach(final int generation)
    {
        if (evicted)
        {
            return;
        }
        try
        {
            EntryTable.detach(header, entry, generation);
        }
        catch (final InternalError ex)
        {
            // The mapping faulted (truncated): nothing to detach; the kernel reclaims the entry when it can.
        }
    }
}
