package dev.ferry.mover;

import dev.ferry.counters.AgentCounters;
import dev.ferry.idle.WakeBatch;
import dev.ferry.idle.WakeSignal;
import dev.ferry.ring.ClientRings;
import dev.ferry.ring.Slot;
import dev.ferry.ring.SubmissionRing;
import dev.ferry.server.RequestForwarder;
import dev.ferry.server.ServerAgent;
import org.agrona.concurrent.Agent;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;

import java.util.Arrays;

/**
 * The microkernel's kernel thread: scans its share of the clients' submission rings round-robin, moving at most a
 * bounded batch per client per pass (so no client starves the rest) into the request ring of each call's service,
 * and carries replies from its reply ring back to each client's completion ring. A server ring that is full stops
 * that client for this pass, keeping its calls in order in its own ring: back-pressure, never a drop.
 *
 * <p>Threading: {@link #doWork()} runs on the mover's own thread only. {@link #postReply(Slot)} is called by server
 * threads (the reply ring is multi-producer). {@link #addClient} and {@link #removeClient} are called by the kernel
 * under its lock and publish a new client array that the mover picks up on its next pass.
 */
public final class MoverAgent implements Agent, MessagePassingQueue.Consumer<Slot>
{
    private final int index;
    private final MpscArrayQueue<Slot> replies;
    private final int batchPerClient;
    private final int replyBatch;
    private final AgentCounters counters;
    private final WakeSignal wakeSignal = new WakeSignal();
    private final RequestForwarder forwarder;
    private final WakeBatch toWake = new WakeBatch(64);
    private volatile ClientRings[] clients = new ClientRings[0];
    private int cursor;

    /**
     * @param index             the mover's index.
     * @param servers           the kernel's servers, by service id.
     * @param replyRingCapacity entries in the reply ring: at least every slot its clients can have in flight, so that
     *                          a server never finds it full; a power of two.
     * @param batchPerClient    most calls moved from one client per pass.
     */
    public MoverAgent(final int index, final ServerAgent[] servers, final int replyRingCapacity, final int batchPerClient)
    {
        this.index = index;
        this.forwarder = new RequestForwarder(servers, server -> server.wakeSignal().wake());
        this.replies = new MpscArrayQueue<>(replyRingCapacity);
        this.batchPerClient = batchPerClient;
        this.replyBatch = Math.max(batchPerClient, 256);
        this.counters = new AgentCounters("mover-" + index);
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public int doWork()
    {
        final ClientRings[] clients = this.clients;
        final int n = clients.length;
        int moved = 0;
        if (n > 0)
        {
            final int start = cursor < n ? cursor : 0;
            for (int k = 0; k < n; k++)
            {
                final int i = start + k < n ? start + k : start + k - n;
                moved += moveRequests(clients[i]);
            }
            cursor = start + 1;
        }
        final int replied = replies.drain(this, replyBatch);
        toWake.wakeAll();
        if (replied > 0)
        {
            counters.onCompletions(replied);
        }
        final int work = moved + replied;
        if (work == 0)
        {
            counters.onEmptyPoll();
        }
        else if (moved > 0)
        {
            counters.onBatch(moved);
        }
        return work;
    }

    private int moveRequests(final ClientRings client)
    {
        final SubmissionRing sq = client.submissions();
        final int available = Math.min(sq.available(), batchPerClient);
        if (available == 0)
        {
            return 0;
        }
        // One claim on a server's ring per run of calls to it; a server that announced a park is woken after its
        // run (one read of its signal, an unpark only if it is asleep), or it would sleep through the run.
        final int moved = forwarder.forward(sq, available);
        if (moved < available)
        {
            counters.onBackPressure();
        }
        if (moved > 0)
        {
            sq.release(moved);
        }
        return moved;
    }

    /**
     * Carries one reply to its client. Mover thread only.
     *
     * @param slot a handled call.
     */
    @Override
    public void accept(final Slot slot)
    {
        final ClientRings client = slot.client();
        client.complete(slot);
        toWake.add(client.wakeSignal());
    }

    /**
     * Queues a handled call for this mover to carry back. Any server thread; the server wakes this mover (through
     * {@link #wakeSignal()}) once it has posted its batch.
     *
     * @param slot a handled call of one of this mover's clients.
     */
    public void postReply(final Slot slot)
    {
        if (!replies.offer(slot))
        {
            // Cannot happen: the ring holds every slot this mover's clients own.
            throw new IllegalStateException("reply ring of mover " + index + " is full; " + slot);
        }
    }

    /**
     * Adds a client to this mover's share. Kernel lifecycle lock held.
     *
     * @param client the client.
     */
    public void addClient(final ClientRings client)
    {
        final ClientRings[] old = clients;
        final ClientRings[] grown = Arrays.copyOf(old, old.length + 1);
        grown[old.length] = client;
        clients = grown;
    }

    /**
     * Removes a client from this mover's share. Kernel lifecycle lock held.
     *
     * @param client the client.
     */
    public void removeClient(final ClientRings client)
    {
        final ClientRings[] old = clients;
        int at = -1;
        for (int i = 0; i < old.length; i++)
        {
            if (old[i] == client)
            {
                at = i;
            }
        }
        if (at < 0)
        {
            return;
        }
        final ClientRings[] shrunk = new ClientRings[old.length - 1];
        System.arraycopy(old, 0, shrunk, 0, at);
        System.arraycopy(old, at + 1, shrunk, at, old.length - at - 1);
        clients = shrunk;
    }

    /**
     * @return how many clients this mover serves now.
     */
    public int clientCount()
    {
        return clients.length;
    }

    /**
     * @return the clients this mover serves now.
     */
    public ClientRings[] clients()
    {
        return clients;
    }

    /**
     * @return the reply ring: servers produce, this mover consumes.
     */
    public MpscArrayQueue<Slot> replies()
    {
        return replies;
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
     * @return the signal on which this mover announces that it parks; clients and servers wake it after publishing.
     */
    public WakeSignal wakeSignal()
    {
        return wakeSignal;
    }

    /**
     * @return this mover's counters.
     */
    public AgentCounters counters()
    {
        return counters;
    }
}
