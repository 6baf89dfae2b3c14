package dev.ferry;

import org.agrona.MutableDirectBuffer;

/**
 * A service: request in, reply out, in place. The request's bytes are {@code message[0, length)}; the handler
 * writes its reply into the same buffer from index 0 and returns the reply's length. Replying in the request's own
 * slot means a call moves one slot's cache lines to the server and the same lines back, as FlexSC's syscall entries
 * carry their return value.
 *
 * <p>Threading: in {@link Mode#DIRECT}, {@link Mode#MOVER} and {@link Mode#BLOCKING} a service's handler runs only
 * on its server's thread, one call at a time, in the order each client submitted its calls. In {@link Mode#INLINE}
 * it runs on each caller's thread, so concurrently when several clients call it: a handler used in that mode must
 * be thread-safe. The buffer belongs to the handler only for the duration of the call. Across processes
 * ({@code dev.ferry.ipc.IpcServer}) in DIRECT mode it is a view of the call's record in shared memory, the request
 * read and the reply written in place, with no copy either way: the bytes are the client's, checked for length
 * only, so a handler must not trust them more than any other input (a client could even change them meanwhile).
 *
 * <p>A handler that throws fails that one call: its caller gets a {@link Status#FAILED} completion carrying the
 * throwable, and the server goes on serving.
 */
@FunctionalInterface
public interface Handler
{
    /**
     * Handles one call.
     *
     * @param message the slot: the request in {@code [0, length)}, room for the reply in {@code [0, capacity())}.
     * @param length  the request's length in bytes.
     * @return the reply's length in bytes, from 0 to {@code message.capacity()}.
     * @throws Exception to fail this call only.
     */
    int onCall(MutableDirectBuffer message, int length) throws Exception;
}
