package dev.ferry.server;

import dev.ferry.Handler;
import dev.ferry.Status;
import dev.ferry.counters.AgentCounters;
import dev.ferry.idle.WakeBatch;
import dev.ferry.idle.WakeSignal;
import dev.ferry.mover.MoverAgent;
import dev.ferry.ring.ClientRings;
import dev.ferry.ring.Slot;
import org.agrona.concurrent.Agent;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;

import java.util.concurrent.locks.LockSupport;

/**
 * Serves one service: drains its MPSC request ring in bounded batches, runs the handler on each slot, and sends
 * each slot back, straight to its client's completion ring (DIRECT, BLOCKING) or to the reply ring of the client's
 * mover (MOVER). A handler that throws fails that call alone. Each reply is posted as soon as it is handled; the
 * clients (or movers) that got replies and announced a park are woken once each at the end of the batch (BLOCKING
 * callers, which always park, are unparked per reply).
 *
 * <p>Closing: once the kernel calls {@link #beginClose()}, calls not yet started are failed with
 * {@link Status#CLOSED} instead of being run, and replies go straight to their clients (the movers may have stopped).
 * When its loop ends ({@link #onClose()}) the server fails whatever is left in its ring itself, as its only consumer:
 * a server whose handler outlived the kernel's close (one that ignores interruption) thus still completes each of its
 * calls exactly once, the one in its handler with the handler's outcome, when the handler returns.
 *
 * <p>Threading: {@link #doWork()} and {@link #onClose()} run on the server's own thread only; {@link #requests()} is
 * shared with the producers (clients or movers); {@link #counters()} may be read and {@link #beginClose()} called from
 * any thread.
 */
public final class ServerAgent implements Agent, MessagePassingQueue.Consumer<Slot>
{
    private final int serviceId;
    private final Handler handler;
    private final MpscArrayQueue<Slot> requests;
    private final int batchLimit;
    private final MoverAgent[] movers;
    private final boolean unparkCallers;
    private final AgentCounters counters;
    private final WakeSignal wakeSignal = new WakeSignal();
    private final WakeBatch toWake;
    private final IllegalStateException closedBeforeRun =
        new IllegalStateException("kernel closed before the call was handled");
    /** Read once per call: a plain load on x86 and ARM, of a line written once, at close. */
    private volatile boolean closing;

    /**
     * @param serviceId     the service's id.
     * @param handler       the service's handler.
     * @param ringCapacity  entries in the request ring; a power of two.
     * @param batchLimit    most calls handled per duty cycle.
     * @param movers        the kernel's movers in MOVER mode, to route replies through; null in other modes.
     * @param unparkCallers whether to unpark each caller after posting its reply (BLOCKING mode).
     */
    public ServerAgent(
        final int serviceId,
        final Handler handler,
        final int ringCapacity,
        final int batchLimit,
        final MoverAgent[] movers,
        final boolean unparkCallers)
    {
        this.serviceId = serviceId;
        this.handler = handler;
        this.requests = new MpscArrayQueue<>(ringCapacity);
        this.batchLimit = batchLimit;
        this.movers = movers;
        this.unparkCallers = unparkCallers;
        this.toWake = new WakeBatch(Math.max(1, Math.min(batchLimit, 64)));
        this.counters = new AgentCounters("server-" + serviceId);
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public int doWork()
    {
        final int n = requests.drain(this, batchLimit);
        toWake.wakeAll();
        if (n == 0)
        {
            counters.onEmptyPoll();
        }
        else
        {
            counters.onBatch(n);
            if (movers == null)
            {
                counters.onCompletions(n);
            }
        }
        return n;
    }

    /**
     * Handles one call and sends it back; once the kernel is closing, fails it with {@link Status#CLOSED} unrun.
     * Server thread only.
     *
     * @param slot the call.
     */
    @Override
    public void accept(final Slot slot)
    {
        if (closing)
        {
            slot.fail(Status.CLOSED, closedBeforeRun);
            sendBack(slot, false);
            return;
        }
        slot.serve(handler);
        // A handler that outlived the kernel's close may find the movers stopped: its reply goes straight back.
        sendBack(slot, movers != null && !closing);
    }

    private void sendBack(final Slot slot, final boolean viaMover)
    {
        final ClientRings client = slot.client();
        if (viaMover)
        {
            final MoverAgent mover = movers[client.moverIndex()];
            mover.postReply(slot);
            toWake.add(mover.wakeSignal());
        }
        else
        {
            client.complete(slot);
            if (unparkCallers)
            {
                LockSupport.unpark(client.owner());
            }
            else
            {
                toWake.add(client.wakeSignal());
            }
        }
    }

    /**
     * From now on, calls not yet started fail with {@link Status#CLOSED} and replies bypass the movers. Any thread.
     */
    public void beginClose()
    {
        closing = true;
    }

    /**
     * The loop has ended: fails every call left in the request ring with {@link Status#CLOSED}. Server thread only,
     * the ring's one consumer; calls that producers add later are swept by the kernel once this thread has ended.
     */
    @Override
    public void onClose()
    {
        closing = true;
        requests.drain(this);
        toWake.wakeAll();
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public String roleName()
    {
        return counters.name();
    }

    /**
     * @return the service's id.
     */
    public int serviceId()
    {
        return serviceId;
    }

    /**
     * @return the request ring: many producers (clients or movers), this server the one consumer.
     */
    public MpscArrayQueue<Slot> requests()
    {
        return requests;
    }

    /**
     * @return the signal on which this server announces that it parks; producers wake it after publishing.
     */
    public WakeSignal wakeSignal()
    {
        return wakeSignal;
    }

    /**
     * @return this server's counters.
     */
    public AgentCounters counters()
    {
        return counters;
    }
}
