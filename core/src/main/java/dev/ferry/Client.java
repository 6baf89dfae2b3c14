package dev.ferry;

import dev.ferry.idle.AdaptiveIdleStrategy;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.IdleStrategy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * A caller: the one interface to a kernel's services, whichever memory the kernel lives in. Get one from an
 * in-process kernel with {@link Kernel#newClient()}, or from a kernel in another process with {@link #attach(String)};
 * code that calls through it does not know which.
 *
 * <p>Asynchronous use, io_uring style: {@link #submit} stages a call (nothing is sent), {@link #flush()} publishes
 * every staged call at once (one release store per service lane), {@link #poll} or {@link #await} hands each
 * completion to a {@link CompletionHandler}, allocating nothing. Synchronous use: {@link #call} sends one request and
 * copies its reply out. Each call gets exactly one completion: OK with the reply; FAILED when its handler threw or
 * its server died or was replaced ({@link RemoteFailureException} carries the reason); CLOSED when the kernel
 * closed; TIMED_OUT when its deadline ({@link #callTimeout()}) passed, and the late reply is then dropped and counted.
 * A client's calls to one service are handled in the order it submitted them.
 *
 * <p>Threading: a client belongs to the thread that made it; every method except the counters throws
 * {@link IllegalStateException} from another thread. Make one client per calling thread. Every method except
 * {@link #close()} and the counters throws after close.
 */
public interface Client extends AutoCloseable
{
    /** What {@link #submit} returns when all of the client's slots are in flight. */
    long BACK_PRESSURE = -1;

    /** The deadline of every call unless {@link #callTimeout(Duration)} or {@code call(..., timeout)} says else. */
    Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(10);

    /**
     * Attaches to the kernel named {@code name} in shared memory ({@code /dev/shm/ferry-<user>/<name>}), waiting
     * between polls with an {@link AdaptiveIdleStrategy}.
     *
     * @param name the kernel's name, as given to {@link KernelBuilder#name(String)}.
     * @return the client, owned by the calling thread.
     * @throws IllegalStateException naming the cause when there is no running kernel of that name or it has no free
     *                               client entry.
     */
    static Client attach(final String name)
    {
        return attach(Mapping.defaultDirectory(name), new AdaptiveIdleStrategy());
    }

    /**
     * Attaches to the kernel whose mapping is in {@code directory}.
     *
     * @param directory the kernel's directory, as given to {@link KernelBuilder#directory(Path)}.
     * @param idle      how {@link #await} and {@link #call} wait between polls.
     * @return the client, owned by the calling thread.
     */
    static Client attach(final Path directory, final IdleStrategy idle)
    {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(idle, "idle strategy");
        AgronaAccess.check();
        return LaneClient.attach(Mapping.open(directory), idle, null);
    }

    /**
     * Stages a call without sending it: the request is copied, nothing is allocated.
     *
     * @param serviceId the service, from 0 to the kernel's services - 1.
     * @param request   the request bytes.
     * @param offset    where they start.
     * @param length    how many, at most the kernel's slot size.
     * @return the call's id (0, 1, 2, ...), or {@link #BACK_PRESSURE} when all slots are in flight.
     * @throws IllegalArgumentException for an unknown service, bytes outside {@code request}, or a request larger
     *                                  than a slot.
     */
    long submit(int serviceId, DirectBuffer request, int offset, int length);

    /**
     * {@link #submit(int, DirectBuffer, int, int)} of a whole array.
     *
     * @param serviceId the service.
     * @param request   the request bytes.
     * @return the call's id, or {@link #BACK_PRESSURE}.
     */
    long submit(int serviceId, byte[] request);

    /**
     * Publishes every staged call: one batch per service.
     *
     * @return calls sent; fewer than staged when a service's lane is full (the rest stay staged, in order).
     */
    int flush();

    /**
     * Hands up to {@code limit} completions to {@code handler}, without waiting.
     *
     * @param handler receives each completion, valid during its callback only.
     * @param limit   the most completions to hand over, at least 1.
     * @return completions handed over.
     */
    int poll(CompletionHandler handler, int limit);

    /**
     * Flushes, then polls until at least one completion was handed over, idling between polls.
     *
     * @param handler receives each completion.
     * @param limit   the most completions to hand over, at least 1.
     * @return completions handed over, at least 1.
     * @throws IllegalStateException when no call is in flight: none could ever complete.
     */
    int await(CompletionHandler handler, int limit);

    /**
     * Calls a service and waits for its reply, for at most {@link #callTimeout()}. Calls made with {@link #submit}
     * must not be in flight.
     *
     * @param serviceId   the service.
     * @param request     the request bytes.
     * @param offset      where they start.
     * @param length      how many.
     * @param reply       where to copy the reply.
     * @param replyOffset from where in {@code reply}.
     * @return the reply's length.
     * @throws CallFailedException   if the call did not end OK.
     * @throws IllegalStateException if the calling thread is the server of {@code serviceId} (it would wait for
     *                               itself).
     */
    int call(int serviceId, DirectBuffer request, int offset, int length, MutableDirectBuffer reply, int replyOffset);

    /**
     * {@link #call(int, DirectBuffer, int, int, MutableDirectBuffer, int)} with a deadline of its own.
     *
     * @param serviceId   the service.
     * @param request     the request bytes.
     * @param offset      where they start.
     * @param length      how many.
     * @param reply       where to copy the reply.
     * @param replyOffset from where in {@code reply}.
     * @param timeout     how long to wait, positive; then the call ends {@link Status#TIMED_OUT}.
     * @return the reply's length.
     */
    int call(
        int serviceId, DirectBuffer request, int offset, int length, MutableDirectBuffer reply, int replyOffset,
        Duration timeout);

    /**
     * Sets the deadline of calls submitted from now on. Deadlines are checked as the client polls: a call may end up
     * to a quarter of its timeout late (at most half the kernel's heartbeat interval, at least 200 µs), and a timeout
     * beyond a year counts as a year.
     *
     * @param timeout positive.
     * @return this client.
     */
    Client callTimeout(Duration timeout);

    /** @return the deadline given to each call. */
    Duration callTimeout();

    /** @return calls submitted and not yet handed to a completion handler (staged ones included). */
    int inFlight();

    /** @return calls submitted and not yet flushed. */
    int staged();

    /** @return calls that can still be submitted before {@link #BACK_PRESSURE}. */
    int freeSlots();

    /** @return replies that arrived after their call had ended (timed out, failed): dropped. */
    long lateReplies();

    /** @return calls that ended {@link Status#TIMED_OUT}. */
    long timedOutCalls();

    /** @return this client's index in its kernel's client table. */
    int id();

    /** @return the thread that owns this client. */
    Thread owner();

    /**
     * Closes: the client's entry is given back to its kernel. Idempotent; only the owner thread, or any thread once
     * the owner has died, may close.
     *
     * @throws IllegalStateException if calls are in flight (poll or await their completions first), or from a
     *                               handler that this client's flush is running.
     */
    @Override
    void close();
}
