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
 * <p>Threading: a slot belongs to exactly one thread at a time, and ownership moves only through a ring's
 * release-publish and acquire-consume: the client fills it and publishes it, a mover may carry it, a server handles
 * it and publishes it back, and the client consumes it from its completion ring. Whoever holds it may read and write
 * it with plain accesses. The {@code clientState}/attachment fields are only ever touched by the owning client.
 * Internal to Ferry: applications see slots only as {@link Completion}s.
 */
public final class Slot implements Completion
{
    /** Bytes kept free on each side of a slot's payload so neighbouring slots do not share cache lines. */
    public static final int PAD = 64;

    private final ClientRings client;
    private final int index;
    private final UnsafeBuffer buffer;

    private long id;
    private int serviceId;
    private int length;
    private Status status;
    private Throwable failure;

    private boolean inFlight;
    private Object attachment;

    /**
     * @param client   the client whose pool holds the slot.
     * @param index    the slot's index in that pool.
     * @param capacity payload bytes; the largest request or reply.
     */
    public Slot(final ClientRings client, final int index, final int capacity)
    {
        this.client = client;
        this.index = index;
        this.buffer = new UnsafeBuffer(new byte[capacity + 2 * PAD], PAD, capacity);
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
        this.id = id;
        this.serviceId = serviceId;
        this.length = length;
        this.status = null;
        this.failure = null;
        this.inFlight = true;
        if (length > 0)
        {
            buffer.putBytes(0, src, offset, length);
        }
    }

    /**
     * Runs a handler on this slot's request and records the outcome: the reply, or a failure that fails this call
     * only. Server side (or the caller's side in INLINE mode).
     *
     * @param handler the service's handler.
     */
    public void serve(final Handler handler)
    {
        try
        {
            final int replyLength = handler.onCall(buffer, length);
            if (replyLength < 0 || replyLength > buffer.capacity())
            {
                fail(Status.FAILED, new IllegalStateException("service " + serviceId + " returned a reply length of "
                    + replyLength + "; it must be between 0 and the slot size " + buffer.capacity()));
            }
            else
            {
                length = replyLength;
                status = Status.OK;
            }
        }
        catch (final Throwable t)
        {
            fail(Status.FAILED, t);
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
        this.status = status;
        this.failure = failure;
        this.length = 0;
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
        return buffer;
    }

    /**
     * Client side only.
     *
     * @return whether the client has submitted this slot and not yet received its completion.
     */
    public boolean inFlight()
    {
        return inFlight;
    }

    /**
     * Client side only: marks the slot free again.
     */
    public void released()
    {
        inFlight = false;
        attachment = null;
        failure = null;
    }

    /**
     * Client side only.
     *
     * @return what the client attached to this call, such as a future; null if nothing.
     */
    public Object attachment()
    {
        return attachment;
    }

    /**
     * Client side only.
     *
     * @param attachment what to attach to this call.
     */
    public void attachment(final Object attachment)
    {
        this.attachment = attachment;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public long id()
    {
        return id;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public int serviceId()
    {
        return serviceId;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public Status status()
    {
        return status;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public DirectBuffer buffer()
    {
        return buffer;
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public int length()
    {
        return length;
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
        return "Slot{client=" + client.clientId() + ", index=" + index + ", id=" + id + ", service=" + serviceId
            + ", status=" + status + "}";
    }
}
