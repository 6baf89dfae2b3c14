package dev.ferry;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A completion read from a call lane, reply lane or completion ring: a flyweight whose reply buffer is a view of the
 * ring itself.
 *
 * <p>Threading: valid on the client's owning thread during the callback that received it.
 */
final class LaneCompletion implements Completion
{
    private static final UnsafeBuffer EMPTY = new UnsafeBuffer(new byte[0]);

    final UnsafeBuffer view = new UnsafeBuffer(new byte[0]);
    long id;
    int serviceId;
    Status status;
    int length;
    Throwable failure;

    void ok(final long id, final int serviceId, final UnsafeBuffer ring, final int offset, final int length)
    {
        this.id = id;
        this.serviceId = serviceId;
        this.status = Status.OK;
        this.length = length;
        this.failure = null;
        view.wrap(ring, offset, length);
    }

    void failed(final long id, final int serviceId, final Status status, final Throwable failure)
    {
        this.id = id;
        this.serviceId = serviceId;
        this.status = status;
        this.length = 0;
        this.failure = failure;
        view.wrap(EMPTY);
    }

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
        return status;
    }

    @Override
    public DirectBuffer buffer()
    {
        return view;
    }

    @Override
    public int length()
    {
        return length;
    }

    @Override
    public Throwable failure()
    {
        return failure;
    }

    @Override
    public String toString()
    {
        return "Completion{id=" + id + ", service=" + serviceId + ", status=" + status + ", length=" + length
            + (failure == null ? "" : ", failure=" + failure.getMessage()) + "}";
    }
}
