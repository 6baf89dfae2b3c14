package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * Runs a service's {@link Handler} on one call: the one place Ferry does, for its servers in both protocols and for
 * INLINE clients. The handler gets a buffer over the call's slot, the request in {@code [0, length)}, writes its
 * reply into that same buffer from index 0 and returns the reply's length. A handler that throws, returns a length
 * outside the slot or re-wraps its buffer (points it at other memory, where the reply would be lost) fails that call
 * only; {@link #failure} then says which, and {@link #thrown} holds what it threw.
 *
 * <p>Threading: the one thread that runs the handler (a server's agent, an INLINE client's owner).
 */
final class Invocation
{
    private final Handler handler;
    private final int service;
    private final UnsafeBuffer view = new UnsafeBuffer(0, 0);
    /** Why the last call failed, or null. */
    String failure;
    /** What the handler threw in the last call, or null. */
    Throwable thrown;

    Invocation(final Handler handler, final int service)
    {
        this.handler = handler;
        this.service = service;
    }

    /**
     * Runs the handler on the slot {@code memory[at, at + room)}.
     *
     * @param length the request's length, at most {@code room}.
     * @return the reply's length, or -1 when the call failed ({@link #failure}).
     */
    int run(final UnsafeBuffer memory, final int at, final int room, final int length)
    {
        view.wrap(memory, at, room);
        failure = null;
        thrown = null;
        try
        {
            final int reply = handler.onCall(view, length);
            if (view.addressOffset() != memory.addressOffset() + at || view.byteArray() != memory.byteArray()
                || view.capacity() != room)
            {
                failure = "handler of service " + service + " re-wrapped its buffer: write the reply into the buffer "
                    + "it is given";
                return -1;
            }
            if (reply < 0 || reply > room)
            {
                failure = "handler of service " + service + " returned reply length " + reply + ", outside 0-" + room;
                return -1;
            }
            return reply;
        }
        catch (final Throwable t)
        {
            thrown = t;
            failure = "handler of service " + service + " threw " + t;
            return -1;
        }
    }
}
