package dev.ferry.ring;

import dev.ferry.Completion;
import dev.ferry.Handler;
import dev.ferry.Status;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One pre-allocated, recycled call: its request, later its reply in the same bytes, and its outcome. A client owns a
 * fixed pool of slots; a slot travels by reference through the rings and comes back to its client, so nothing is
 * allocated per call.
 *
 * <p>Layout: everything a call writes lives in one region of the client's cache-line-aligned slot memory, a
 * {@value #HEADER_BYTES}-byte header (id, service, length, status) followed by the payload, so a small call moves one
 * cache line to the server and the same line back; regions are {@value #ALIGNMENT}-byte aligned so neighbouring slots
 * never share a line (nor an adjacent-line prefetch pair). The {@code Slot} object itself is immutable after
 * construction except for the rare failure reference, so reading it costs no transfer.
 *
 * <p>Threading: a slot belongs to exactly one thread at a time, and ownership moves only through a ring's
 * release-publish and acquire-consume: the client fills it and publishes it, a mover may carry it, a server handles
 * it and publishes it back, and the client consumes it from its completion ring. Whoever holds it may read and write
 * it with plain accesses. Internal to Ferry: applications see slots only as {@link Completion}s.
 */
public final class Slot implements Completion
{
    /** Bytes of header before the payload: id (8), service id (4), length (4), status (4), reserved (12). */
    public static final int HEADER_BYTES = 32;
    /** Alignment and stride granule of slot regions: two cache lines, the adjacent-line prefetcher's unit. */
    public static final int ALIGNMENT = 128;

    private static final int ID_OFFSET = 0;
    private static final int SERVICE_OFFSET = 8;
    private static final int LENGTH_OFFSET = 12;
    private static final int STATUS_OFFSET = 16;
    private static final int NO_STATUS = -1;
    private static final Status[] STATUSES = Status.values();

    private final ClientRings client;
    private final int index;
    private final UnsafeBuffer header;
    private final UnsafeBuffer payload;
    private final UnsafeBuffer memory;
    private final int payloadOffset;
    private final int capacity;
    private final long payloadAddress;
    private Throwable failure;

    /**
     * @param client   the client whose pool holds the slot.
     * @param index    the slot's index in that pool.
     * @param memory   the pool's slot memory.
     * @param offset   where this slot's region starts in it, a multiple of {@link #ALIGNMENT} from an aligned base.
     * @param capacity payload bytes; the largest request or reply.
     */
    public Slot(
        final ClientRings client, final int index, final UnsafeBuffer memory, final int offset, final int capacity)
    {
        this.client = client;
        this.index = index;
        this.header = new UnsafeBuffer(memory, offset, HEADER_BYTES);
        this.payload = new UnsafeBuffer(memory, offset + HEADER_BYTES, capacity);
        this.memory = memory;
        this.payloadOffset = offset + HEADER_BYTES;
        this.capacity = capacity;
        this.payloadAddress = payload.addressOffset();
    }

    /**
     * @param capacity payload bytes per slot.
     * @return bytes between the starts of two neighbouring slot regions.
     */
    public static int stride(final int capacity)
    {
        return (HEADER_BYTES + capacity + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /**
     * Fills the slot for a new call. Client side.
     *
     * @param id        the call's id.
     * @param serviceId the target service.
     * @param src       the request bytes.
     * @param offset    where they start in {@code src}.
     * @param length    how many.
     */
    public void prepare(final long id, final int serviceId, final DirectBuffer src, final int offset, final int length)
    {
        header.putLong(ID_OFFSET, id);
        header.putInt(SERVICE_OFFSET, serviceId);
        header.putInt(LENGTH_OFFSET, length);
        header.putInt(STATUS_OFFSET, NO_STATUS);
        if (length > 0)
        {
            payload.putBytes(0, src, offset, length);
        }
    }

    /**
     * Runs a handler on this slot's request and records the outcome: the reply, or a failure that fails this call
     * only. A handler that re-wrapped its buffer (pointed it at other memory) fails its call, and the buffer is put
     * back on the slot's memory, so the next call in this slot reads and writes the slot, not the handler's memory.
     * Server side (or the caller's side in INLINE mode).
     *
     * @param handler the service's handler.
     */
    public void serve(final Handler handler)
    {
        final UnsafeBuffer payload = this.payload;
        Throwable thrown = null;
        int replyLength = 0;
        try
        {
            replyLength = handler.onCall(payload, header.getInt(LENGTH_OFFSET));
        }
        catch (final Throwable t)
        {
            thrown = t;
        }
        // Three field reads per call: cheaper than handing the handler a fresh view, and a re-wrap cannot outlive
        // the call that did it.
        final boolean rewrapped =
            payload.addressOffset() != payloadAddress || payload.capacity() != capacity || payload.byteArray() != null;
        if (rewrapped)
        {
            payload.wrap(memory, payloadOffset, capacity);
        }
        if (thrown != null)
        {
            fail(Status.FAILED, thrown);
        }
        else if (rewrapped)
        {
            fail(Status.FAILED, new IllegalStateException("handler of service " + serviceId()
                + " re-wrapped its buffer: write the reply into the buffer it is given"));
        }
        else if (replyLength < 0 || replyLength > capacity)
        {
            fail(Status.FAILED, new IllegalStateException("service " + serviceId() + " returned a reply length of "
                + replyLength + "; it must be between 0 and the slot size " + capacity));
        }
        else
        {
            header.putInt(LENGTH_OFFSET, replyLength);
            header.putIntRelease(STATUS_OFFSET, Status.OK.ordinal());
        }
    }

    /**
     * Ends the call without a reply.
     *
     * @param status  {@link Status#FAILED} or {@link Status#CLOSED}.
     * @param failure why.
     */
    public void fail(final Status status, final Throwable failure)
    {
        this.failure = failure;
        header.putInt(LENGTH_OFFSET, 0);
        header.putIntRelease(STATUS_OFFSET, status.ordinal());
    }

    /**
     * Whether the call has ended, read with acquire semantics: once true, the reply (or failure) written before the
     * status is visible. Lets a client that waits for one particular call watch its slot's line instead of its
     * completion ring. Client side.
     *
     * @return true once the server (or the kernel closing) recorded an outcome.
     */
    public boolean ended()
    {
        return header.getIntAcquire(STATUS_OFFSET) != NO_STATUS;
    }

    /**
     * @return the client this slot belongs to.
     */
    public ClientRings client()
    {
        return client;
    }

    /**
     * @return the slot's index in its client's pool.
     */
    public int index()
    {
        return index;
    }

    /**
     * @return the payload buffer, for the holder of the slot.
     */
    public MutableDirectBuffer message()
    {
        return payload;
    }

    /**
     * Client side only: forgets the last call's failure before the slot is reused.
     */
    public void released()
    {
        if (failure != null)
        {
            failure = null;
        }
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public long id()
    {
        return header.getLong(ID_OFFSET);
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public int serviceId()
    {
        return header.getInt(SERVICE_OFFSET);
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public Status status()
    {
        final int status = header.getInt(STATUS_OFFSET);
        return status == NO_STATUS ? null : STATUSES[status];
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public DirectBuffer buffer()
    {
        return payload;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public int length()
    {
        return header.getInt(LENGTH_OFFSET);
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public Throwable failure()
    {
        return failure;
    }

    @Override
    public String toString()
    {
        return "Slot{client=" + client.clientId() + ", index=" + index + ", id=" + id() + ", service=" + serviceId()
            + ", status=" + status() + "}";
    }
}
