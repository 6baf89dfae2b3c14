package dev.ferry;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.time.Duration;
import java.util.Objects;

/**
 * {@link Mode#INLINE}'s client: no lane and no other thread, each handler runs on the caller's thread inside
 * {@link #flush()} or {@link #call}, in the caller's slot (request in, reply written over it), as a monolithic
 * kernel's direct call. It is the baseline the other modes are measured against, and keeps their contract: the same
 * back-pressure at {@code maxInFlight} staged or unpolled calls, one completion per call, a handler that throws
 * fails its call only (the completion carries the very throwable: nothing crosses a process here), and a handler
 * that calls back into the client whose flush runs it is refused.
 *
 * <p>A handler runs to its end on the caller's thread, so a call cannot time out: its deadline would pass only
 * while the caller itself is busy in it. {@link #timedOutCalls()} and {@link #lateReplies()} stay 0.
 *
 * <p>Threading: owned by the thread that made it, as every {@link Client}. Handlers used in this mode run on each
 * caller's thread, concurrently when several clients call them.
 */
final class InlineClient implements Client
{
    private static final byte FREE = 0;
    private static final byte STAGED = 1;
    private static final byte DONE = 2;

    private final Kernel kernel;
    private final Handler[] handlers;
    private final int id;
    private final int slotBytes;
    private final int maxInFlight;
    private final Thread owner;
    private final UnsafeBuffer slots;
    private final Invocation[] invocations;
    private final UnsafeBuffer wrapper = new UnsafeBuffer(new byte[0]);
    private final LaneCompletion completion = new LaneCompletion();
    private final byte[] state;
    private final long[] ids;
    private final int[] services;
    private final int[] lengths;
    private final Status[] statuses;
    private final Throwable[] failures;
    // Calls in submission order: [head, head + staged) staged, then done ones awaiting a poll.
    private final int[] order;
    private int head;
    private int count;
    private int staged;
    private long nextId;
    private boolean running;
    private boolean closed;
    private Duration callTimeout = DEFAULT_CALL_TIMEOUT;

    InlineClient(
        final Kernel kernel, final Handler[] handlers, final int id, final int slotBytes, final int maxInFlight)
    {
        this.kernel = kernel;
        this.handlers = handlers;
        this.invocations = new Invocation[handlers.length];
        for (int s = 0; s < handlers.length; s++)
        {
            invocations[s] = handlers[s] == null ? null : new Invocation(handlers[s], s);
        }
        this.id = id;
        this.slotBytes = slotBytes;
        this.maxInFlight = maxInFlight;
        this.owner = Thread.currentThread();
        this.slots = new UnsafeBuffer(new byte[Math.max(1, slotBytes * (maxInFlight + 1))]);
        this.state = new byte[maxInFlight];
        this.ids = new long[maxInFlight];
        // One more than the slots: the last for call(), whose request runs in the spare slot past the others.
        this.services = new int[maxInFlight + 1];
        this.lengths = new int[maxInFlight + 1];
        this.statuses = new Status[maxInFlight + 1];
        this.failures = new Throwable[maxInFlight + 1];
        this.order = new int[maxInFlight];
    }

    @Override
    public long submit(final int serviceId, final DirectBuffer request, final int offset, final int length)
    {
        // Allowed from a handler this client is running (it waits for nothing): the flush running it runs it next.
        checkOpen();
        checkKernelOpen();
        checkRequest(serviceId, request, offset, length);
        if (count == maxInFlight)
        {
            return BACK_PRESSURE;
        }
        int slot = 0;
        while (state[slot] != FREE)
        {
            slot++;
        }
        state[slot] = STAGED;
        ids[slot] = nextId++;
        services[slot] = serviceId;
        lengths[slot] = length;
        slots.putBytes(slot * slotBytes, request, offset, length);
        order[(head + count) % maxInFlight] = slot;
        count++;
        staged++;
        return ids[slot];
    }

    @Override
    public long submit(final int serviceId, final byte[] request)
    {
        Objects.requireNonNull(request, "request is null");
        wrapper.wrap(request);
        return submit(serviceId, wrapper, 0, request.length);
    }

    @Override
    public int flush()
    {
        check();
        int n = 0;
        // The staged calls are the last `staged` of the queue.
        for (int i = count - staged; i < count; i++)
        {
            final int slot = order[(head + i) % maxInFlight];
            run(slot, slot * slotBytes);
            state[slot] = DONE;
            n++;
        }
        staged = 0;
        return n;
    }

    /** Runs a call's handler in place at {@code at} of the slots; records its outcome. */
    private void run(final int slot, final int at)
    {
        final int service = services[slot];
        if (kernel.isClosed())
        {
            fail(slot, Status.CLOSED, new RemoteFailureException("the kernel closed before the call ran"));
            return;
        }
        running = true;
        final int reply;
        try
        {
            reply = invocations[service].run(slots, at, slotBytes, lengths[slot]);
        }
        finally
        {
            running = false;
        }
        if (reply >= 0)
        {
            statuses[slot] = Status.OK;
            failures[slot] = null;
            lengths[slot] = reply;
            return;
        }
        final Invocation failed = invocations[service];
        fail(slot, Status.FAILED, failed.thrown != null ? failed.thrown : new RemoteFailureException(failed.failure));
    }

    private void fail(final int slot, final Status status, final Throwable why)
    {
        statuses[slot] = status;
        failures[slot] = why;
        lengths[slot] = 0;
    }

    @Override
    public int poll(final CompletionHandler handler, final int limit)
    {
        check();
        Objects.requireNonNull(handler, "handler is null");
        if (limit < 1)
        {
            throw new IllegalArgumentException("limit " + limit + " must be at least 1");
        }
        int n = 0;
        while (n < limit && count > staged)
        {
            final int slot = order[head];
            head = (head + 1) % maxInFlight;
            count--;
            if (statuses[slot] == Status.OK)
            {
                completion.ok(ids[slot], services[slot], slots, slot * slotBytes, lengths[slot]);
            }
            else
            {
                completion.failed(ids[slot], services[slot], statuses[slot], failures[slot]);
            }
            state[slot] = FREE;
            failures[slot] = null;
            n++;
            handler.onCompletion(completion);
        }
        return n;
    }

    @Override
    public int await(final CompletionHandler handler, final int limit)
    {
        check();
        if (count == 0)
        {
            throw new IllegalStateException("client " + id + " has no call in flight to await");
        }
        flush();
        return poll(handler, limit);
    }

    @Override
    public int call(
        final int serviceId, final DirectBuffer request, final int offset, final int length,
        final MutableDirectBuffer reply, final int replyOffset)
    {
        check();
        checkKernelOpen();
        checkRequest(serviceId, request, offset, length);
        Objects.requireNonNull(reply, "reply buffer is null");
        if (count > 0)
        {
            throw new IllegalStateException(count + " calls made with submit() are in flight on client " + id
                + "; poll their completions with a CompletionHandler before call()");
        }
        // The spare slot past the others: the request copied in, the handler run in place, the reply copied out.
        // Its own bookkeeping too, apart from the slots a handler may submit into meanwhile.
        final int slot = maxInFlight;
        final int at = maxInFlight * slotBytes;
        slots.putBytes(at, request, offset, length);
        final long callId = nextId++;
        services[slot] = serviceId;
        lengths[slot] = length;
        run(slot, at);
        final Status status = statuses[slot];
        final Throwable failure = failures[slot];
        failures[slot] = null;
        if (status != Status.OK)
        {
            throw new CallFailedException(callId, serviceId, status, failure);
        }
        reply.putBytes(replyOffset, slots, at, lengths[slot]);
        return lengths[slot];
    }

    @Override
    public int call(
        final int serviceId, final DirectBuffer request, final int offset, final int length,
        final MutableDirectBuffer reply, final int replyOffset, final Duration timeout)
    {
        CallBook.checkTimeout(timeout);
        return call(serviceId, request, offset, length, reply, replyOffset);
    }

    private void checkRequest(final int serviceId, final DirectBuffer request, final int offset, final int length)
    {
        CallBook.checkRequest(serviceId, handlers.length, request, offset, length, slotBytes);
        if (handlers[serviceId] == null)
        {
            throw new IllegalArgumentException("no service " + serviceId + "; this kernel serves "
                + Kernel.describe(handlers));
        }
    }

    /** New calls are refused once the kernel closed, as a lane client refuses them; calls made before complete. */
    private void checkKernelOpen()
    {
        if (kernel.isClosed())
        {
            throw new IllegalStateException("the kernel is closed; calls can no longer be submitted. Calls in flight "
                + "still complete (CLOSED): poll them");
        }
    }

    private void check()
    {
        checkOpen();
        if (running)
        {
            throw new IllegalStateException("a handler called back into client " + id + ", whose flush or call is "
                + "running it (INLINE mode): it would wait for itself; make another client for calls from a handler");
        }
    }

    private void checkOpen()
    {
        if (Thread.currentThread() != owner)
        {
            throw new IllegalStateException("client " + id + " belongs to " + owner.getName() + ", not "
                + Thread.currentThread().getName() + "; make one client per calling thread");
        }
        if (closed)
        {
            throw new IllegalStateException("client " + id + " is closed; make a new one with Kernel.newClient()");
        }
    }

    @Override
    public Client callTimeout(final Duration timeout)
    {
        check();
        CallBook.checkTimeout(timeout);
        this.callTimeout = timeout;
        return this;
    }

    @Override
    public Duration callTimeout()
    {
        return callTimeout;
    }

    @Override
    public int inFlight()
    {
        return count;
    }

    @Override
    public int staged()
    {
        return staged;
    }

    @Override
    public int freeSlots()
    {
        return maxInFlight - count;
    }

    @Override
    public long lateReplies()
    {
        return 0;
    }

    @Override
    public long timedOutCalls()
    {
        return 0;
    }

    @Override
    public int id()
    {
        return id;
    }

    @Override
    public Thread owner()
    {
        return owner;
    }

    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        if (Thread.currentThread() != owner && owner.isAlive())
        {
            throw new IllegalStateException("client " + id + " belongs to " + owner.getName()
                + "; close it from that thread");
        }
        if (running)
        {
            throw new IllegalStateException("a handler tried to close client " + id + ", whose flush is running it");
        }
        if (count > 0 && owner.isAlive())
        {
            throw new IllegalStateException("client " + id + " has " + count
                + " calls in flight; poll or await their completions before closing it");
        }
        closed = true;
        kernel.released(this);
    }

    @Override
    public String toString()
    {
        return "InlineClient{id=" + id + ", inFlight=" + count + "}";
    }
}
