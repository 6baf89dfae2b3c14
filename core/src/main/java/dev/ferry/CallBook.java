package dev.ferry;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

import java.time.Duration;
import java.util.Objects;

/**
 * A lane client's book of its calls, whatever the protocol that carries them: the slots (one per call in flight),
 * the order of the staged calls and, per service, of the calls in flight (a server answers each client in order, so
 * a reply for a later call means the earlier ones were lost), the deadlines, the calls failed locally, and the
 * hand-over of each completion: to the {@link CompletionHandler} of the poll in progress, or to the synchronous
 * {@link Client#call} waiting for it. Nothing is allocated on the success path.
 *
 * <p>Threading: the client's owner thread only.
 */
final class CallBook
{
    /** A slot's deadline not yet fixed: the next deadline sweep fixes it (a call submitted by then). */
    static final long NO_DEADLINE = Long.MIN_VALUE;
    static final byte FREE = 0;
    static final byte STAGED = 1;
    static final byte IN_FLIGHT = 2;
    static final byte FAILING = 3;
    private static final Status[] STATUSES = {Status.OK, Status.FAILED, Status.CLOSED};

    final int slotBytes;
    final int maxInFlight;
    final int maxServices;

    // Per slot.
    final byte[] state;
    final long[] callIds;
    final int[] services;
    final int[] serverGenerations;
    final long[] sentPositions;
    final int[] stagedLengths;
    final long[] deadlines;
    final long[] timeoutsNs;
    final UnsafeBuffer staging;
    private final boolean[] sync;
    private final Status[] failStatus;
    private final Throwable[] failures;
    private final int[] freeSlots;
    private int freeCount;

    // Staged calls in submission order, and calls failed locally awaiting delivery.
    private final int[] stagedQueue;
    private int stagedHead;
    int stagedCount;
    private final int[] failingQueue;
    private int failingHead;
    private int failingCount;

    // Per service: calls in flight in submission order (slot and call id); the services with calls in flight.
    private final int[][] fifoSlots;
    private final long[][] fifoIds;
    private final int[] fifoHead;
    final int[] fifoCount;
    final int[] activeServices;
    private final boolean[] active;
    int activeCount;

    final LaneCompletion completion = new LaneCompletion();
    long nextId;
    long delivered;
    int inFlight;
    int handlerCalls;
    long lateReplies;
    long corruptRecords;
    long timedOut;
    /** The deadline of calls submitted from now on, in ns; how often deadlines are swept, and when next. */
    long callTimeoutNs;
    private final long checkIntervalNs;
    private long sweepIntervalNs;
    private long nextSweepNs;
    CompletionHandler currentHandler;

    // The call() in progress: its outcome, and where its reply goes.
    boolean syncDone;
    Status syncStatus;
    Throwable syncFailure;
    int syncLength;
    MutableDirectBuffer syncReply;
    int syncReplyOffset;

    CallBook(final int slotBytes, final int maxInFlight, final int maxServices, final long checkIntervalNs)
    {
        this.checkIntervalNs = checkIntervalNs;
        callTimeout(Client.DEFAULT_CALL_TIMEOUT.toNanos());
        this.slotBytes = slotBytes;
        this.maxInFlight = maxInFlight;
        this.maxServices = maxServices;
        this.state = new byte[maxInFlight];
        this.callIds = new long[maxInFlight];
        this.services = new int[maxInFlight];
        this.serverGenerations = new int[maxInFlight];
        this.sentPositions = new long[maxInFlight];
        this.sync = new boolean[maxInFlight];
        this.staging = new UnsafeBuffer(new byte[Math.max(1, maxInFlight * slotBytes)]);
        this.stagedLengths = new int[maxInFlight];
        this.failStatus = new Status[maxInFlight];
        this.failures = new Throwable[maxInFlight];
        this.deadlines = new long[maxInFlight];
        this.timeoutsNs = new long[maxInFlight];
        this.freeSlots = new int[maxInFlight];
        for (int i = maxInFlight - 1; i >= 0; i--)
        {
            freeSlots[freeCount++] = i;
        }
        this.stagedQueue = new int[maxInFlight];
        this.failingQueue = new int[maxInFlight];
        this.fifoSlots = new int[maxServices][maxInFlight];
        this.fifoIds = new long[maxServices][maxInFlight];
        this.fifoHead = new int[maxServices];
        this.fifoCount = new int[maxServices];
        this.activeServices = new int[maxServices];
        this.active = new boolean[maxServices];
    }

    /**
     * The one check of a call's arguments, for every client.
     *
     * @throws IllegalArgumentException for an unknown service, bytes outside {@code request}, or a request larger
     *                                  than a slot.
     */
    static void checkRequest(
        final int serviceId, final int services, final DirectBuffer request, final int offset, final int length,
        final int slotBytes)
    {
        if (serviceId < 0 || serviceId >= services)
        {
            throw new IllegalArgumentException("unknown service id " + serviceId + "; the kernel has services 0-"
                + (services - 1));
        }
        Objects.requireNonNull(request, "request buffer is null; pass an empty buffer for a call without payload");
        if (offset < 0 || length < 0 || (long)offset + length > request.capacity())
        {
            throw new IllegalArgumentException("request bytes [" + offset + ", " + ((long)offset + length)
                + ") fall outside the request buffer of capacity " + request.capacity());
        }
        if (length > slotBytes)
        {
            throw new IllegalArgumentException("request of " + length + " bytes exceeds the kernel's slot size of "
                + slotBytes + " bytes; build the Kernel with slotBytes(" + length + ") or more");
        }
    }

    /** @return slots free for new calls. */
    int freeCount()
    {
        return freeCount;
    }

    /** Takes a free slot for a call and queues it staged (the caller puts the request). @return it, or -1 if none. */
    int stage(final int service, final int length, final long timeoutNs, final boolean sync)
    {
        if (freeCount == 0)
        {
            return -1;
        }
        final int slot = freeSlots[--freeCount];
        state[slot] = STAGED;
        callIds[slot] = nextId++;
        services[slot] = service;
        this.sync[slot] = sync;
        stagedLengths[slot] = length;
        deadlines[slot] = NO_DEADLINE;
        timeoutsNs[slot] = timeoutNs;
        stagedQueue[wrap(stagedHead + stagedCount++)] = slot;
        inFlight++;
        return slot;
    }

    /** @return the oldest staged call's slot; there is one. */
    int firstStaged()
    {
        return stagedQueue[stagedHead];
    }

    /** The oldest staged call left the staged queue (sent, or failed). */
    void unstage()
    {
        stagedHead = wrap(stagedHead + 1);
        stagedCount--;
    }

    /** The oldest staged call was written into its lane at producer position {@code position}. */
    void sent(final int slot, final long position, final int serverGeneration)
    {
        final int service = services[slot];
        sentPositions[slot] = position;
        state[slot] = IN_FLIGHT;
        serverGenerations[slot] = serverGeneration;
        final int at = wrap(fifoHead[service] + fifoCount[service]++);
        fifoSlots[service][at] = slot;
        fifoIds[service][at] = callIds[slot];
        activate(service);
    }

    /** Puts {@code service} on the list of services whose lanes a poll reads. */
    void activate(final int service)
    {
        if (!active[service])
        {
            active[service] = true;
            activeServices[activeCount++] = service;
        }
    }

    /** Takes the {@code i}th active service off the list if it has no call in flight. @return whether it did. */
    boolean deactivateIfIdle(final int i)
    {
        final int s = activeServices[i];
        if (fifoCount[s] != 0)
        {
            return false;
        }
        active[s] = false;
        activeServices[i] = activeServices[--activeCount];
        return true;
    }

    /** An index of the per-slot queues, {@code i} below {@code 2 * maxInFlight}, wrapped without a division. */
    int wrap(final int i)
    {
        return i < maxInFlight ? i : i - maxInFlight;
    }

    /** Ends a call locally with {@code status}: handed over by the next poll. */
    void fail(final int slot, final Status status, final String why)
    {
        state[slot] = FAILING;
        failStatus[slot] = status;
        failures[slot] = new RemoteFailureException(why);
        failingQueue[wrap(failingHead + failingCount++)] = slot;
    }

    /** Fails every staged call with {@code status}. */
    void failStaged(final Status status, final String why)
    {
        while (stagedCount > 0)
        {
            final int slot = firstStaged();
            unstage();
            fail(slot, status, why);
        }
    }

    /** @return the timeout in ns, saturated at a year: a deadline beyond any run must not overflow nanoTime sums. */
    static long checkTimeout(final Duration timeout)
    {
        Objects.requireNonNull(timeout, "timeout is null");
        if (timeout.isNegative() || timeout.isZero())
        {
            throw new IllegalArgumentException("call timeout " + timeout + " must be positive");
        }
        return timeout.compareTo(Duration.ofDays(365)) > 0 ? Duration.ofDays(365).toNanos() : timeout.toNanos();
    }

    /** Sets the deadline of calls submitted from now on; deadlines are swept within an eighth of it. */
    void callTimeout(final long timeoutNs)
    {
        callTimeoutNs = timeoutNs;
        sweepIntervalNs = Math.max(100_000L, Math.min(checkIntervalNs, timeoutNs / 8));
    }

    /** @return true, once per sweep interval, when the deadlines are due for a sweep. */
    boolean sweepDue(final long now)
    {
        if (now - nextSweepNs < 0)
        {
            return false;
        }
        nextSweepNs = now + sweepIntervalNs;
        return true;
    }

    /**
     * Fixes the deadline of every call submitted since the last sweep (the sweep stands in for the clock at submit,
     * which the hot path does not read: a call's deadline is fixed at most one sweep interval after its submit) and
     * times out every call whose deadline has passed.
     */
    void sweepDeadlines(final long now)
    {
        for (int slot = 0; slot < maxInFlight; slot++)
        {
            final byte st = state[slot];
            if (st == STAGED || st == IN_FLIGHT)
            {
                final long deadline = deadlines[slot];
                if (deadline == NO_DEADLINE)
                {
                    deadlines[slot] = now + timeoutsNs[slot];
                }
                else if (now - deadline >= 0)
                {
                    timeOut(slot);
                }
            }
        }
    }

    /**
     * Ends a staged or in-flight call TIMED_OUT. Its record may stay in the lane: the slot is reused at once, and
     * the reply, if it comes, is dropped as late (its call id no longer matches the slot's).
     */
    void timeOut(final int slot)
    {
        final long id = callIds[slot];
        final int service = services[slot];
        if (state[slot] == STAGED)
        {
            removeStaged(slot);
        }
        else
        {
            removeInFlight(service, slot, id);
        }
        timedOut++;
        fail(slot, Status.TIMED_OUT, "call " + id + " to service " + service + " timed out after "
            + timeoutsNs[slot] / 1_000_000 + " ms (its deadline) before its reply arrived; its handler may still "
            + "run or have run: a late reply is dropped");
    }

    private void removeStaged(final int slot)
    {
        int kept = 0;
        for (int i = 0; i < stagedCount; i++)
        {
            final int s = stagedQueue[wrap(stagedHead + i)];
            if (s != slot)
            {
                stagedQueue[wrap(stagedHead + kept++)] = s;
            }
        }
        stagedCount = kept;
    }

    private void removeInFlight(final int service, final int slot, final long id)
    {
        final int count = fifoCount[service];
        int kept = 0;
        for (int i = 0; i < count; i++)
        {
            final int from = wrap(fifoHead[service] + i);
            final int s = fifoSlots[service][from];
            final long sid = fifoIds[service][from];
            if (s != slot || sid != id)
            {
                final int to = wrap(fifoHead[service] + kept++);
                fifoSlots[service][to] = s;
                fifoIds[service][to] = sid;
            }
        }
        fifoCount[service] = kept;
    }

    /** Hands over up to {@code limit} calls failed locally. @return how many. */
    int deliverFailing(final int limit)
    {
        int n = 0;
        while (failingCount > 0 && n < limit)
        {
            final int slot = failingQueue[failingHead];
            failingHead = wrap(failingHead + 1);
            failingCount--;
            completion.failed(callIds[slot], services[slot], failStatus[slot], failures[slot]);
            failures[slot] = null;
            deliver(slot);
            n++;
        }
        return n;
    }

    /** Frees a call's slot and hands its completion (already in {@link #completion}) to whoever waits for it. */
    private void deliver(final int slot)
    {
        delivered++;
        inFlight--;
        state[slot] = FREE;
        freeSlots[freeCount++] = slot;
        if (sync[slot])
        {
            sync[slot] = false;
            syncDone = true;
            syncStatus = completion.status;
            syncFailure = completion.failure;
            syncLength = completion.length;
            if (syncStatus == Status.OK && syncReply != null)
            {
                if (syncLength > syncReply.capacity() - syncReplyOffset)
                {
                    syncStatus = Status.FAILED;
                    syncFailure = new IllegalArgumentException("reply of " + syncLength
                        + " bytes does not fit the reply buffer of " + syncReply.capacity() + " bytes from offset "
                        + syncReplyOffset);
                }
                else
                {
                    syncReply.putBytes(syncReplyOffset, completion.view, 0, syncLength);
                }
            }
            return;
        }
        handlerCalls--;
        final CompletionHandler handler = currentHandler;
        if (handler == null)
        {
            throw new IllegalStateException("completion of call " + completion.id + " arrived with no handler");
        }
        handler.onCompletion(completion);
    }

    /** A reply naming {@code slot}, {@code callId} is for: 1 the call there, 0 one ended (late, counted), -1 none. */
    int replyTo(final int slot, final long callId)
    {
        if (slot < 0 || slot >= maxInFlight || callId < 0 || callId >= nextId)
        {
            return -1;
        }
        if (state[slot] != IN_FLIGHT || callIds[slot] != callId)
        {
            lateReplies++;
            return 0;
        }
        return 1;
    }

    /** @return whether {@code status}, read from a reply record, is one a reply may carry. */
    static boolean validStatus(final int status)
    {
        return status >= 0 && status < STATUSES.length;
    }

    /**
     * Completes a call in flight with the reply at {@code at} (status checked), after failing the calls before it
     * to the same service that were lost.
     */
    void complete(
        final int slot, final long callId, final int status, final UnsafeBuffer buffer, final int at, final int length)
    {
        final int service = services[slot];
        popUntil(service, slot, callId);
        if (status == IpcLayout.STATUS_OK)
        {
            completion.ok(callId, service, buffer, at, length);
        }
        else
        {
            completion.failed(callId, service, STATUSES[status], new RemoteFailureException(
                buffer.getStringWithoutLengthUtf8(at, length)));
        }
        deliver(slot);
    }

    /** Completes a call in flight FAILED: its reply record named it, but the rest of the record made no sense. */
    void completeCorrupt(final int slot, final long callId, final String fields)
    {
        corruptRecords++;
        final int service = services[slot];
        popUntil(service, slot, callId);
        completion.failed(callId, service, Status.FAILED, new RemoteFailureException("corrupt reply record to call "
            + callId + ": " + fields));
        deliver(slot);
    }

    /**
     * Removes a call from its service's in-flight order; the calls before it were lost (their requests or replies
     * were corrupt), since a server answers each client in order: they fail now.
     */
    private void popUntil(final int service, final int slot, final long callId)
    {
        while (fifoCount[service] > 0)
        {
            final int at = fifoHead[service];
            final int s = fifoSlots[service][at];
            final long id = fifoIds[service][at];
            fifoHead[service] = wrap(at + 1);
            fifoCount[service]--;
            if (s == slot && id == callId)
            {
                return;
            }
            if (state[s] == IN_FLIGHT && callIds[s] == id)
            {
                corruptRecords++;
                fail(s, Status.FAILED, "call " + id + " to service " + service + " was lost (a corrupt record): "
                    + "call " + callId + ", submitted after it, was answered first");
            }
        }
    }

    void failAllInFlight(final Status status, final String why)
    {
        for (int s = 0; s < maxServices; s++)
        {
            failService(s, status, why);
        }
    }

    void failService(final int service, final Status status, final String why)
    {
        while (fifoCount[service] > 0)
        {
            final int at = fifoHead[service];
            final int s = fifoSlots[service][at];
            final long id = fifoIds[service][at];
            fifoHead[service] = wrap(at + 1);
            fifoCount[service]--;
            if (state[s] == IN_FLIGHT && callIds[s] == id)
            {
                fail(s, status, why);
            }
        }
    }

    /** @return the slot of the latest call in flight to {@code service} sent by lane position {@code position}. */
    int latestSentBy(final int service, final long position)
    {
        int latest = -1;
        final int count = fifoCount[service];
        for (int i = 0; i < count; i++)
        {
            final int at = wrap(fifoHead[service] + i);
            final int s = fifoSlots[service][at];
            if (state[s] == IN_FLIGHT && callIds[s] == fifoIds[service][at] && sentPositions[s] <= position)
            {
                latest = s;
            }
        }
        return latest;
    }

    /**
     * Fails the latest call in flight to {@code service} sent at or before {@code position} and, since a server
     * answers each client in order, the ones before it: read by the server, never answered.
     */
    void failLostBefore(final int service, final long position)
    {
        final int lost = latestSentBy(service, position);
        if (lost >= 0)
        {
            corruptRecords++;
            final long id = callIds[lost];
            popUntil(service, lost, id);
            fail(lost, Status.FAILED, "call " + id + " to service " + service + " was read by its server but no "
                + "reply came back (a corrupt record)");
        }
    }

    /** Calls sent to a server generation that has since been replaced were lost with it. */
    void failOlderGenerations(final int service, final int currentGeneration)
    {
        final int count = fifoCount[service];
        for (int i = 0; i < count; i++)
        {
            final int s = fifoSlots[service][wrap(fifoHead[service] + i)];
            if (state[s] == IN_FLIGHT && serverGenerations[s] != currentGeneration)
            {
                failService(service, Status.FAILED, "the server of service " + service + " was replaced (a new one "
                    + "attached) before answering; the call may or may not have run");
                return;
            }
        }
    }

    /** @return whether calls failed locally wait to be handed over. */
    boolean hasFailing()
    {
        return failingCount > 0;
    }

    /** Diagnostics. */
    String debugState()
    {
        final StringBuilder b = new StringBuilder("inFlight=" + inFlight + " staged=" + stagedCount + " failing="
            + failingCount + " free=" + freeCount + " late=" + lateReplies + " corrupt=" + corruptRecords);
        for (int s = 0; s < maxServices; s++)
        {
            b.append(" fifo[").append(s).append("]=").append(fifoCount[s]);
        }
        for (int i = 0; i < maxInFlight; i++)
        {
            if (state[i] != FREE)
            {
                b.append(" slot").append(i).append(":state=").append(state[i]).append(",id=").append(callIds[i])
                    .append(",pos=").append(sentPositions[i]);
            }
        }
        return b.toString();
    }
}
