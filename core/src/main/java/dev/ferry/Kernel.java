package dev.ferry;

import dev.ferry.agent.AgentRole;
import dev.ferry.agent.AgentThreadFactory;
import dev.ferry.idle.AdaptiveIdleStrategy;
import dev.ferry.idle.ParkingIdleStrategy;
import dev.ferry.idle.WakeSignal;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.concurrent.locks.LockSupport;

/**
 * A Ferry kernel: the memory the call lanes live in, the registry of the servers and clients using it, their
 * heartbeats, and (in {@link Mode#MOVER}) the mover. One kernel type for both kinds of memory, with one call protocol
 * over them (docs/ipc-layout.md):
 *
 * <ul>
 *     <li>in-process (no name): direct memory; servers for the builder's {@link KernelBuilder#service services} run on
 *     agent threads of this kernel, and {@link #newClient()} gives callers on this JVM's threads;</li>
 *     <li>shared memory ({@link KernelBuilder#name} or {@link KernelBuilder#directory}): a mapped file
 *     ({@code /dev/shm/ferry-<user>/<name>}) that servers ({@link Server}) and clients ({@link Client#attach}) of
 *     other processes attach to; services given to the builder are served by this process as well.</li>
 * </ul>
 *
 * <p>The kernel keeps house on its agent thread: it heartbeats, reclaims the lanes of clients that died or detached,
 * and in MOVER mode runs the mover, which scans every attached client's submission ring round-robin (a bounded batch
 * per client per pass) and routes each request by service id into the request lane its server reads. In DIRECT mode
 * clients write their calls into their lanes themselves and servers answer each call in place (the reply over the
 * request). BLOCKING uses DIRECT's lanes with parked threads woken per hand-off; INLINE runs each handler on its
 * caller's thread. Both exist in-process only.
 *
 * <pre>{@code
 * try (Kernel kernel = Kernel.builder().mode(Mode.DIRECT).service(0, (msg, len) -> len).build().start();
 *      Client client = kernel.newClient())
 * {
 *     int replyLength = client.call(0, request, 0, request.capacity(), reply, 0);
 * }
 * }</pre>
 *
 * <p>Threading: build, start and close from one thread; {@link #newClient()} from each calling thread; the counters
 * from any thread. The agent threads come from the builder's {@link AgentThreadFactory}: role
 * {@link AgentRole#MOVER} index 0 for the mover (MOVER mode; in the other modes a plain daemon thread keeps house),
 * {@link AgentRole#SERVER} and the service id for each server.
 */
public final class Kernel implements AutoCloseable
{
    private final Mapping mapping;
    private final IpcLayout layout;
    private final UnsafeBuffer header;
    private final Timeouts timeouts;
    private final Mode mode;
    private final Duration drainTimeout;
    private final IdleStrategy idle;
    private final AgentThreadFactory threadFactory;
    /** The mover: idle outside MOVER mode, where only its submission rings' emptiness is read at close. */
    private final Mover mover;
    private final long[][] quarantinePasses;

    private final AtomicLong reclaimed = new AtomicLong();
    private final AtomicLong corruptRecords = new AtomicLong();

    private final Handler[] handlers;
    private final int serverBatch;
    private final Duration stopTimeout;
    private final Duration callTimeout;
    private final Supplier<IdleStrategy> idleStrategy;
    /** In-process only: who wakes whom; null across processes. */
    private final Wakeups wakeups;
    private final List<Server> servers = new ArrayList<>();
    private final AtomicInteger inlineClients = new AtomicInteger();
    private final AtomicInteger nextInlineId = new AtomicInteger();

    private Thread thread;
    private volatile boolean running;
    private volatile Throwable agentFailure;
    private volatile boolean closed;
    /** Set by a newClient() waiting for a closed client's entry: the agent keeps house at its next loop. */
    private volatile boolean reclaimWanted;

    Kernel(final KernelBuilder b, final Mapping mapping)
    {
        this.mapping = mapping;
        this.handlers = b.handlers.clone();
        this.serverBatch = b.serverBatch;
        this.stopTimeout = b.stopTimeout;
        this.callTimeout = b.callTimeout;
        this.idleStrategy = b.mode == Mode.BLOCKING ? () -> ParkingIdleStrategy.INSTANCE : b.idleStrategy;
        this.wakeups = mapping.inProcess()
            ? new Wakeups(b.mode == Mode.BLOCKING, mapping.layout.maxServices, mapping.layout.maxClients) : null;
        this.layout = mapping.layout;
        this.header = mapping.buffer;
        this.timeouts = b.timeouts;
        this.mode = b.mode;
        this.drainTimeout = b.drainTimeout;
        // Only the mover polls; the housekeeping of the other modes parks.
        this.idle = b.mode == Mode.MOVER ? idleStrategy.get() : null;
        this.threadFactory = b.threadFactory;
        this.quarantinePasses = new long[layout.maxClients][layout.maxServices];
        this.mover = new Mover(layout, header, timeouts, b.moverBatch, wakeups, corruptRecords);
    }

    /**
     * @return a builder with the defaults: in-process, DIRECT mode, 16 clients, 256-byte slots, 64 calls in flight
     * per client, 10 s call deadlines, 1 s liveness timeouts.
     */
    public static KernelBuilder builder()
    {
        return new KernelBuilder();
    }

    /**
     * Starts the kernel's agent, then a server for each service given to the builder.
     *
     * @return this kernel, running.
     * @throws IllegalStateException if already started, or closed.
     */
    public Kernel start()
    {
        checkOpen("start()");
        if (thread != null)
        {
            throw new IllegalStateException("kernel at " + mapping.directory + " already started");
        }
        running = true;
        if (mode == Mode.MOVER)
        {
            thread = threadFactory.newThread(AgentRole.MOVER, 0, this::run);
        }
        else
        {
            // Only housekeeping, a few times a second: not a polling agent, so not placed nor pinned as one.
            thread = new Thread(this::run, "ferry-kernel-" + mapping.directory.getFileName());
            thread.setDaemon(true);
        }
        if (wakeups != null)
        {
            wakeups.mover(thread, idle);
        }
        header.putLongOrdered(IpcLayout.KERNEL_HEARTBEAT_OFFSET, System.nanoTime());
        header.putIntVolatile(IpcLayout.KERNEL_STATE_OFFSET, IpcLayout.KERNEL_RUNNING);
        thread.start();
        if (mode != Mode.INLINE)
        {
            for (int s = 0; s < handlers.length; s++)
            {
                if (handlers[s] != null)
                {
                    servers.add(new Server(mapping.share(), s, handlers[s], serverBatch, idleStrategy.get(),
                        threadFactory, wakeups));
                }
            }
        }
        return this;
    }

    /**
     * Makes a client owned by the calling thread: {@link Mode#INLINE} runs handlers on it, every other mode
     * attaches it to this kernel's lanes, as {@link Client#attach} does from another process.
     *
     * @return the client, with the builder's call timeout.
     * @throws IllegalStateException before start, after close, or when all {@code maxClients} entries are taken.
     */
    public Client newClient()
    {
        checkOpen("newClient()");
        if (thread == null)
        {
            throw new IllegalStateException("newClient() before start(); call kernel.start() first");
        }
        if (mode == Mode.INLINE)
        {
            if (inlineClients.incrementAndGet() > layout.maxClients)
            {
                inlineClients.decrementAndGet();
                throw new IllegalStateException("all " + layout.maxClients + " clients of the kernel are open; close "
                    + "some, or build the kernel with a larger maxClients");
            }
            return new InlineClient(this, handlers, nextInlineId.getAndIncrement(), layout.slotBytes,
                layout.maxInFlight).callTimeout(callTimeout);
        }
        awaitFreeEntry();
        final IdleStrategy clientIdle = mode == Mode.BLOCKING ? ParkingIdleStrategy.INSTANCE : idleStrategy.get();
        return LaneClient.attach(mapping.share(), clientIdle, wakeups).callTimeout(callTimeout);
    }

    /**
     * When no client entry is free but some belong to clients that closed (or died) and wait to be reclaimed, has
     * the agent reclaim them now and waits for one, up to the client timeout: a client closed just before must not
     * make the next newClient() fail.
     */
    private void awaitFreeEntry()
    {
        final long deadline = System.nanoTime() + timeouts.clientTimeoutNs();
        while (System.nanoTime() - deadline < 0 && thread.isAlive())
        {
            boolean pending = false;
            for (int c = 0; c < layout.maxClients; c++)
            {
                final int state = EntryTable.state(EntryTable.lvWord(header, layout.clientEntry(c)));
                if (state == IpcLayout.FREE)
                {
                    return;
                }
                pending |= state == IpcLayout.DETACHED || state == IpcLayout.QUARANTINED;
            }
            if (!pending)
            {
                return;
            }
            reclaimWanted = true;
            LockSupport.unpark(thread);
            // The reclaim waits for every server to end a pass: wake the ones parked.
            for (int s = 0; wakeups != null && s < servers.size(); s++)
            {
                wakeups.server(servers.get(s).serviceId());
            }
            LockSupport.parkNanos(1_000_000L);
        }
    }

    /** @return the kernel's memory: for tests that damage it. */
    Mapping memory()
    {
        return mapping;
    }

    /** @return the servers this kernel runs, in service order. */
    List<Server> servers()
    {
        return servers;
    }

    /** An INLINE client closed. */
    void released(final InlineClient client)
    {
        inlineClients.decrementAndGet();
    }

    /** @return true once {@link #close()} began. */
    boolean isClosed()
    {
        return closed;
    }

    /** Names the services a kernel serves, for messages: "services 0, 2". */
    static String describe(final Handler[] handlers)
    {
        final StringBuilder b = new StringBuilder();
        for (int s = 0; s < handlers.length; s++)
        {
            if (handlers[s] != null)
            {
                b.append(b.length() == 0 ? "services " : ", ").append(s);
            }
        }
        return b.length() == 0 ? "no service" : b.toString();
    }

    /**
     * @return the threads of this kernel's polling agents: the mover (MOVER mode), then one per server it runs, in
     * service order. The kernel's housekeeping thread of the other modes, which only parks and heartbeats, is not
     * one.
     */
    public List<Thread> agentThreads()
    {
        final List<Thread> threads = new ArrayList<>();
        if (thread != null && mode == Mode.MOVER)
        {
            threads.add(thread);
        }
        for (final Server server : servers)
        {
            threads.add(server.thread());
        }
        return threads;
    }

    /** @return the number of service ids (0 to services - 1) servers may attach to. */
    public int services()
    {
        return layout.maxServices;
    }

    private void run()
    {
        long lastHousekeeping = 0;
        int loops = 0;
        try
        {
            while (running)
            {
                int work = 0;
                if (mode == Mode.MOVER)
                {
                    work = mover.pass();
                    final WakeSignal signal = work == 0 && idle instanceof AdaptiveIdleStrategy
                        && ((AdaptiveIdleStrategy)idle).parksNext() ? ((AdaptiveIdleStrategy)idle).wakeSignal() : null;
                    if (signal != null)
                    {
                        // Announce the park, then look once more: a flush published before the announcement is
                        // caught here instead of being slept through.
                        signal.sleeping();
                        work = mover.pass();
                        if (work > 0)
                        {
                            signal.awake();
                        }
                    }
                }
                if ((++loops & 63) == 0 || work == 0)
                {
                    final long now = System.nanoTime();
                    if (now - lastHousekeeping >= timeouts.heartbeatIntervalNs() / 2 || reclaimWanted)
                    {
                        reclaimWanted = false;
                        lastHousekeeping = now;
                        housekeeping(now);
                    }
                }
                if (mode == Mode.MOVER)
                {
                    idle.idle(work);
                }
                else
                {
                    LockSupport.parkNanos(this, Math.min(10_000_000L, timeouts.heartbeatIntervalNs() / 2));
                }
            }
        }
        catch (final Throwable t)
        {
            agentFailure = t;
            throw t;
        }
    }

    private void housekeeping(final long now)
    {
        header.putLongOrdered(IpcLayout.KERNEL_HEARTBEAT_OFFSET, now);
        final long clientTimeout = timeouts.clientTimeoutNs();
        for (int c = 0; c < layout.maxClients; c++)
        {
            final int entry = layout.clientEntry(c);
            if (EntryTable.state(EntryTable.lvWord(header, entry)) == IpcLayout.QUARANTINED)
            {
                // No server touches a lane of a client that is not attached, once it ended the pass it was in: the
                // client's rings and lanes can be cleaned and the entry freed.
                if (serversPassed(c, now))
                {
                    EntryTable.release(header, entry, (int)layout.sqOffset(c), (int)layout.clientBlock());
                }
                continue;
            }
            final int why = EntryTable.quarantine(header, entry, now, clientTimeout);
            if (why == EntryTable.KEPT)
            {
                continue;
            }
            if (why == EntryTable.QUARANTINED_CORRUPT)
            {
                // A state no Ferry writes: the table was overwritten.
                corruptRecords.incrementAndGet();
            }
            if (why != EntryTable.QUARANTINED_DETACHED)
            {
                reclaimed.incrementAndGet();
            }
            // After the quarantine (its compare-and-swap orders these reads after it).
            for (int s = 0; s < layout.maxServices; s++)
            {
                quarantinePasses[c][s] = EntryTable.lvPass(header, layout.serverEntry(s));
            }
        }
    }

    /**
     * True once every live server (an attaching one included: its takeover walks client lanes) has ended a pass of
     * its loop since the client was quarantined: a reply it was writing then has landed, and it sees the quarantine
     * before writing another.
     */
    private boolean serversPassed(final int client, final long now)
    {
        for (int s = 0; s < layout.maxServices; s++)
        {
            if (!EntryTable.passedSince(header, layout.serverEntry(s), quarantinePasses[client][s], now,
                timeouts.serverTimeoutNs()))
            {
                return false;
            }
        }
        return true;
    }

    /** @return where the mapping lives. */
    public Path directory()
    {
        return mapping.directory;
    }

    /** @return the mode clients use to reach servers. */
    public Mode mode()
    {
        return mode;
    }

    /** @return clients attached now. */
    public int attachedClients()
    {
        checkOpen("attachedClients()");
        int n = 0;
        for (int c = 0; c < layout.maxClients; c++)
        {
            if (header.getIntVolatile(layout.clientEntry(c) + IpcLayout.ENTRY_STATE_OFFSET) == IpcLayout.ATTACHED)
            {
                n++;
            }
        }
        return n;
    }

    /** @return requests the mover has routed to servers (MOVER mode). */
    public long forwarded()
    {
        return mover.forwarded();
    }

    /** @return clients whose rings were reclaimed because they stopped heartbeating. */
    public long reclaimedClients()
    {
        return reclaimed.get();
    }

    /** @return corrupt records and rings the mover met (each became an error completion or a resynchronisation). */
    public long corruptRecords()
    {
        return corruptRecords.get();
    }

    /** @return whether the agent is running (false after close, or if it died: {@link #failure()} says why). */
    public boolean isRunning()
    {
        return running && agentFailure == null && thread != null && thread.isAlive();
    }

    /** @return what killed the agent, or null. */
    public Throwable failure()
    {
        return agentFailure;
    }

    /**
     * Closes: refuses new calls, lets the calls in flight drain for up to the drain timeout, stops the servers it runs
     * (each answers the calls it took), then tells every client and server that the kernel closed (their calls still
     * in flight, which no handler ran, complete with CLOSED), stops the agent and removes the mapping's file and
     * directory.
     *
     * @throws IllegalStateException from one of the kernel's own agent threads (a handler), which close waits for.
     */
    @Override
    public void close()
    {
        if (closed)
        {
            return;
        }
        if (agentThreads().contains(Thread.currentThread()))
        {
            throw new IllegalStateException("a handler called close() on its own kernel's thread, which close() waits "
                + "for; close the kernel from another thread");
        }
        closed = true;
        try
        {
            header.putIntVolatile(IpcLayout.KERNEL_STATE_OFFSET, IpcLayout.KERNEL_CLOSING);
            final long deadline = System.nanoTime() + drainTimeout.toNanos();
            // Only while the agent lives: one that died (of a fault in the mapping, say) drains nothing.
            while (thread != null && thread.isAlive() && System.nanoTime() - deadline < 0 && !drained())
            {
                LockSupport.parkNanos(1_000_000L);
            }
        }
        catch (final InternalError fault)
        {
            // The mapping faulted (its file was truncated): the others learn from the kernel's silence instead.
        }
        // The servers stop (answering the calls they took) before the clients learn that the kernel closed: the
        // calls they then fail CLOSED are the ones no handler ran, and none is served past the drain timeout.
        for (final Server server : servers)
        {
            server.stopAgent(stopTimeout);
        }
        try
        {
            header.putIntVolatile(IpcLayout.KERNEL_STATE_OFFSET, IpcLayout.KERNEL_CLOSED);
        }
        catch (final InternalError fault)
        {
            // As above.
        }
        for (final Server server : servers)
        {
            server.close(stopTimeout);
        }
        running = false;
        if (thread != null)
        {
            LockSupport.unpark(thread);
            try
            {
                thread.join(10_000);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        try
        {
            mapping.delete();
        }
        finally
        {
            if (thread == null || !thread.isAlive())
            {
                mapping.close();
            }
        }
        for (final Server server : servers)
        {
            if (server.thread().isAlive())
            {
                throw new IllegalStateException("the server of service " + server.serviceId() + " did not stop "
                    + "within " + stopTimeout.toMillis() + " ms of close (a handler that never returns, or ignores "
                    + "interruption?); its thread " + server.thread().getName() + " is left running");
            }
        }
    }

    private void checkOpen(final String method)
    {
        if (closed)
        {
            throw new IllegalStateException(method + " on the Ferry kernel at " + mapping.directory
                + ", which is closed; build and start a new one");
        }
    }

    private boolean drained()
    {
        final long now = System.nanoTime();
        for (int c = 0; c < layout.maxClients; c++)
        {
            final int state = header.getIntVolatile(layout.clientEntry(c) + IpcLayout.ENTRY_STATE_OFFSET);
            if (state != IpcLayout.ATTACHED)
            {
                continue;
            }
            if (!mover.submissionsEmpty(c))
            {
                return false;
            }
            for (int s = 0; s < layout.maxServices; s++)
            {
                // MOVER: the server has consumed the lane; DIRECT: it has answered every call in it.
                if (Mover.serverAlive(header, layout, s, now, timeouts.serverTimeoutNs()) && !(layout.mover()
                    ? IpcLayout.ringEmpty(header, layout.requestLaneOffset(c, s), layout.laneBytes)
                    : IpcLayout.callsAnswered(header, layout.requestLaneOffset(c, s), layout.laneBytes)))
                {
                    return false;
                }
            }
        }
        return true;
    }

    @Override
    public String toString()
    {
        return "Kernel{" + mapping.directory + ", mode=" + mode + ", clients=" + layout.maxClients
            + ", services=" + layout.maxServices + "}";
    }
}
