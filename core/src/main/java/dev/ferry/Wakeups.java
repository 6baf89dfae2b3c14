package dev.ferry;

import dev.ferry.idle.AdaptiveIdleStrategy;
import dev.ferry.idle.WakeSignal;
import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * What only one process can do, as a policy on top of the call lanes: wake the thread that waits for a call or a
 * reply instead of letting it find the work at its next poll. In {@link Mode#BLOCKING} every hand-off unparks its
 * receiver (the server after a flush, the caller after its replies): the classic microkernel. In the polling modes
 * a client's flush wakes its server's agent (or the mover) only if it announced a park on its {@link WakeSignal}, so
 * the first call after an idle spell waits one wake-up, not the rest of a park period, and a busy server costs the
 * caller one fence per batch.
 *
 * <p>Threading: agents are registered before their threads start and clients when they attach (a volatile store
 * each, read with acquire); {@link #server(int)}, {@link #mover()} and {@link #client(int)} are called by any thread.
 */
final class Wakeups
{
    private final boolean blocking;
    private final AtomicReferenceArray<WakeSignal> servers;
    private final AtomicReferenceArray<Thread> serverThreads;
    private final AtomicReferenceArray<Thread> clientThreads;
    private final AtomicReferenceArray<WakeSignal> clientSignals;
    private volatile WakeSignal moverSignal;
    private volatile Thread moverThread;

    Wakeups(final boolean blocking, final int services, final int clients)
    {
        this.blocking = blocking;
        this.servers = new AtomicReferenceArray<>(services);
        this.serverThreads = new AtomicReferenceArray<>(services);
        this.clientThreads = new AtomicReferenceArray<>(clients);
        this.clientSignals = new AtomicReferenceArray<>(clients);
    }

    /**
     * Registers a server's agent: its idle strategy announces its parks on the service's signal, and its parked
     * spells shrink its pause budget (a server's work comes from outside; see
     * {@link AdaptiveIdleStrategy#shrinkAfterParks(boolean)}).
     */
    void server(final int service, final Thread thread, final IdleStrategy idle)
    {
        serverThreads.set(service, thread);
        if (idle instanceof AdaptiveIdleStrategy)
        {
            // A server's work comes from outside: spells that end parked shrink its pause budget. A strategy that
            // never parks (a busy spin) gets no signal, and its clients' flushes pay no fence for one.
            final WakeSignal signal = new WakeSignal();
            ((AdaptiveIdleStrategy)idle).wakeSignal(signal).shrinkAfterParks(true);
            servers.set(service, signal);
        }
    }

    /** Registers the mover's agent. */
    void mover(final Thread thread, final IdleStrategy idle)
    {
        if (idle instanceof AdaptiveIdleStrategy)
        {
            final WakeSignal signal = new WakeSignal();
            ((AdaptiveIdleStrategy)idle).wakeSignal(signal);
            moverSignal = signal;
        }
        moverThread = thread;
    }

    /**
     * Registers the thread that owns client {@code client}: blocking mode unparks it when its replies land; in the
     * polling modes its idle strategy, if it parks, announces its parks on a signal its servers wake.
     */
    void client(final int client, final Thread owner, final IdleStrategy idle)
    {
        clientThreads.set(client, owner);
        WakeSignal signal = null;
        if (idle instanceof AdaptiveIdleStrategy)
        {
            signal = new WakeSignal();
            ((AdaptiveIdleStrategy)idle).wakeSignal(signal);
        }
        clientSignals.set(client, signal);
    }

    /** Calls were published to {@code service}'s server. */
    void server(final int service)
    {
        wake(serverThreads.get(service), servers.get(service));
    }

    /** Calls were published to the mover. */
    void mover()
    {
        wake(moverThread, moverSignal);
    }

    /** Replies were published to client {@code client}. */
    void client(final int client)
    {
        wake(clientThreads.get(client), clientSignals.get(client));
    }

    /** BLOCKING: unparks the receiver; else wakes it only if it announced a park on its signal (if it has one). */
    private void wake(final Thread receiver, final WakeSignal signal)
    {
        if (blocking)
        {
            if (receiver != null)
            {
                LockSupport.unpark(receiver);
            }
        }
        else if (signal != null)
        {
            signal.wake();
        }
    }
}
