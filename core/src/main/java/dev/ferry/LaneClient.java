package dev.ferry;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The {@link Client} of every mode but INLINE, in either memory: it owns an entry of the kernel's client table and,
 * in the kernel's memory, its lanes. Its calls are kept in a {@link CallBook}; its protocol is a {@link ClientLanes}
 * chosen once at attach ({@link DirectLanes} or {@link MoverLanes}). {@link #submit} stages a call locally;
 * {@link #flush()} writes the staged calls into the lanes; {@link #poll} reads the lanes of the services it has calls
 * in flight to, handing each reply to the handler as a view of the lane (valid during the callback), allocating
 * nothing on the success path. {@link #call} writes its request from the caller's buffer straight into the lane.
 *
 * <p>Nothing is lost silently: every few empty polls the client checks that the kernel heartbeats and is running,
 * that its own entry is still its own (a client whose process was stopped past the client timeout was reclaimed: it
 * then touches none of its former lanes), and that each server it waits for heartbeats, is of the generation its
 * calls went to and has not passed a call without an answer; each case fails the calls concerned, saying why.
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
    private final int entry;
    private final long ownedWord;
    private final long serverTimeoutNs;
    private final long kernelTimeoutNs;
    private final long checkIntervalNs;
    private final IdleStrategy idle;
    private final Object heartbeat;
    private final CallBook book;
    private final ClientLanes lanes;
    private final long[] serverEpochs;
    private final UnsafeBuffer wrapper = new UnsafeBuffer(new byte[0]);
    // In-process kernels only: whom a flush wakes (null across processes), and the services this flush sent to.
    private final Wakeups wakeups;
    private final boolean[] wakeFlags;
    private final int[] wakeList;
    private int wakeCount;
    // The call() in progress: its slot's request is read from the caller's buffer instead of the staging area.
    private int directSlot = -1;
    private DirectBuffer directRequest;
    private int directOffset;

    private long ownEpoch;
    private int emptyPolls;
    private int pollRounds;
    private long lastCheckNs;
    private long callTimeoutNs = DEFAULT_CALL_TIMEOUT.toNanos();
    private long sweepIntervalNs;
    private long nextSweepNs;
    private boolean closed;
    private boolean heldBack;
    private String gone;
    private Status goneStatus;
    // True once this client's entry is no longer its own (reclaimed while the process was stopped, then maybe
    // reused): from then on it touches none of its former rings, which may belong to another client now.
    private boolean evicted;

    private LaneClient(final Mapping mapping, final IdleStrategy idle, final Wakeups wakeups)
    {
        this.mapping = mapping;
        this.layout = mapping.layout;
        this.header = mapping.buffer;
        this.owner = Thread.currentThread();
        this.idle = idle;
        this.wakeups = wakeups;
        this.wakeFlags = new boolean[layout.maxServices];
        this.wakeList = new int[layout.maxServices];
        this.serverTimeoutNs = header.getLong(IpcLayout.SERVER_TIMEOUT_OFFSET);
        this.kernelTimeoutNs = header.getLong(IpcLayout.KERNEL_TIMEOUT_OFFSET);
        this.checkIntervalNs = Math.max(1_000_000L, header.getLong(IpcLayout.HEARTBEAT_INTERVAL_OFFSET) / 4);
        Server.checkKernel(mapping);

        int found = -1;
        int gen = 0;
        final long pid = ProcessHandle.current().pid();
        for (int c = 0; c < layout.maxClients && found < 0; c++)
        {
            final int claimed = EntryTable.claimByClient(header, layout.clientEntry(c), pid, System.nanoTime());
            if (claimed > 0)
            {
                found = c;
                gen = claimed;
            }
        }
        if (found < 0)
        {
            mapping.close();
            throw new IllegalStateException("all " + layout.maxClients + " client slots of the kernel at "
                + mapping.directory + " are taken; close some clients (a dead client's slot is reclaimed within the "
                + "client timeout) or build the kernel with a larger maxClients");
        }
        this.index = found;
        this.generation = gen;
        this.entry = layout.clientEntry(found);
        this.ownedWord = EntryTable.word(IpcLayout.ATTACHED, gen);
        // Stamped from now on, before the block is zeroed (which can be long), while the owner thread lives: a
        // client whose thread died without closing it is reclaimed.
        this.heartbeat = Heartbeats.register(header, entry + IpcLayout.ENTRY_HEARTBEAT_OFFSET,
            header.getLong(IpcLayout.HEARTBEAT_INTERVAL_OFFSET), owner::isAlive);
        this.ownEpoch = header.getLongVolatile(entry + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET);
        this.book = new CallBook(layout.slotBytes, layout.maxInFlight, layout.maxServices);
        this.lanes = layout.mover()
            ? new MoverLanes(book, layout, header, found, gen, serverTimeoutNs)
            : new DirectLanes(book, layout, header, found, gen, serverTimeoutNs);
        this.serverEpochs = new long[layout.maxServices];
        for (int s = 0; s < layout.maxServices; s++)
        {
            serverEpochs[s] = header.getLongVolatile(layout.serverEntry(s) + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET);
        }
        // While the entry is ATTACHING no server nor mover touches these rings: start them clean, whatever a
        // previous occupant or a stray write left there.
        header.setMemory((int)layout.sqOffset(found), (int)layout.clientBlock(), (byte)0);
        if (!EntryTable.publish(header, entry, gen))
        {
            Heartbeats.unregister(heartbeat);
            mapping.close();
            throw new IllegalStateException("client entry " + found + " of the kernel at " + mapping.directory
                + " was reclaimed while this client attached (attaching took longer than the client timeout: was "
                + "this process suspended?); attach again");
        }
        // Servers rebuild their lists of lanes to scan when this count moves.
        header.getAndAddLong(IpcLayout.ATTACH_COUNT_OFFSET, 1);
        this.lastCheckNs = System.nanoTime();
        this.sweepIntervalNs = sweepInterval(callTimeoutNs);
        this.nextSweepNs = lastCheckNs;
    }

    /**
     * Attaches a client to a kernel's memory, owned by the calling thread.
     *
     * @param mapping the kernel's memory, this client's to close.
     * @param wakeups the in-process wake-up policy, or null across processes.
     */
    static LaneClient attach(final Mapping mapping, final IdleStrategy idle, final Wakeups wakeups)
    {
        final LaneClient client = new LaneClient(mapping, idle, wakeups);
        if (wakeups != null)
        {
            wakeups.client(client.index, client.owner);
        }
        return client;
    }

    static LaneClient attach(final String name)
    {
        return (LaneClient)Client.attach(name);
    }

    static LaneClient attach(final Path directory, final IdleStrategy idle)
    {
        return (LaneClient)Client.attach(directory, idle);
    }

    /** Deadlines are checked this often: within an eighth of the timeout, at most as often as every 100 µs. */
    private long sweepInterval(final long timeoutNs)
    {
        return Math.max(100_000L, Math.min(checkIntervalNs, timeoutNs / 8));
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
        if (serviceId < 0 || serviceId >= layout.maxServices)
        {
            throw new IllegalArgumentException("unknown service id " + serviceId + "; the kernel has services 0-"
                + (layout.maxServices - 1));
        }
        Objects.requireNonNull(request, "request buffer is null; pass an empty buffer for a call without payload");
        if (offset < 0 || length < 0 || (long)offset + length > request.capacity())
        {
            throw new IllegalArgumentException("request bytes [" + offset + ", " + ((long)offset + length)
                + ") fall outside the request buffer of capacity " + request.capacity());
        }
        if (length > layout.slotBytes)
        {
            throw new IllegalArgumentException("request of " + length + " bytes exceeds the kernel's slot size of "
                + layout.slotBytes + " bytes; build the Kernel with slotBytes(" + length + ") or more");
        }
        return book.stage(serviceId, length, callTimeoutNs, sync);
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
        checkOwnEntry();
        int sent = 0;
        heldBack = false;
        while (book.stagedCount > 0)
        {
            final int slot = book.firstStaged();
            if (gone != null)
            {
                book.fail(slot, goneStatus, gone);
            }
            else
            {
                final int service = book.services[slot];
                final int serverEntry = layout.serverEntry(service);
                // The entry lies inside the mapping (the service id was checked at submit): unchecked reads.
                if (RawMemory.getIntVolatile(header, serverEntry + IpcLayout.ENTRY_STATE_OFFSET) != IpcLayout.ATTACHED)
                {
                    book.fail(slot, Status.FAILED, "service " + service + " has no server attached; start one with "
                        + "Server.builder()...service(" + service + ", handler).start()");
                }
                else if (!lanes.ready(service))
                {
                    // The lane waits for its server to halt it before it is reset: held back, as by a full lane,
                    // unless the server stopped heartbeating (then nothing will halt it).
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
                    // The lane is full. With no call in flight there, what fills it is late replies (to calls that
                    // failed or timed out), which only a read of the lane frees: have the next poll read it.
                    heldBack = true;
                    book.activate(service);
                    break;
                }
                else
                {
                    sent++;
                    if (wakeups != null && !wakeFlags[service])
                    {
                        wakeFlags[service] = true;
                        wakeList[wakeCount++] = service;
                    }
                }
            }
            book.unstage();
        }
        if (wakeCount > 0)
        {
            wakeAll();
        }
        return sent;
    }

    /** Wakes, once per flush, the reader of each service's lane this flush sent to. */
    private void wakeAll()
    {
        for (int i = 0; i < wakeCount; i++)
        {
            final int service = wakeList[i];
            wakeFlags[service] = false;
            lanes.wake(wakeups, service);
        }
        wakeCount = 0;
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
        if (heldBack || (gone != null && book.stagedCount > 0))
        {
            flushUnchecked();
        }
        final long before = book.delivered;
        book.deliverFailing(limit);
        if (checkOwnEntry())
        {
            book.deliverFailing(limit);
            return (int)(book.delivered - before);
        }
        lanes.read(before, limit);
        if (book.inFlight > 0 && (++pollRounds & 63) == 0)
        {
            // Every 64th poll, busy or not, so that a call stuck behind a hung handler times out even while other
            // services answer: one clock read per 64 polls.
            final long now = System.nanoTime();
            if (now - nextSweepNs >= 0)
            {
                nextSweepNs = now + sweepIntervalNs;
                book.sweepDeadlines(now);
                book.deliverFailing(limit);
            }
        }
        if (book.delivered == before && book.inFlight > 0 && (++emptyPolls & 63) == 0)
        {
            final long now = System.nanoTime();
            if (now - lastCheckNs >= checkIntervalNs)
            {
                lastCheckNs = now;
                // Liveness checks drain the reply lanes before failing calls, so they may hand over a few more
                // completions than the limit.
                checkLiveness(now);
                book.deliverFailing(limit);
            }
        }
        return (int)(book.delivered - before);
    }

    private void checkLiveness(final long now)
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
                    checkNotReentrant(book.activeServices[i]);
                }
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
        return call(serviceId, request, offset, length, reply, replyOffset, checkTimeout(timeout));
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
        checkNotReentrant(serviceId);
        int slot;
        while ((slot = stage(serviceId, request, offset, length, true)) < 0)
        {
            if (pollOnce(layout.maxInFlight) == 0)
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
            // The caller's bytes stay put until this method returns, so the request is written from them straight
            // into the lane, without the staging copy that submit() needs.
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
                    idle.idle(0);
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
        callTimeoutNs = checkTimeout(timeout);
        sweepIntervalNs = sweepInterval(callTimeoutNs);
        return this;
    }

    @Override
    public Duration callTimeout()
    {
        return Duration.ofNanos(callTimeoutNs);
    }

    /** @return the timeout in ns, saturated at a year: a deadline beyond any run must not overflow nanoTime sums. */
    static long checkTimeout(final Duration timeout)
    {
        Objects.requireNonNull(timeout, "timeout is null");
        if (timeout.isNegative() || timeout.isZero())
        {
            throw new IllegalArgumentException("call timeout " + timeout + " must be positive");
        }
        return timeout.compareTo(Duration.ofDays(365)) > 0 ? Duration.ofDays(365).toNanos() : timeout.toNanos();
    }

    private void checkNotReentrant(final int serviceId)
    {
        if (Server.servesOnThisThread(mapping, serviceId))
        {
            throw new IllegalStateException("re-entrant call: the handler of service " + serviceId + " called "
                + "service " + serviceId + " of its own kernel (" + mapping.directory + ") from its server thread; "
                + "it would wait for itself. Call another service, submit without waiting, or hand the work to "
                + "another thread");
        }
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
        checkOwner();
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
        if (!evicted)
        {
            // One compare-and-swap of (state, generation): never detaches an entry reclaimed and taken by another
            // client.
            try
            {
                EntryTable.detach(header, entry, generation);
            }
            catch (final InternalError ex)
            {
                // The mapping faulted (truncated): nothing to detach; the kernel reclaims the entry when it can.
            }
        }
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

    /**
     * One read of this client's entry (a line only the heartbeat stamper and the kernel write, so mostly a cache
     * hit), before every flush and poll: a client whose entry was reclaimed (its process stopped past the client
     * timeout) must not write or read rings that may be another client's now. It fails its calls CLOSED without
     * reading them. A process stopped between this read and its next write can still write one batch there: that
     * window is the residue the fault model names.
     *
     * @return true if the entry is no longer this client's.
     */
    private boolean checkOwnEntry()
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
    private void evict(final String why)
    {
        evicted = true;
        goneStatus = Status.CLOSED;
        gone = why;
        book.failAllInFlight(goneStatus, gone);
        book.failStaged(goneStatus, gone);
        heldBack = false;
    }

    /**
     * A fault touching the mapping (its file was truncated under it: the JVM turns the SIGBUS into an
     * {@link InternalError}): this client touches the mapping no more, fails its calls CLOSED (handed over by the next
     * polls) and says what happened.
     */
    private IllegalStateException mappingFault(final InternalError fault)
    {
        if (!evicted)
        {
            evict("the Ferry mapping at " + mapping.directory + " faulted (its file was truncated or damaged: "
                + fault.getMessage() + "); restart the kernel and attach a new client");
        }
        return new IllegalStateException(gone, fault);
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

    /** Diagnostics, racy when read from another thread than the owner's. */
    String debugState()
    {
        final StringBuilder b = new StringBuilder(book.debugState()).append(" heldBack=").append(heldBack)
            .append(" gone=").append(gone);
        for (int s = 0; s < layout.maxServices; s++)
        {
            b.append(" lane[").append(s).append("]: ").append(lanes.debugState(s));
        }
        return b.toString();
    }

    @Override
    public String toString()
    {
        return "LaneClient{id=" + index + ", generation=" + generation + ", " + mapping.directory + "}";
    }
}
