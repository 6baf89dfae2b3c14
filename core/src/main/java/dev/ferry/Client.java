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

import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
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
 * <p>Threading: a client belongs to the thread that created it with {@link Kernel#newClient()}; every method
 * throws {@link IllegalStateException} when called from another thread. Make one client per calling thread.
 */
public final class Client implements AutoCloseable
{
    /** What {@link #submit} returns when all of the client's slots are in flight. */
    public static final long BACK_PRESSURE = -1;

    private static final Object SYNC = new Object();
    /** A synchronous call whose reply was taken from its slot before the slot came back through the ring. */
    private static final Object RETIRED = new Object();

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

    private final Slot[] free;
    private final boolean[] slotInFlight;
    private final Object[] attachments;
    private int freeCount;
    private int inFlight;
    private int retired;
    private int handlerCalls;
    private boolean heldBack;
    private long nextId;
    private boolean closed;
    private CompletionHandler currentHandler;

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
        final WakeSignal moverSignal)
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
        this.counters = new AgentCounters("client-" + rings.clientId());
        this.counters.idleStrategy(idle);
        final Slot[] slots = rings.slots();
        this.free = new Slot[slots.length];
        this.slotInFlight = new boolean[slots.length];
        this.attachments = new Object[slots.length];
        for (int i = slots.length - 1; i >= 0; i--)
        {
            free[freeCount++] = slots[i];
        }
    }

    /**
     * Stages a call without publishing it. Nothing is allocated.
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
        final Slot slot = stage(serviceId, request, offset, length);
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
        Objects.requireNonNull(request, "request is null; use an empty array for a call without payload");
        wrapper.wrap(request);
        return submit(serviceId, wrapper, 0, request.length);
    }

    private Slot stage(final int serviceId, final DirectBuffer request, final int offset, final int length)
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
        slotInFlight[slot.index()] = true;
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
     * in order), 0 after the kernel closed (staged calls then complete with {@link Status#CLOSED}).
     */
    public int flush()
    {
        checkOwner();
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
                slot.serve(handlers[slot.serviceId()]);
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
     * ring held back at the last flush.
     *
     * @param handler receives each completion; valid only during its callback.
     * @param limit   most completions to hand over, at least 1.
     * @return completions handed over.
     */
    public int poll(final CompletionHandler handler, final int limit)
    {
        checkOwner();
        Objects.requireNonNull(handler, "completion handler is null");
        if (limit <= 0)
        {
            throw new IllegalArgumentException("limit is " + limit + "; it must be at least 1");
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
        int n = cq.drain(deliver, limit);
        if (n == 0 && inFlight > 0 && kernel.isTerminated())
        {
            n = reclaim(limit);
        }
        return n;
    }

    /**
     * After the kernel terminated: hands over whatever its close swept into the completion ring, then fails with
     * {@link Status#CLOSED} every call still in flight, which can only be in a ring no thread reads any more.
     */
    private int reclaim(final int limit)
    {
        int n = cq.drain(deliver, limit);
        final Slot[] slots = rings.slots();
        for (int i = 0; i < slots.length && n < limit; i++)
        {
            final Slot slot = slots[i];
            if (slotInFlight[i])
            {
                slot.fail(Status.CLOSED, new IllegalStateException("kernel closed before the call was handled"));
                deliver(slot);
                n++;
            }
        }
        return n;
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
                final CompletionHandler handler = currentHandler;
                if (handler == null)
                {
                    throw new IllegalStateException("completion of call " + slot.id() + " arrived with no handler");
                }
                handler.onCompletion(slot);
            }
            else if (attachment == SYNC)
            {
                takeSyncResult(slot);
            }
            else
            {
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

    /**
     * Flushes staged calls, then waits, polling with the kernel's idle strategy (or parked, in BLOCKING mode), until
     * at least one completion has been handed to the handler.
     *
     * @param handler receives each completion.
     * @param limit   most completions to hand over, at least 1.
     * @return completions handed over, at least 1.
     * @throws IllegalStateException when no call is in flight, since none could ever complete.
     */
    public int await(final CompletionHandler handler, final int limit)
    {
        checkOwner();
        if (inFlight - retired == 0)
        {
            throw new IllegalStateException("client " + rings.clientId() + " has no call in flight to await");
        }
        if (sq.staged() > 0)
        {
            flush();
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

    /**
     * Calls a service and waits for the reply: submit, flush and wait in one. Calls made with
     * {@link #submit} must not be in flight (their completions need a handler); futures of {@link #callAsync} may be.
     *
     * @param serviceId   the service.
     * @param request     the request bytes.
     * @param offset      where they start.
     * @param length      how many.
     * @param reply       where to copy the reply, from {@code replyOffset}.
     * @param replyOffset where in {@code reply} to put it.
     * @return the reply's length.
     * @throws CallFailedException if the handler threw, or the kernel closed before running the call.
     */
    public int call(
        final int serviceId,
        final DirectBuffer request,
        final int offset,
        final int length,
        final MutableDirectBuffer reply,
        final int replyOffset)
    {
        checkOwner();
        Objects.requireNonNull(reply, "reply buffer is null");
        checkNoHandlerCalls("call()");
        Slot slot;
        while ((slot = stage(serviceId, request, offset, length)) == null)
        {
            if (pollOnce(free.length) == 0)
            {
                waitOnce();
            }
        }
        attachments[slot.index()] = SYNC;
        syncReply = reply;
        syncReplyOffset = replyOffset;
        syncDone = false;
        final long id = slot.id();
        flush();
        idle.reset();
        try
        {
            // Watch the call's own slot: its status is written just before the slot is posted back, so the reply is
            // seen one cache-line transfer earlier than through the completion ring. The slot itself is recycled
            // when its ring entry is consumed, by this or a later poll.
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
            if (retired > 0)
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

    /**
     * Calls a service and returns a future of its reply. Completions reach the client when its thread polls:
     * {@code get()} or {@code join()} on the owning thread polls until the future is done; on another thread, the
     * owner must keep polling (for example with {@link #await} or another future's {@code join()}).
     *
     * @param serviceId the service.
     * @param request   the request bytes.
     * @return the reply's future; it fails with {@link CallFailedException} if the call fails, and with
     * {@link RejectedExecutionException} at once if all slots are in flight.
     */
    public CompletableFuture<Reply> callAsync(final int serviceId, final byte[] request)
    {
        Objects.requireNonNull(request, "request is null; use an empty array for a call without payload");
        wrapper.wrap(request);
        final Slot slot = stage(serviceId, wrapper, 0, request.length);
        if (slot == null)
        {
            return CompletableFuture.failedFuture(new RejectedExecutionException("back-pressure: all " + free.length
                + " slots of client " + rings.clientId() + " are in flight; wait for some replies first"));
        }
        final CallFuture future = new CallFuture(this);
        attachments[slot.index()] = future;
        flush();
        return future;
    }

    void pumpUntil(final CompletableFuture<?> future, final long deadlineNs)
    {
        checkNoHandlerCalls("waiting on a future on the client's own thread");
        if (sq.staged() > 0)
        {
            flush();
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
            if (heldBack)
            {
                LockSupport.parkNanos(this, 1_000_000L);
            }
            else
            {
                LockSupport.park(this);
            }
        }
        else
        {
            if (adaptiveIdle != null && adaptiveIdle.parksNext())
            {
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
            idle.idle(0);
        }
    }

    private void checkNoHandlerCalls(final String what)
    {
        if (handlerCalls > 0)
        {
            throw new IllegalStateException(handlerCalls + " calls made with submit() are in flight on client "
                + rings.clientId() + "; poll their completions with a CompletionHandler before " + what);
        }
    }

    /**
     * @return calls submitted and not yet handed back to this client, staged ones included.
     */
    public int inFlight()
    {
        checkOwner();
        return inFlight - retired;
    }

    /**
     * @return calls staged and not yet flushed.
     */
    public int staged()
    {
        checkOwner();
        return sq.staged();
    }

    /**
     * @return slots free for new calls.
     */
    public int freeSlots()
    {
        checkOwner();
        return freeCount;
    }

    /**
     * @return this client's id within its kernel.
     */
    public int id()
    {
        return rings.clientId();
    }

    /**
     * @return this client's counters, readable from any thread: calls handed to the kernel (published to the mover,
     * forwarded to servers, or run inline), batches, back-pressure events.
     */
    public AgentCounters counters()
    {
        return counters;
    }

    /**
     * @return the thread that owns this client.
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
     * Detaches the client from its kernel.
     *
     * @throws IllegalStateException if calls are still in flight: poll their completions first.
     */
    @Override
    public void close()
    {
        checkOwner();
        if (closed)
        {
            return;
        }
        if (inFlight - retired > 0)
        {
            throw new IllegalStateException("client " + rings.clientId() + " has " + (inFlight - retired)
                + " calls in flight; poll or await their completions before closing it");
        }
        while (retired > 0)
        {
            // Replies already taken from their slots: their ring entries are on the way; recycle them.
            if (pollOnce(free.length) == 0)
            {
                Thread.onSpinWait();
            }
        }
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

    private void checkOpen()
    {
        if (closed)
        {
            throw new IllegalStateException("client " + rings.clientId() + " is closed; create a new one");
        }
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
}
