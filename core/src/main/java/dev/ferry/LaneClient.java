package dev.ferry;

import dev.ferry.idle.WakeSignal;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.time.Duration;
import java.util.Objects;

/**
 * The {@link Client} of every mode but INLINE, in either memory: an entry of the kernel's client table and, in the
 * kernel's memory, its lanes. Its calls are kept in a {@link CallBook}, its protocol is a {@link ClientLanes} chosen
 * at attach ({@link DirectLanes} or {@link MoverLanes}), and a {@link ClientWatch} checks every few empty polls what
 * its calls depend on. Nothing is allocated on the success path; {@link #call} writes its request from the caller's
 * buffer straight into the lane.
 *
 * <p>Threading: a client belongs to the thread that attached it; every method but the counters throws
 * {@link IllegalStateException} from another thread.
 */
final class LaneClient implements Client
{
    private final Mapping mapping;
    private final IpcLayout layout;
    private final UnsafeBuffer header;
    private final Thread owner;
    private final int index;
    private final int generation;
    private final long serverTimeoutNs;
    private final long checkIntervalNs;
    private final IdleStrategy idle;
    private final Object heartbeat;
    private final CallBook book;
    private final ClientLanes lanes;
    private final ClientWatch watch;
    private final UnsafeBuffer wrapper = new UnsafeBuffer(new byte[0]);
    // The call() in progress: its slot's request is read from the caller's buffer instead of the staging area.
    private int directSlot = -1;
    private DirectBuffer directRequest;
    private int directOffset;

    private int emptyPolls;
    private int pollRounds;
    private long lastCheckNs;
    private boolean closed;
    private boolean heldBack;

    private LaneClient(final Mapping mapping, final IdleStrategy idle, final Wakeups wakeups)
    {
        this.mapping = mapping;
        this.layout = mapping.layout;
        this.header = mapping.buffer;
        this.owner = Thread.currentThread();
        this.idle = idle;
        this.serverTimeoutNs = header.getLong(IpcLayout.SERVER_TIMEOUT_OFFSET);
        this.checkIntervalNs = Math.max(1_000_000L, header.getLong(IpcLayout.HEARTBEAT_INTERVAL_OFFSET) / 4);
        Server.checkKernel(mapping);

        final long claimed = EntryTable.claimClient(mapping);
        final int found = (int)(claimed >>> 32);
        final int gen = (int)claimed;
        this.index = found;
        this.generation = gen;
        // Stamped from now on (zeroing can be long) while the owner lives: a dead owner's client is reclaimed.
        final int entry = layout.clientEntry(found);
        this.heartbeat = Heartbeats.register(header, entry + IpcLayout.ENTRY_HEARTBEAT_OFFSET,
            header.getLong(IpcLayout.HEARTBEAT_INTERVAL_OFFSET), owner::isAlive);
        this.book = new CallBook(layout.slotBytes, layout.maxInFlight, layout.maxServices, checkIntervalNs);
        this.lanes = layout.mover()
            ? new MoverLanes(book, layout, header, found, gen, serverTimeoutNs, wakeups)
            : new DirectLanes(book, layout, header, found, gen, serverTimeoutNs, wakeups);
        this.watch = new ClientWatch(mapping, book, lanes, found, gen, idle);
        EntryTable.publishClient(mapping, found, gen, heartbeat);
        this.lastCheckNs = System.nanoTime();
    }

    /** Attaches a client owned by the calling thread to a kernel's memory (its to close); in-process, with wakeups. */
    static LaneClient attach(final Mapping mapping, final IdleStrategy idle, final Wakeups wakeups)
    {
        final LaneClient client = new LaneClient(mapping, idle, wakeups);
        if (wakeups != null)
        {
            wakeups.client(client.index, client.owner, idle);
        }
        return client;
    }

    /**
     * Before a park its servers cut short (in-process): announces it, then looks once more (WakeSignal's handshake).
     * @return completions the last look handed over, to {@code handler} (null inside {@code call()}).
     */
    private int lookBeforePark(final CompletionHandler handler, final int limit)
    {
        final WakeSignal signal = watch.signalBeforePark();
        if (signal == null)
        {
            return 0;
        }
        signal.sleeping();
        final int n = handler == null ? pollOnce(limit) : pollUnchecked(handler, limit);
        if (n > 0)
        {
            signal.awake();
        }
        return n;
    }

    @Override
    public long submit(final int serviceId, final DirectBuffer request, final int offset, final int length)
    {
        final int slot = stage(serviceId, request, offset, length, false);
        if (slot < 0)
        {
            return BACK_PRESSURE;
        }
        book.staging.putBytes(slot * layout.slotBytes, request, offset, length);
        book.handlerCalls++;
        return book.callIds[slot];
    }

    @Override
    public long submit(final int serviceId, final byte[] request)
    {
        Objects.requireNonNull(request, "request is null; use an empty array for a call without payload");
        wrapper.wrap(request);
        return submit(serviceId, wrapper, 0, request.length);
    }

    private int stage(
        final int serviceId, final DirectBuffer request, final int offset, final int length, final boolean sync)
    {
        checkOwner();
        checkOpen();
        CallBook.checkRequest(serviceId, layout.maxServices, request, offset, length, layout.slotBytes);
        return book.stage(serviceId, length, book.callTimeoutNs, sync);
    }

    @Override
    public int flush()
    {
        try
        {
            return flushUnchecked();
        }
        catch (final InternalError ex)
        {
            throw mappingFault(ex);
        }
    }

    /**
     * Sends every staged call, in order; a full lane keeps the rest staged, and the next flush or poll sends them on.
     * A call to a service no server is attached to completes at once with FAILED.
     *
     * @return calls sent.
     */
    private int flushUnchecked()
    {
        checkOwner();
        checkNotClosed();
        watch.checkOwnEntry();
        int sent = 0;
        heldBack = false;
        while (book.stagedCount > 0)
        {
            final int slot = book.firstStaged();
            if (watch.gone != null)
            {
                book.fail(slot, watch.goneStatus, watch.gone);
            }
            else
            {
                final int service = book.services[slot];
                final int serverEntry = layout.serverEntry(service);
                // The entry lies inside the mapping (the service id was checked at submit): unchecked reads.
                if (RawMemory.getIntVolatile(header, serverEntry + IpcLayout.ENTRY_STATE_OFFSET) != IpcLayout.ATTACHED)
                {
                    // Staged before the kernel closed, whose servers detached: not run, so CLOSED.
                    final boolean closed = header.getIntVolatile(IpcLayout.KERNEL_STATE_OFFSET)
                        != IpcLayout.KERNEL_RUNNING;
                    book.fail(slot, closed ? Status.CLOSED : Status.FAILED, closed
                        ? "the Ferry kernel at " + mapping.directory + " closed before the call was sent"
                        : "service " + service + " has no server attached; start one with Server.builder()...service("
                        + service + ", handler).start()");
                }
                else if (!lanes.ready(service))
                {
                    // The lane waits for its server to halt it (to be reset): held back, unless the server is dead.
                    final long silence = System.nanoTime()
                        - header.getLongVolatile(serverEntry + IpcLayout.ENTRY_HEARTBEAT_OFFSET);
                    if (silence <= serverTimeoutNs)
                    {
                        heldBack = true;
                        break;
                    }
                    book.fail(slot, Status.FAILED, "the lane of client " + index + " to service " + service
                        + " held a corrupt record, and its server (silent for " + silence / 1_000_000 + " ms) did "
                        + "not halt it so that it could be reset; retry once a server is attached again");
                }
                else if (!lanes.send(slot, service,
                    RawMemory.getInt(header, serverEntry + IpcLayout.ENTRY_GENERATION_OFFSET),
                    slot == directSlot ? directRequest : null, directOffset))
                {
                    // The lane is full: of late replies, if nothing is in flight there; the next poll reads it.
                    heldBack = true;
                    book.activate(service);
                    break;
                }
                else
                {
                    sent++;
                    lanes.toWake(service);
                }
            }
            book.unstage();
        }
        lanes.wakeAll();
        return sent;
    }

    @Override
    public int poll(final CompletionHandler handler, final int limit)
    {
        try
        {
            return pollUnchecked(handler, limit);
        }
        catch (final InternalError ex)
        {
            throw mappingFault(ex);
        }
    }

    private int pollUnchecked(final CompletionHandler handler, final int limit)
    {
        checkOwner();
        checkNotClosed();
        Objects.requireNonNull(handler, "completion handler is null");
        if (limit <= 0)
        {
            throw new IllegalArgumentException("limit is " + limit + "; it must be at least 1");
        }
        book.currentHandler = handler;
        try
        {
            return pollOnce(limit);
        }
        finally
        {
            book.currentHandler = null;
        }
    }

    private int pollOnce(final int limit)
    {
        if (heldBack || (watch.gone != null && book.stagedCount > 0))
        {
            flushUnchecked();
        }
        final long before = book.delivered;
        book.deliverFailing(limit);
        if (watch.checkOwnEntry())
        {
            book.deliverFailing(limit);
            return (int)(book.delivered - before);
        }
        lanes.read(before, limit);
        if (book.inFlight > 0 && ((++pollRounds & 63) == 0 || watch.parks()))
        {
            // Every 64th poll, busy or not: a call behind a hung handler times out while other services answer.
            final long now = System.nanoTime();
            if (book.sweepDue(now))
            {
                book.sweepDeadlines(now);
                book.deliverFailing(limit);
            }
        }
        if (book.delivered == before && book.inFlight > 0 && ((++emptyPolls & 63) == 0 || watch.parks()))
        {
            final long now = System.nanoTime();
            if (now - lastCheckNs >= checkIntervalNs)
            {
                lastCheckNs = now;
                // The checks drain the lanes before failing calls: a few more completions than the limit, maybe.
                watch.check(now);
                book.deliverFailing(limit);
            }
        }
        return (int)(book.delivered - before);
    }

    @Override
    public int await(final CompletionHandler handler, final int limit)
    {
        try
        {
            return awaitUnchecked(handler, limit);
        }
        catch (final InternalError ex)
        {
            throw mappingFault(ex);
        }
    }

    private int awaitUnchecked(final CompletionHandler handler, final int limit)
    {
        checkOwner();
        checkNotClosed();
        if (book.inFlight == 0)
        {
            throw new IllegalStateException("client " + index + " has no call in flight to await");
        }
        flushUnchecked();
        idle.reset();
        int n;
        boolean checked = false;
        while ((n = pollUnchecked(handler, limit)) == 0)
        {
            if (!checked)
            {
                // About to wait: refuse to wait for this thread's own service (it would wait for itself).
                checked = true;
                for (int i = 0; i < book.activeCount; i++)
                {
                    ServerRegistry.refuseReentrant(mapping, book.activeServices[i]);
                }
            }
            if ((n = lookBeforePark(handler, limit)) > 0)
            {
                break;
            }
            idle.idle(0);
        }
        idle.reset();
        return n;
    }

    @Override
    public int call(
        final int serviceId, final DirectBuffer request, final int offset, final int length,
        final MutableDirectBuffer reply, final int replyOffset)
    {
        return call(serviceId, request, offset, length, reply, replyOffset, CallBook.NO_DEADLINE);
    }

    @Override
    public int call(
        final int serviceId, final DirectBuffer request, final int offset, final int length,
        final MutableDirectBuffer reply, final int replyOffset, final Duration timeout)
    {
        return call(serviceId, request, offset, length, reply, replyOffset, CallBook.checkTimeout(timeout));
    }

    private int call(
        final int serviceId, final DirectBuffer request, final int offset, final int length,
        final MutableDirectBuffer reply, final int replyOffset, final long timeoutNs)
    {
        try
        {
            return callUnchecked(serviceId, request, offset, length, reply, replyOffset, timeoutNs);
        }
        catch (final InternalError ex)
        {
            final IllegalStateException fault = mappingFault(ex);
            // The call ended with the mapping (CLOSED): hand it over here, so the client owes no completion.
            book.deliverFailing(layout.maxInFlight);
            book.syncReply = null;
            throw fault;
        }
    }

    private int callUnchecked(
        final int serviceId, final DirectBuffer request, final int offset, final int length,
        final MutableDirectBuffer reply, final int replyOffset, final long timeoutNs)
    {
        checkOwner();
        checkNotClosed();
        Objects.requireNonNull(reply, "reply buffer is null");
        if (book.handlerCalls > 0)
        {
            throw new IllegalStateException(book.handlerCalls + " calls made with submit() are in flight on client "
                + index + "; poll their completions with a CompletionHandler before call()");
        }
        ServerRegistry.refuseReentrant(mapping, serviceId);
        int slot;
        while ((slot = stage(serviceId, request, offset, length, true)) < 0)
        {
            if (pollOnce(layout.maxInFlight) == 0 && lookBeforePark(null, layout.maxInFlight) == 0)
            {
                idle.idle(0);
            }
        }
        if (timeoutNs != CallBook.NO_DEADLINE)
        {
            // A deadline of its own: the clock is read now, since the caller asked for one.
            book.timeoutsNs[slot] = timeoutNs;
            book.deadlines[slot] = System.nanoTime() + timeoutNs;
        }
        final long id = book.callIds[slot];
        book.syncReply = reply;
        book.syncReplyOffset = replyOffset;
        book.syncDone = false;
        try
        {
            // The caller's bytes stay put until this returns: written from them straight into the lane, no staging.
            directSlot = slot;
            directRequest = request;
            directOffset = offset;
            flushUnchecked();
            idle.reset();
            int empty = 0;
            while (!book.syncDone)
            {
                if (pollOnce(layout.maxInFlight) == 0)
                {
                    if ((++empty & 63) == 0 && book.callIds[slot] == id && (book.state[slot] == CallBook.STAGED
                        || book.state[slot] == CallBook.IN_FLIGHT))
                    {
                        // Waiting anyway: the clock is cheap here. The sweep in poll fixes a default deadline.
                        final long deadline = book.deadlines[slot];
                        if (deadline != CallBook.NO_DEADLINE && System.nanoTime() - deadline >= 0)
                        {
                            book.timeOut(slot);
                            continue;
                        }
                    }
                    if (lookBeforePark(null, layout.maxInFlight) == 0)
                    {
                        idle.idle(0);
                    }
                }
            }
        }
        finally
        {
            if (book.state[slot] == CallBook.STAGED && book.callIds[slot] == id)
            {
                // Left staged (a full lane, or an exception): a later flush sends it from the staging area.
                book.staging.putBytes(slot * layout.slotBytes, request, offset, length);
            }
            book.syncReply = null;
            directSlot = -1;
            directRequest = null;
        }
        idle.reset();
        if (book.syncStatus != Status.OK)
        {
            throw new CallFailedException(id, serviceId, book.syncStatus, book.syncFailure);
        }
        return book.syncLength;
    }

    @Override
    public LaneClient callTimeout(final Duration timeout)
    {
        checkOwner();
        checkNotClosed();
        book.callTimeout(CallBook.checkTimeout(timeout));
        return this;
    }

    @Override
    public Duration callTimeout()
    {
        return Duration.ofNanos(book.callTimeoutNs);
    }

    @Override
    public int inFlight()
    {
        checkOwner();
        return book.inFlight;
    }

    @Override
    public int staged()
    {
        checkOwner();
        return book.stagedCount;
    }

    @Override
    public int freeSlots()
    {
        checkOwner();
        return book.freeCount();
    }

    @Override
    public int id()
    {
        return index;
    }

    /** @return this client's generation in its table entry (one more each time the entry is reused). */
    int generation()
    {
        return generation;
    }

    @Override
    public long lateReplies()
    {
        return book.lateReplies;
    }

    @Override
    public long timedOutCalls()
    {
        return book.timedOut;
    }

    /** @return corrupt records this client met or was told of; each made calls fail, none was delivered. */
    long corruptRecords()
    {
        return book.corruptRecords;
    }

    @Override
    public Thread owner()
    {
        return owner;
    }

    /**
     * Detaches from the kernel; the kernel reclaims the lanes.
     *
     * @throws IllegalStateException if calls are in flight: poll their completions first.
     */
    @Override
    public void close()
    {
        if (owner.isAlive())
        {
            checkOwner();
        }
        if (closed)
        {
            return;
        }
        if (book.inFlight > 0)
        {
            throw new IllegalStateException("client " + index + " has " + book.inFlight
                + " calls in flight; poll or await their completions before closing it");
        }
        closed = true;
        Heartbeats.unregister(heartbeat);
        watch.detach(generation);
        mapping.close();
    }

    private void checkOwner()
    {
        final Thread current = Thread.currentThread();
        if (current != owner)
        {
            throw new IllegalStateException("client " + index + " belongs to thread '" + owner.getName()
                + "' but was used from '" + current.getName() + "'; a client is single-threaded: make one per "
                + "thread");
        }
    }

    private IllegalStateException mappingFault(final InternalError fault)
    {
        heldBack = false;
        return watch.mappingFault(fault);
    }

    private void checkNotClosed()
    {
        if (closed)
        {
            throw new IllegalStateException("client " + index + " is closed; make or attach a new one");
        }
    }

    private void checkOpen()
    {
        checkNotClosed();
        watch.checkOpen();
    }

    /** Diagnostics, racy when read from another thread than the owner's. */
    String debugState()
    {
        return book.debugState() + " heldBack=" + heldBack + " gone=" + watch.gone + lanes.debugState();
    }

    @Override
    public String toString()
    {
        return "LaneClient{id=" + index + ", generation=" + generation + ", " + mapping.directory + "}";
    }
}
