package dev.ferry;

import dev.ferry.counters.AgentCounters;
import dev.ferry.idle.AdaptiveIdleStrategy;
import dev.ferry.idle.WakeSignal;
import dev.ferry.ring.ClientRings;
import dev.ferry.ring.Slot;
import dev.ferry.ring.SubmissionRing;
import dev.ferry.server.RequestForwarder;
import dev.ferry.server.ServerAgent;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * A caller of a kernel's services, as in io_uring: it owns a pool of recycled call slots, a submission ring and a
 * completion ring. {@link #submit} fills a slot and stages it without publishing; {@link #flush()} publishes every
 * staged call at once (one release store in MOVER mode, the doorbell); {@link #poll} hands each completion to a
 * {@link CompletionHandler}, allocating nothing. {@link #call} and {@link #callAsync} are synchronous and
 * future-returning conveniences over the same path.
 *
 * <p>Back-pressure is explicit: when every slot is in flight, {@link #submit} returns {@link #BACK_PRESSURE} and
 * stages nothing; poll completions to free slots. In DIRECT and BLOCKING mode a server ring that is full keeps the
 * rest of a flushed batch in the client, in order; the next {@link #flush()} or {@link #poll} sends it on.
 *
 * <p>Deadlines: every call has one, its timeout ({@link #callTimeout(Duration)}, {@link #DEFAULT_CALL_TIMEOUT} unless
 * the kernel's builder or the client set another, or the one passed to
 * {@link #call(int, DirectBuffer, int, int, MutableDirectBuffer, int, Duration)}) counted from submission. A call
 * whose reply has not arrived by then completes once with {@link Status#TIMED_OUT}: {@link #call} throws
 * {@link CallFailedException}, {@link #callAsync}'s future fails with it, and a {@link #submit}ted call's completion
 * reaches the handler of {@link #poll} or {@link #await}. Its handler may not have run, may be running or may have
 * run: a reply that arrives later is dropped and counted ({@link #lateReplies()}), and the call's slot is reused only
 * once that reply is back, so a late server never writes into another call. Deadlines are checked while the client
 * waits or polls, not per call: a call times out no earlier than its timeout after it was submitted and, with
 * Ferry's idle strategies, within a few milliseconds after. In INLINE mode a call's handler runs inside
 * {@link #flush()} on the caller's own thread, so it is never waited for and has no deadline to miss.
 *
 * <p>Re-entrancy: a handler must not wait for itself. A call, await or future join made on a service's own server
 * thread for that same service (through any client made on that thread), and, in INLINE mode, any flush, call,
 * callAsync, await or join through the client whose flush is running the handler, throws
 * {@link IllegalStateException} at once. Calling another service, or submitting without waiting, is fine.
 *
 * <p>Threading: a client belongs to the thread that created it with {@link Kernel#newClient()}; every method but
 * the counters and identity getters throws {@link IllegalStateException} when called from another thread. Make one
 * client per calling thread. Once the client is closed every method but the getters and {@link #close()} throws
 * {@link IllegalStateException}; once its kernel is closed, calls in flight still complete (OK or CLOSED: poll or
 * await them) and everything else throws.
 */
public final class Client implements AutoCloseable
{
    /** What {@link #submit} returns when all of the client's slots are in flight. */
    public static final long BACK_PRESSURE = -1;

    /** The call timeout of a client whose kernel's builder did not set one: 10 s. */
    public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(10);

    /** Timeouts beyond this (about 73 years) are taken as this, so that a deadline cannot overflow. */
    private static final long MAX_TIMEOUT_NS = Long.MAX_VALUE / 4;
    /** A deadline not set yet: it is set at the first deadline check after submission. */
    private static final long UNSTAMPED = Long.MIN_VALUE;
    /** Polls or idle rounds between two readings of the clock while calls are in flight. */
    private static final int CHECK_ROUNDS_MASK = 63;
    /** Least time between two scans of the slots for deadlines, unless the client is about to park. */
    private static final long SCAN_INTERVAL_NS = 1_000_000L;
    /** Longest park in BLOCKING mode when no deadline is nearer: a safety net, as servers unpark their callers. */
    private static final long MAX_BLOCKING_PARK_NS = 100_000_000L;

    private static final Object SYNC = new Object();
    /** A synchronous call whose reply was taken from its slot before the slot came back through the ring. */
    private static final Object RETIRED = new Object();
    /** A call that timed out: its slot is reused only once it comes back, its reply dropped. */
    private static final Object ABANDONED = new Object();

    private final Kernel kernel;
    private final Mode mode;
    private final ClientRings rings;
    private final SubmissionRing sq;
    private final MpscArrayQueue<Slot> cq;
    private final RequestForwarder forwarder;
    private final Handler[] handlers;
    private final int slotBytes;
    private final IdleStrategy idle;
    private final WakeSignal moverSignal;
    private final AdaptiveIdleStrategy adaptiveIdle;
    private final AgentCounters counters;
    private final MessagePassingQueue.Consumer<Slot> deliver = this::deliver;
    private final UnsafeBuffer wrapper = new UnsafeBuffer(new byte[0]);
    /** The service whose server thread owns this client, or -1: calls to it from here would wait for themselves. */
    private final int ownService;

    private final Slot[] free;
    private final boolean[] slotInFlight;
    private final Object[] attachments;
    private final long[] timeoutNs;
    private final boolean[] timeoutOfCall;
    private final long[] deadlineNs;
    private int freeCount;
    private int inFlight;
    private int retired;
    private int abandoned;
    private int handlerCalls;
    private boolean heldBack;
    private long nextId;
    private long delivered;
    private boolean closed;
    private CompletionHandler currentHandler;
    /** INLINE mode: the service whose handler this client's flush is running, else -1. */
    private int inlineService = -1;

    /** Volatile for the getter, which any thread may call; the owner's calls read {@link #callTimeoutNs}. */
    private volatile Duration callTimeout;
    private long callTimeoutNs;
    private int checkRounds;
    private long lastScanNs;
    private long untilDeadlineNs;

    /** Timed-out calls of {@link #submit} whose completion waits for a {@link CompletionHandler}, by id. */
    private final long[] expiredIds;
    private final int[] expiredServices;
    private final Throwable[] expiredFailures;
    private int expiredCount;
    private final TimedOut timedOut = new TimedOut();

    private MutableDirectBuffer syncReply;
    private int syncReplyOffset;
    private boolean syncDone;
    private Status syncStatus;
    private Throwable syncFailure;
    private int syncLength;

    Client(
        final Kernel kernel,
        final ClientRings rings,
        final ServerAgent[] servers,
        final Handler[] handlers,
        final int slotBytes,
        final IdleStrategy idle,
        final WakeSignal moverSignal,
        final Duration callTimeout,
        final int ownService)
    {
        this.moverSignal = moverSignal;
        this.adaptiveIdle = idle instanceof AdaptiveIdleStrategy && ((AdaptiveIdleStrategy)idle).wakeSignal() != null
            ? (AdaptiveIdleStrategy)idle : null;
        this.kernel = kernel;
        this.mode = kernel.mode();
        this.rings = rings;
        this.sq = rings.submissions();
        this.cq = rings.completions();
        this.forwarder = new RequestForwarder(servers, mode == Mode.BLOCKING
            ? kernel::wake
            : server -> server.wakeSignal().wake());
        this.handlers = handlers;
        this.slotBytes = slotBytes;
        this.idle = idle;
        this.ownService = ownService;
        this.callTimeout = callTimeout;
        this.callTimeoutNs = timeoutNanos(callTimeout);
        this.counters = new AgentCounters("client-" + rings.clientId());
        this.counters.idleStrategy(idle);
        final Slot[] slots = rings.slots();
        this.free = new Slot[slots.length];
        this.slotInFlight = new boolean[slots.length];
        this.attachments = new Object[slots.length];
        this.timeoutNs = new long[slots.length];
        this.timeoutOfCall = new boolean[slots.length];
        this.deadlineNs = new long[slots.length];
        this.expiredIds = new long[slots.length];
        this.expiredServices = new int[slots.length];
        this.expiredFailures = new Throwable[slots.length];
        for (int i = slots.length - 1; i >= 0; i--)
        {
            free[freeCount++] = slots[i];
        }
    }

    static Duration checkTimeout(final Duration timeout, final String what)
    {
        Objects.requireNonNull(timeout, what + " is null; pass a positive duration, such as Duration.ofSeconds(10)");
        if (timeout.isNegative() || timeout.isZero())
        {
            throw new IllegalArgumentException(what + " is " + timeout + "; it must be positive: every call has a "
                + "deadline");
        }
        return timeout;
    }

    private static long timeoutNanos(final Duration timeout)
    {
        return timeout.compareTo(Duration.ofNanos(MAX_TIMEOUT_NS)) > 0 ? MAX_TIMEOUT_NS : timeout.toNanos();
    }

    /**
     * Sets the timeout of this client's calls from now on (those that pass none). Owner thread.
     *
     * @param timeout how long a call may wait for its reply; positive.
     * @return this client.
     * @throws IllegalArgumentException if {@code timeout} is zero or negative.
     * @throws IllegalStateException    after this client closed, or from a thread not the owner.
     */
    public Client callTimeout(final Duration timeout)
    {
        checkUsable();
        final Duration checked = checkTimeout(timeout, "callTimeout");
        callTimeoutNs = timeoutNanos(checked);
        callTimeout = checked;
        return this;
    }

    /**
     * @return the timeout of this client's calls that pass none. Any thread, also after close.
     */
    public Duration callTimeout()
    {
        return callTimeout;
    }

    /**
     * Stages a call without publishing it, with the client's call timeout. Nothing is allocated.
     *
     * @param serviceId the service to call, from 0 to {@link Kernel#serviceCount()} - 1.
     * @param request   the request bytes; copied into the call's slot.
     * @param offset    where they start.
     * @param length    how many, at most the kernel's slot size.
     * @return the call's id (0, 1, 2, ... per client), or {@link #BACK_PRESSURE} when all slots are in flight.
     * @throws IllegalArgumentException for an unknown service, bytes outside {@code request}, or a request larger
     *                                  than a slot.
     * @throws IllegalStateException    after the kernel or this client closed, or from a thread not the owner.
     */
    public long submit(final int serviceId, final DirectBuffer request, final int offset, final int length)
    {
        final Slot slot = stage(serviceId, request, offset, length, callTimeoutNs, false);
        if (slot == null)
        {
            return BACK_PRESSURE;
        }
        handlerCalls++;
        return slot.id();
    }

    /**
     * {@link #submit(int, DirectBuffer, int, int)} for a whole byte array.
     *
     * @param serviceId the service to call.
     * @param request   the request bytes.
     * @return the call's id, or {@link #BACK_PRESSURE}.
     */
    public long submit(final int serviceId, final byte[] request)
    {
        checkOwner();
        Objects.requireNonNull(request, "request is null; use an empty array for a call without payload");
        wrapper.wrap(request);
        return submit(serviceId, wrapper, 0, request.length);
    }

    private Slot stage(
        final int serviceId,
        final DirectBuffer request,
        final int offset,
        final int length,
        final long timeout,
        final boolean ofCall)
    {
        checkOwner();
        checkOpen();
        if (serviceId < 0 || serviceId >= handlers.length)
        {
            throw new IllegalArgumentException("unknown service id " + serviceId + "; this kernel has services 0-"
                + (handlers.length - 1));
        }
        Objects.requireNonNull(request, "request buffer is null; pass an empty buffer for a call without payload");
        if (offset < 0 || length < 0 || (long)offset + length > request.capacity())
        {
            throw new IllegalArgumentException("request bytes [" + offset + ", " + ((long)offset + length)
                + ") fall outside the request buffer of capacity " + request.capacity());
        }
        if (length > slotBytes)
        {
            throw new IllegalArgumentException("request of " + length + " bytes exceeds the slot size of " + slotBytes
                + " bytes; build the kernel with slotBytes(" + Integer.highestOneBit(length - 1) * 2 + ") or more");
        }
        if (freeCount == 0)
        {
            counters.onBackPressure();
            return null;
        }
        final Slot slot = free[--freeCount];
        slot.prepare(nextId++, serviceId, request, offset, length);
        final int index = slot.index();
        slotInFlight[index] = true;
        // The deadline is set by the first deadline check after submission, which reads the clock for every call
        // submitted since the last: no clock read per call.
        timeoutNs[index] = timeout;
        timeoutOfCall[index] = ofCall;
        deadlineNs[index] = UNSTAMPED;
        if (!sq.stage(slot))
        {
            // Cannot happen: the ring has as many entries as the pool has slots.
            throw new IllegalStateException("submission ring of client " + rings.clientId() + " is full");
        }
        inFlight++;
        return slot;
    }

    /**
     * Publishes every staged call: in MOVER mode with one release store of the submission ring's tail; in DIRECT
     * and BLOCKING mode by handing each to its server's ring (and, in BLOCKING, waking the server); in INLINE mode
     * by running each handler here, on the caller's thread.
     *
     * @return calls handed on by this flush; fewer than were staged when a server ring is full (the rest stay queued
     * in order).
     * @throws IllegalStateException after this client or the kernel closed (staged calls then complete with
     *                               {@link Status#CLOSED}: poll or await them), from a thread not the owner, or, in
     *                               INLINE mode, from a handler that this client's flush is running.
     */
    public int flush()
    {
        checkUsable();
        if (inlineService >= 0)
        {
            throw inlineReentry("flushed");
        }
        if (!kernel.isRunning())
        {
            throw new IllegalStateException("the kernel is " + kernel.stateName() + "; nothing can be published any "
                + "more. Staged calls complete with CLOSED: poll or await them");
        }
        return publish();
    }

    /** Flushes if the kernel runs; after close, staged calls are left for {@link #reclaim} to fail. */
    private int publish()
    {
        if (!kernel.isRunning())
        {
            return 0;
        }
        final int published = sq.publish();
        switch (mode)
        {
            case MOVER:
                if (published > 0)
                {
                    counters.onBatch(published);
                    moverSignal.wake();
                }
                return published;
            case INLINE:
                return runInline();
            default:
                return forward();
        }
    }

    private int forward()
    {
        int forwarded = 0;
        int available;
        heldBack = false;
        while (!heldBack && (available = sq.available()) > 0)
        {
            final int handed = forwarder.forward(sq, available);
            if (handed < available)
            {
                counters.onBackPressure();
                heldBack = true;
            }
            if (handed > 0)
            {
                sq.release(handed);
                forwarded += handed;
            }
        }
        if (forwarded > 0)
        {
            counters.onBatch(forwarded);
        }
        return forwarded;
    }

    private int runInline()
    {
        int ran = 0;
        int available;
        while ((available = sq.available()) > 0)
        {
            for (int i = 0; i < available; i++)
            {
                final Slot slot = sq.get(i);
                // A handler that calls back through this client would run this very call again: refused while set.
                inlineService = slot.serviceId();
                slot.serve(handlers[slot.serviceId()]);
                inlineService = -1;
                rings.complete(slot);
            }
            sq.release(available);
            ran += available;
        }
        if (ran > 0)
        {
            counters.onBatch(ran);
            counters.onCompletions(ran);
        }
        return ran;
    }

    /**
     * Hands up to {@code limit} completions to the handler, without waiting. Also sends on calls that a full server
     * ring held back at the last flush, and times out calls whose deadline passed.
     *
     * @param handler receives each completion; valid only during its callback.
     * @param limit   most completions to hand over, at least 1.
     * @return completions handed over.
     * @throws IllegalStateException after this client closed, after the kernel closed when no call is in flight
     *                               (none could ever complete), or from a thread not the owner.
     */
    public int poll(final CompletionHandler handler, final int limit)
    {
        checkUsable();
        Objects.requireNonNull(handler, "completion handler is null");
        if (limit <= 0)
        {
            throw new IllegalArgumentException("limit is " + limit + "; it must be at least 1");
        }
        if (userInFlight() == 0 && kernel.isTerminated())
        {
            throw new IllegalStateException("the kernel is closed and client " + rings.clientId() + " has no call in "
                + "flight: nothing will complete any more");
        }
        currentHandler = handler;
        try
        {
            return pollOnce(limit);
        }
        finally
        {
            currentHandler = null;
        }
    }

    private int pollOnce(final int limit)
    {
        if (heldBack && kernel.isRunning())
        {
            forward();
        }
        final long before = delivered;
        cq.drain(deliver, limit);
        if (inFlight > 0)
        {
            if (delivered == before && kernel.isTerminated())
            {
                reclaim(limit);
            }
            tick();
        }
        if (expiredCount > 0 && currentHandler != null && delivered - before < limit)
        {
            deliverExpired(limit - (int)(delivered - before));
        }
        return (int)(delivered - before);
    }

    /**
     * After the kernel terminated: hands over whatever its close swept into the completion ring, then fails with
     * {@link Status#CLOSED} every call left in this client's own submission ring, which no agent reads any more
     * (published or staged), and any call that a forward racing with the close left in a server's ring after the
     * kernel swept it. A call held by a server whose handler outlived the close comes back when that handler
     * returns, or times out first: it is never failed here, so it completes once.
     */
    private void reclaim(final int limit)
    {
        final long before = delivered;
        cq.drain(deliver, limit);
        if (!kernel.submissionsReclaimable(rings))
        {
            return;
        }
        if (mode != Mode.MOVER && delivered == before && inFlight - retired - abandoned > 0)
        {
            // A forward that raced with close may have landed in a server ring after the kernel swept it.
            kernel.sweepStranded();
            cq.drain(deliver, limit);
        }
        sq.publish();
        IllegalStateException closedBeforeRun = null;
        while (delivered - before < limit && sq.available() > 0)
        {
            final Slot slot = sq.get(0);
            sq.release(1);
            if (closedBeforeRun == null)
            {
                closedBeforeRun = new IllegalStateException("kernel closed before the call was handled");
            }
            slot.fail(Status.CLOSED, closedBeforeRun);
            deliver(slot);
        }
    }

    private void deliver(final Slot slot)
    {
        inFlight--;
        final int index = slot.index();
        final Object attachment = attachments[index];
        try
        {
            if (attachment == RETIRED)
            {
                retired--;
            }
            else if (attachment == null)
            {
                handlerCalls--;
                delivered++;
                final CompletionHandler handler = currentHandler;
                if (handler == null)
                {
                    throw new IllegalStateException("completion of call " + slot.id() + " arrived with no handler");
                }
                handler.onCompletion(slot);
            }
            else if (attachment == SYNC)
            {
                delivered++;
                takeSyncResult(slot);
            }
            else if (attachment == ABANDONED)
            {
                abandoned--;
                counters.onLateReply();
            }
            else
            {
                delivered++;
                final CallFuture future = (CallFuture)attachment;
                if (slot.status() == Status.OK)
                {
                    final byte[] payload = new byte[slot.length()];
                    slot.buffer().getBytes(0, payload);
                    future.complete(new Reply(slot.id(), payload));
                }
                else
                {
                    future.completeExceptionally(
                        new CallFailedException(slot.id(), slot.serviceId(), slot.status(), slot.failure()));
                }
            }
        }
        finally
        {
            slot.released();
            slotInFlight[index] = false;
            attachments[index] = null;
            free[freeCount++] = slot;
        }
    }

    private void takeSyncResult(final Slot slot)
    {
        syncDone = true;
        syncStatus = slot.status();
        syncFailure = slot.failure();
        syncLength = slot.length();
        if (syncStatus == Status.OK && syncReply != null)
        {
            if (syncLength > syncReply.capacity() - syncReplyOffset)
            {
                syncStatus = Status.FAILED;
                syncFailure = new IllegalArgumentException("reply of " + syncLength
                    + " bytes does not fit the reply buffer of " + syncReply.capacity()
                    + " bytes from offset " + syncReplyOffset);
            }
            else
            {
                syncReply.putBytes(syncReplyOffset, slot.buffer(), 0, syncLength);
            }
        }
    }

    // ---------------------------------------------------------------- deadlines

    /** Calls in flight as the application sees them: not retired, not timed out, timed out but not yet handed over. */
    private int userInFlight()
    {
        return inFlight - retired - abandoned + expiredCount;
    }

    /** Every {@value #CHECK_ROUNDS_MASK} + 1 polls or idle rounds with calls in flight: a deadline check, if due. */
    private void tick()
    {
        if ((++checkRounds & CHECK_ROUNDS_MASK) == 0)
        {
            checkDeadlines(false);
        }
    }

    /**
     * Sets the deadline of each call submitted since the last check (to now plus its timeout: never earlier than
     * its submission plus its timeout) and times out each call whose deadline passed and whose reply has not
     * arrived. Scans at most once per {@link #SCAN_INTERVAL_NS} unless forced (before a park, which costs far more).
     * Leaves in {@link #untilDeadlineNs} how long until the nearest deadline.
     *
     * @return calls timed out by this check.
     */
    private int checkDeadlines(final boolean force)
    {
        untilDeadlineNs = Long.MAX_VALUE;
        if (inFlight - retired - abandoned <= 0)
        {
            return 0;
        }
        final long now = System.nanoTime();
        if (!force && now - lastScanNs < SCAN_INTERVAL_NS)
        {
            return 0;
        }
        lastScanNs = now;
        final Slot[] slots = rings.slots();
        long nearest = Long.MAX_VALUE;
        int expired = 0;
        for (int i = 0; i < slots.length; i++)
        {
            final Object attachment = attachments[i];
            if (!slotInFlight[i] || attachment == RETIRED || attachment == ABANDONED)
            {
                continue;
            }
            final long deadline = deadlineNs[i];
            if (deadline == UNSTAMPED)
            {
                deadlineNs[i] = now + timeoutNs[i];
                nearest = Math.min(nearest, timeoutNs[i]);
            }
            else if (deadline - now > 0)
            {
                nearest = Math.min(nearest, deadline - now);
            }
            else if (slots[i].ended())
            {
                // Its reply is on the way back through the rings: it is delivered, not timed out.
                nearest = Math.min(nearest, SCAN_INTERVAL_NS);
            }
            else
            {
                expire(slots[i], attachment);
                expired++;
            }
        }
        untilDeadlineNs = nearest;
        return expired;
    }

    private void expire(final Slot slot, final Object attachment)
    {
        final int index = slot.index();
        // Read from the header the client wrote: a server writes only the length, the status and the payload.
        final long id = slot.id();
        final int serviceId = slot.serviceId();
        final long timeout = timeoutNs[index];
        final TimeoutException why = new TimeoutException("call " + id + " to service " + serviceId
            + " timed out after " + describe(timeout) + (timeoutOfCall[index] ? " (this call's timeout)"
            : " (the client's call timeout)") + "; its handler may still run: a late reply is dropped");
        attachments[index] = ABANDONED;
        abandoned++;
        counters.onTimeout();
        if (attachment == null)
        {
            queueExpired(id, serviceId, why);
        }
        else if (attachment == SYNC)
        {
            syncDone = true;
            syncStatus = Status.TIMED_OUT;
            syncFailure = why;
            syncLength = 0;
        }
        else
        {
            ((CallFuture)attachment).completeExceptionally(
                new CallFailedException(id, serviceId, Status.TIMED_OUT, why));
        }
    }

    private static String describe(final long nanos)
    {
        return nanos >= 1_000_000L ? (nanos / 1_000_000L) + " ms" : nanos + " ns";
    }

    /** Keeps the timed-out completions waiting for a handler in id order, the order the calls were submitted. */
    private void queueExpired(final long id, final int serviceId, final Throwable why)
    {
        int at = expiredCount;
        while (at > 0 && expiredIds[at - 1] > id)
        {
            expiredIds[at] = expiredIds[at - 1];
            expiredServices[at] = expiredServices[at - 1];
            expiredFailures[at] = expiredFailures[at - 1];
            at--;
        }
        expiredIds[at] = id;
        expiredServices[at] = serviceId;
        expiredFailures[at] = why;
        expiredCount++;
    }

    private void deliverExpired(final int limit)
    {
        for (int i = 0; i < limit && expiredCount > 0; i++)
        {
            // Taken off the queue before the callback, so a handler that throws cannot have it delivered twice.
            timedOut.id = expiredIds[0];
            timedOut.serviceId = expiredServices[0];
            timedOut.failure = expiredFailures[0];
            expiredCount--;
            System.arraycopy(expiredIds, 1, expiredIds, 0, expiredCount);
            System.arraycopy(expiredServices, 1, expiredServices, 0, expiredCount);
            System.arraycopy(expiredFailures, 1, expiredFailures, 0, expiredCount);
            expiredFailures[expiredCount] = null;
            handlerCalls--;
            delivered++;
            currentHandler.onCompletion(timedOut);
        }
        timedOut.failure = null;
    }

    /**
     * Before a park: checks deadlines now, so the park can end at the nearest one.
     *
     * @return how long to park at most, or 0 if a call just timed out and must be handed over instead.
     */
    private long parkBound(final long longest)
    {
        if (checkDeadlines(true) > 0 || expiredCount > 0)
        {
            return 0;
        }
        return Math.min(longest, untilDeadlineNs == Long.MAX_VALUE ? longest : untilDeadlineNs + 1);
    }

    // ---------------------------------------------------------------- waiting

    /**
     * Flushes staged calls, then waits, polling with the kernel's idle strategy (or parked, in BLOCKING mode), until
     * at least one completion has been handed to the handler. A call whose deadline passes meanwhile is handed over
     * with {@link Status#TIMED_OUT}.
     *
     * @param handler receives each completion.
     * @param limit   most completions to hand over, at least 1.
     * @return completions handed over, at least 1.
     * @throws IllegalStateException when no call is in flight, since none could ever complete; when every call in
     *                               flight is to the service whose server thread this is (a handler waiting for
     *                               itself); in INLINE mode, from a handler this client's flush is running; after this
     *                               client closed; from a thread not the owner.
     */
    public int await(final CompletionHandler handler, final int limit)
    {
        checkUsable();
        if (userInFlight() == 0)
        {
            throw new IllegalStateException("client " + rings.clientId() + " has no call in flight to await");
        }
        if (inlineService >= 0)
        {
            throw inlineReentry("awaited completions");
        }
        if (ownService >= 0 && !canCompleteWhileServing())
        {
            throw reentrant(ownService);
        }
        if (sq.staged() > 0)
        {
            publish();
        }
        idle.reset();
        int n;
        while ((n = poll(handler, limit)) == 0)
        {
            waitOnce();
        }
        idle.reset();
        return n;
    }

    /** On a server's own thread: whether some call in flight is to another service, so could complete. */
    private boolean canCompleteWhileServing()
    {
        if (expiredCount > 0)
        {
            return true;
        }
        final Slot[] slots = rings.slots();
        for (int i = 0; i < slots.length; i++)
        {
            final Object attachment = attachments[i];
            if (slotInFlight[i] && attachment != RETIRED && attachment != ABANDONED
                && slots[i].serviceId() != ownService)
            {
                return true;
            }
        }
        return false;
    }

    /**
     * Calls a service and waits for the reply, for at most the client's call timeout: submit, flush and wait in
     * one. Calls made with {@link #submit} must not be in flight (their completions need a handler); futures of
     * {@link #callAsync} may be.
     *
     * @param serviceId   the service.
     * @param request     the request bytes.
     * @param offset      where they start.
     * @param length      how many.
     * @param reply       where to copy the reply, from {@code replyOffset}.
     * @param replyOffset where in {@code reply} to put it.
     * @return the reply's length.
     * @throws CallFailedException   if the handler threw, the kernel closed before running the call, or the reply did
     *                               not arrive within the timeout ({@link Status#TIMED_OUT}).
     * @throws IllegalStateException if the call would wait for itself (see the class comment), after this client or
     *                               the kernel closed, or from a thread not the owner.
     */
    public int call(
        final int serviceId,
        final DirectBuffer request,
        final int offset,
        final int length,
        final MutableDirectBuffer reply,
        final int replyOffset)
    {
        return call(serviceId, request, offset, length, reply, replyOffset, callTimeoutNs, false);
    }

    /**
     * {@link #call(int, DirectBuffer, int, int, MutableDirectBuffer, int)} with this call's own timeout.
     *
     * @param serviceId   the service.
     * @param request     the request bytes.
     * @param offset      where they start.
     * @param length      how many.
     * @param reply       where to copy the reply, from {@code replyOffset}.
     * @param replyOffset where in {@code reply} to put it.
     * @param timeout     how long to wait for the reply; positive.
     * @return the reply's length.
     * @throws CallFailedException      as the call without a timeout does.
     * @throws IllegalArgumentException if {@code timeout} is zero or negative.
     * @throws IllegalStateException    as the call without a timeout does.
     */
    public int call(
        final int serviceId,
        final DirectBuffer request,
        final int offset,
        final int length,
        final MutableDirectBuffer reply,
        final int replyOffset,
        final Duration timeout)
    {
        return call(serviceId, request, offset, length, reply, replyOffset,
            timeoutNanos(checkTimeout(timeout, "timeout")), true);
    }

    private int call(
        final int serviceId,
        final DirectBuffer request,
        final int offset,
        final int length,
        final MutableDirectBuffer reply,
        final int replyOffset,
        final long timeout,
        final boolean ofCall)
    {
        checkOwner();
        if (ownService >= 0 && serviceId == ownService)
        {
            throw reentrant(serviceId);
        }
        if (inlineService >= 0)
        {
            throw inlineReentry("called service " + serviceId);
        }
        Objects.requireNonNull(reply, "reply buffer is null");
        checkNoHandlerCalls("call()");
        Slot slot = stage(serviceId, request, offset, length, timeout, ofCall);
        if (slot == null)
        {
            slot = stageAfterBackPressure(serviceId, request, offset, length, timeout, ofCall);
        }
        attachments[slot.index()] = SYNC;
        syncReply = reply;
        syncReplyOffset = replyOffset;
        syncDone = false;
        final long id = slot.id();
        publish();
        idle.reset();
        try
        {
            // Watch the call's own slot: its status is written just before the slot is posted back, so the reply is
            // seen one cache-line transfer earlier than through the completion ring. The slot itself is recycled
            // when its ring entry is consumed, by this or a later poll. Waiting checks the deadline.
            int rounds = 0;
            while (!syncDone)
            {
                if (slot.ended())
                {
                    takeSyncResult(slot);
                    attachments[slot.index()] = RETIRED;
                    retired++;
                }
                else if (((++rounds & 31) == 0 || heldBack || kernel.isTerminated()) && pollOnce(free.length) > 0)
                {
                    rounds = 0;
                }
                else
                {
                    waitOnce();
                }
            }
            if (retired + abandoned > 0)
            {
                cq.drain(deliver, free.length);
            }
        }
        finally
        {
            syncReply = null;
        }
        idle.reset();
        if (syncStatus != Status.OK)
        {
            throw new CallFailedException(id, serviceId, syncStatus, syncFailure);
        }
        return syncLength;
    }

    /** All slots are in flight: waits for one, for at most the call's timeout. */
    private Slot stageAfterBackPressure(
        final int serviceId,
        final DirectBuffer request,
        final int offset,
        final int length,
        final long timeout,
        final boolean ofCall)
    {
        final long startNs = System.nanoTime();
        Slot slot;
        while ((slot = stage(serviceId, request, offset, length, timeout, ofCall)) == null)
        {
            if (pollOnce(free.length) == 0)
            {
                if (System.nanoTime() - startNs - timeout >= 0)
                {
                    final long id = nextId++;
                    throw new CallFailedException(id, serviceId, Status.TIMED_OUT, new TimeoutException("call "
                        + id + " to service " + serviceId + " timed out after " + describe(timeout)
                        + (ofCall ? " (this call's timeout)" : " (the client's call timeout)") + " waiting for a "
                        + "free slot: all " + free.length + " slots of client " + rings.clientId() + " are in flight, "
                        + abandoned + " of them held by calls that timed out and whose handlers have not returned"));
                }
                waitOnce();
            }
        }
        return slot;
    }

    /**
     * Calls a service and returns a future of its reply, with the client's call timeout. Completions reach the
     * client when its thread polls: {@code get()} or {@code join()} on the owning thread polls until the future is
     * done; on another thread, the owner must keep polling (for example with {@link #await} or another future's
     * {@code join()}).
     *
     * @param serviceId the service.
     * @param request   the request bytes.
     * @return the reply's future; it fails with {@link CallFailedException} if the call fails or times out
     * ({@link Status#TIMED_OUT}), and with {@link RejectedExecutionException} at once if all slots are in flight.
     * @throws IllegalStateException after this client or the kernel closed, from a thread not the owner, or, in
     *                               INLINE mode, from a handler this client's flush is running.
     */
    public CompletableFuture<Reply> callAsync(final int serviceId, final byte[] request)
    {
        checkOwner();
        if (inlineService >= 0)
        {
            throw inlineReentry("called service " + serviceId);
        }
        Objects.requireNonNull(request, "request is null; use an empty array for a call without payload");
        wrapper.wrap(request);
        final Slot slot = stage(serviceId, wrapper, 0, request.length, callTimeoutNs, false);
        if (slot == null)
        {
            return CompletableFuture.failedFuture(new RejectedExecutionException("back-pressure: all " + free.length
                + " slots of client " + rings.clientId() + " are in flight; wait for some replies first"));
        }
        final CallFuture future = new CallFuture(this, serviceId);
        attachments[slot.index()] = future;
        publish();
        return future;
    }

    void pumpUntil(final CallFuture future, final long deadlineNs)
    {
        checkUsable();
        if (ownService >= 0 && future.serviceId() == ownService)
        {
            throw reentrant(ownService);
        }
        if (inlineService >= 0)
        {
            throw inlineReentry("waited for a future");
        }
        checkNoHandlerCalls("waiting on a future on the client's own thread");
        if (sq.staged() > 0)
        {
            publish();
        }
        idle.reset();
        while (!future.isDone() && System.nanoTime() - deadlineNs < 0)
        {
            if (pollOnce(free.length) == 0)
            {
                waitOnce();
            }
        }
        idle.reset();
    }

    private void waitOnce()
    {
        if (mode == Mode.BLOCKING)
        {
            // Parked until a server unparks this thread, bounded by the nearest deadline.
            final long parkNs = parkBound(heldBack ? 1_000_000L : MAX_BLOCKING_PARK_NS);
            if (parkNs > 0)
            {
                LockSupport.parkNanos(this, parkNs);
            }
            return;
        }
        if (adaptiveIdle != null && adaptiveIdle.parksNext())
        {
            // A park lasts at most the adaptive strategy's longest (10 ms): checking deadlines before each one bounds
            // how late a call times out, at no cost next to the park's.
            if (parkBound(Long.MAX_VALUE) == 0)
            {
                return;
            }
            // Announce the park, then look once more, so a completion posted just before the announcement is
            // not slept through.
            final WakeSignal signal = rings.wakeSignal();
            signal.sleeping();
            if (cq.relaxedPeek() != null)
            {
                signal.awake();
                return;
            }
        }
        else
        {
            tick();
        }
        idle.idle(0);
    }

    private void checkNoHandlerCalls(final String what)
    {
        if (handlerCalls > 0)
        {
            throw new IllegalStateException(handlerCalls + " calls made with submit() are in flight on client "
                + rings.clientId() + "; poll their completions with a CompletionHandler before " + what);
        }
    }

    private IllegalStateException reentrant(final int serviceId)
    {
        return new IllegalStateException("re-entrant call: the handler of service " + ownService + " called service "
            + serviceId + " of its own kernel from its server thread; it would wait for itself. Call another service, "
            + "submit without waiting, or hand the work to another thread");
    }

    private IllegalStateException inlineReentry(final String what)
    {
        return new IllegalStateException("re-entrant call: the handler of service " + inlineService + " " + what
            + " through the client that is running it (INLINE mode runs handlers inside the caller's flush); it "
            + "would run its own call again. Call through another client, submit without waiting, or hand the work "
            + "to another thread");
    }

    /**
     * @return calls submitted and not yet handed back to this client, staged ones included; 0 once it is closed.
     * @throws IllegalStateException from a thread not the owner.
     */
    public int inFlight()
    {
        checkOwner();
        return userInFlight();
    }

    /**
     * @return calls staged and not yet flushed; 0 once it is closed.
     * @throws IllegalStateException from a thread not the owner.
     */
    public int staged()
    {
        checkOwner();
        return sq.staged();
    }

    /**
     * @return slots free for new calls; a call that timed out holds its slot until its late reply is back.
     * @throws IllegalStateException from a thread not the owner.
     */
    public int freeSlots()
    {
        checkOwner();
        return freeCount;
    }

    /**
     * @return replies that arrived after their call had timed out, and were dropped. Any thread, also after close.
     */
    public long lateReplies()
    {
        return counters.lateReplies();
    }

    /**
     * @return this client's id within its kernel. Any thread, also after close.
     */
    public int id()
    {
        return rings.clientId();
    }

    /**
     * @return this client's counters, readable from any thread, also after close: calls handed to the kernel
     * (published to the mover, forwarded to servers, or run inline), batches, back-pressure events, calls timed out,
     * late replies dropped.
     */
    public AgentCounters counters()
    {
        return counters;
    }

    /**
     * @return the thread that owns this client. Any thread, also after close.
     */
    public Thread owner()
    {
        return rings.owner();
    }

    boolean isOwner()
    {
        return Thread.currentThread() == rings.owner();
    }

    ClientRings rings()
    {
        return rings;
    }

    /**
     * Detaches the client from its kernel. Calls that timed out need not be back: their slots are never reused, and a
     * late reply lands in a ring nobody reads. Idempotent.
     *
     * @throws IllegalStateException if calls are still in flight (poll their completions first), or from a thread
     *                               not the owner.
     */
    @Override
    public void close()
    {
        checkOwner();
        if (closed)
        {
            return;
        }
        if (userInFlight() > 0)
        {
            throw new IllegalStateException("client " + rings.clientId() + " has " + userInFlight()
                + " calls in flight; poll or await their completions before closing it");
        }
        // Recycles what is back already (replies of finished synchronous calls, late replies), counting the late ones.
        cq.drain(deliver, free.length);
        closed = true;
        kernel.detach(this);
    }

    private void checkOwner()
    {
        final Thread current = Thread.currentThread();
        if (current != rings.owner())
        {
            throw new IllegalStateException("client " + rings.clientId() + " belongs to thread '"
                + rings.owner().getName() + "' but was used from '" + current.getName()
                + "'; a client is single-threaded: call kernel.newClient() on each thread that makes calls");
        }
    }

    private void checkUsable()
    {
        checkOwner();
        if (closed)
        {
            throw new IllegalStateException("client " + rings.clientId() + " is closed; create a new one");
        }
    }

    private void checkOpen()
    {
        checkUsable();
        if (!kernel.isRunning())
        {
            throw new IllegalStateException("the kernel is " + kernel.stateName()
                + "; calls can no longer be submitted. Calls in flight still complete (OK or CLOSED): poll them");
        }
    }

    @Override
    public String toString()
    {
        return "Client{id=" + rings.clientId() + ", mode=" + mode + ", owner=" + rings.owner().getName() + "}";
    }

    /** The completion of a timed-out {@link #submit}ted call: a flyweight, valid during its callback. */
    private static final class TimedOut implements Completion
    {
        private static final DirectBuffer EMPTY = new UnsafeBuffer(new byte[0]);

        private long id;
        private int serviceId;
        private Throwable failure;

        @Override
        public long id()
        {
            return id;
        }

        @Override
        public int serviceId()
        {
            return serviceId;
        }

        @Override
        public Status status()
        {
            return Status.TIMED_OUT;
        }

        @Override
        public DirectBuffer buffer()
        {
            return EMPTY;
        }

        @Override
        public int length()
        {
            return 0;
        }

        @Override
        public Throwable failure()
        {
            return failure;
        }
    }
}
