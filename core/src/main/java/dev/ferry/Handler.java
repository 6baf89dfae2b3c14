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
 * be thread-safe. The buffer belongs to the handler only for the duration of the call. In DIRECT and BLOCKING mode
 * it is a view of the call's record in the kernel's lane, the request read and the reply written in place, with no
 * copy either way: across processes the bytes are the client's, checked for length only, so a handler must not trust
 * them more than any other input (a client could even change them meanwhile).
 *
 * <p>A handler that throws fails that one call: its caller gets a {@link Status#FAILED} completion carrying a
 * {@link RemoteFailureException} with the throwable's text (INLINE: the throwable itself), and the server goes on
 * serving. So does a handler that re-wraps its buffer (points it at other memory):
 * the reply must be written into the buffer it is given, which is put back on the call's slot before the next call.
 *
 * <p>A handler may call other services of its kernel (with a client made on its thread), but must not wait for
 * itself: calling, awaiting or joining its own service from its server thread, or, in {@link Mode#INLINE}, calling,
 * flushing or awaiting through the client whose flush is running it, throws {@link IllegalStateException} at once.
 * Submitting without waiting is allowed. A handler may outlive its call's deadline: the caller then has a
 * {@link Status#TIMED_OUT} completion and the reply is dropped; the buffer stays the handler's until it returns.
 * A handler that ignores interruption keeps its server thread alive past {@link Kernel#close()}, which reports it.
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
