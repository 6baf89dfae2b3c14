package dev.ferry;

import dev.ferry.agent.AgentLoop;
import dev.ferry.agent.AgentRole;
import dev.ferry.agent.AgentThreadFactory;
import dev.ferry.counters.AgentCounters;
import dev.ferry.idle.AdaptiveIdleStrategy;
import dev.ferry.idle.ParkingIdleStrategy;
import dev.ferry.idle.WakeSignal;
import dev.ferry.mover.MoverAgent;
import dev.ferry.ring.Capacity;
import dev.ferry.ring.ClientRings;
import dev.ferry.ring.Slot;
import dev.ferry.ring.SubmissionRing;
import dev.ferry.server.ServerAgent;
import org.agrona.concurrent.IdleStrategy;

import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * Ferry's runtime: the registry of services and clients, the agents that serve and move calls, their threads, their
 * counters, and the lifecycle: {@link #start()}, then {@link #close()}, which lets calls in flight finish for a
 * bounded time and then fails each one left with {@link Status#CLOSED}.
 *
 * <pre>{@code
 * try (Kernel kernel = Kernel.builder().mode(Mode.DIRECT).service(0, (msg, len) -> len).build().start())
 * {
 *     Client client = kernel.newClient();
 *     ...
 * }
 * }</pre>
 *
 * <p>Every call has a deadline, {@link Builder#callTimeout(Duration)} unless the client or the call sets another;
 * see {@link Client}. A handler that would wait for itself (one that calls its own service from its server thread)
 * is refused at once with an {@link IllegalStateException}.
 *
 * <p>Threading: {@link #newClient()}, {@link #start()} and {@link #close()} are thread-safe; the returned client
 * belongs to the thread that created it. A kernel runs one server thread per service (not in INLINE mode) and, in
 * MOVER mode, {@link Builder#movers(int)} mover threads, all made by the builder's {@link AgentThreadFactory}. Once
 * {@link #close()} returns none of them is running, except a server whose handler ignores interruption: close then
 * says so with an exception, and that thread ends when its handler returns. After close, {@link #start()} and
 * {@link #newClient()} throw {@link IllegalStateException}; the getters still answer.
 */
public final class Kernel implements AutoCloseable
{
    private static final int NEW = 0;
    private static final int RUNNING = 1;
    private static final int CLOSING = 2;
    private static final int TERMINATED = 3;
    private static final String[] STATE_NAMES = {"not started", "running", "closing", "closed"};

    private final Mode mode;
    private final Handler[] handlers;
    private final ServerAgent[] servers;
    private final MoverAgent[] movers;
    private final AgentLoop[] serverLoops;
    private final AgentLoop[] moverLoops;
    /** Every agent loop: the servers', then the movers'. */
    private final List<AgentLoop> agentLoops;
    private final int clientCapacity;
    private final int slotBytes;
    private final int maxClients;
    private final Duration drainTimeout;
    private final Duration stopTimeout;
    private final Duration callTimeout;
    private final Supplier<IdleStrategy> idleStrategies;
    private final AgentThreadFactory threadFactory;

    private final Object lock = new Object();
    private final List<Client> clients = new ArrayList<>();
    private long retiredPublished;
    /** Agent loops, by index in {@link #agentLoops}, whose thread had not ended when close gave up waiting. */
    private boolean[] stuck;
    private int nextClientId;
    private volatile int state = NEW;

    private Kernel(final Builder b)
    {
        this.mode = b.mode;
        this.handlers = b.handlers.toArray(new Handler[0]);
        this.clientCapacity = b.clientCapacity;
        this.slotBytes = b.slotBytes;
        this.maxClients = b.maxClients;
        this.drainTimeout = b.drainTimeout;
        this.stopTimeout = b.stopTimeout;
        this.callTimeout = b.callTimeout;
        this.idleStrategies = b.idleStrategy;
        this.threadFactory = b.threadFactory;

        if (mode == Mode.INLINE)
        {
            servers = new ServerAgent[0];
            movers = new MoverAgent[0];
        }
        else
        {
            servers = new ServerAgent[handlers.length];
            if (mode == Mode.MOVER)
            {
                movers = new MoverAgent[b.movers];
                final int clientsPerMover = (maxClients + b.movers - 1) / b.movers;
                final long inFlight = (long)clientsPerMover * clientCapacity;
                if (inFlight > (1 << 28))
                {
                    throw new IllegalArgumentException("maxClients(" + maxClients + ") x clientCapacity("
                        + clientCapacity + ") per mover is too large for a reply ring; lower either or add movers");
                }
                final int replyCapacity = Math.max(2, Integer.highestOneBit((int)Math.max(2, inFlight - 1)) << 1);
                for (int i = 0; i < movers.length; i++)
                {
                    movers[i] = new MoverAgent(i, servers, replyCapacity, b.moverBatch);
                }
            }
            else
            {
                movers = new MoverAgent[0];
            }
            for (int i = 0; i < handlers.length; i++)
            {
                servers[i] = new ServerAgent(
                    i, handlers[i], b.serverRingCapacity, b.serverBatch, mode == Mode.MOVER ? movers : null,
                    mode == Mode.BLOCKING);
            }
        }
        serverLoops = new AgentLoop[servers.length];
        for (int i = 0; i < servers.length; i++)
        {
            final IdleStrategy idle =
                mode == Mode.BLOCKING ? ParkingIdleStrategy.INSTANCE
                    : newIdleStrategy(servers[i].wakeSignal(), true);
            servers[i].counters().idleStrategy(idle);
            serverLoops[i] = new AgentLoop(servers[i], idle);
        }
        moverLoops = new AgentLoop[movers.length];
        for (int i = 0; i < movers.length; i++)
        {
            final IdleStrategy idle = newIdleStrategy(movers[i].wakeSignal(), false);
            movers[i].counters().idleStrategy(idle);
            moverLoops[i] = new AgentLoop(movers[i], idle);
        }
        final List<AgentLoop> loops = new ArrayList<>(Arrays.asList(serverLoops));
        loops.addAll(Arrays.asList(moverLoops));
        agentLoops = List.copyOf(loops);
    }

    private IdleStrategy newIdleStrategy(final WakeSignal signal, final boolean shrinkAfterParks)
    {
        final IdleStrategy idle = idleStrategies.get();
        if (idle == null)
        {
            throw new IllegalStateException("the idle strategy supplier returned null");
        }
        if (idle instanceof AdaptiveIdleStrategy)
        {
            ((AdaptiveIdleStrategy)idle).wakeSignal(signal).shrinkAfterParks(shrinkAfterParks);
        }
        return idle;
    }

    /**
     * @return a builder with the defaults: DIRECT mode, 1 mover, 256 slots per client, 1024-entry server rings,
     * 64-byte slots, 64 clients at most, adaptive idling, unpinned daemon threads, a 10 s call timeout
     * ({@link Client#DEFAULT_CALL_TIMEOUT}), a 5 s drain on close and 10 s for the agents to stop.
     */
    public static Builder builder()
    {
        return new Builder();
    }

    /**
     * Starts the agents' threads. Call once.
     *
     * @return this kernel.
     * @throws IllegalStateException if already started or closed.
     */
    public Kernel start()
    {
        synchronized (lock)
        {
            if (state != NEW)
            {
                throw new IllegalStateException("the kernel is " + stateName() + "; start() may be called once");
            }
            for (int i = 0; i < serverLoops.length; i++)
            {
                serverLoops[i].start(threadFactory, AgentRole.SERVER, i);
            }
            for (int i = 0; i < moverLoops.length; i++)
            {
                moverLoops[i].start(threadFactory, AgentRole.MOVER, i);
            }
            state = RUNNING;
        }
        return this;
    }

    /**
     * Creates a client owned by the calling thread.
     *
     * @return a new client; only the calling thread may use it.
     * @throws IllegalStateException if the kernel is not running or already has {@link Builder#maxClients(int)}
     *                               clients.
     */
    public Client newClient()
    {
        synchronized (lock)
        {
            if (state != RUNNING)
            {
                throw new IllegalStateException("the kernel is " + stateName() + "; clients can only be created "
                    + (state == NEW ? "after start()" : "while it runs"));
            }
            if (clients.size() >= maxClients)
            {
                throw new IllegalStateException("the kernel already has " + clients.size() + " clients, its maxClients;"
                    + " close clients no longer used, or build the kernel with maxClients(" + maxClients * 2 + ")");
            }
            int moverIndex = 0;
            for (int i = 1; i < movers.length; i++)
            {
                if (movers[i].clientCount() < movers[moverIndex].clientCount())
                {
                    moverIndex = i;
                }
            }
            final ClientRings rings =
                new ClientRings(nextClientId++, moverIndex, Thread.currentThread(), clientCapacity, slotBytes);
            final Client client = new Client(
                this, rings, servers, handlers, slotBytes, newIdleStrategy(rings.wakeSignal(), false),
                mode == Mode.MOVER ? movers[moverIndex].wakeSignal() : null, callTimeout,
                serviceServedBy(Thread.currentThread()));
            if (mode == Mode.MOVER)
            {
                movers[moverIndex].addClient(rings);
            }
            clients.add(client);
            return client;
        }
    }

    /** The service whose server runs on {@code thread}, or -1: a client made there must not wait for that service. */
    private int serviceServedBy(final Thread thread)
    {
        for (int i = 0; i < serverLoops.length; i++)
        {
            if (serverLoops[i].thread() == thread)
            {
                return i;
            }
        }
        return -1;
    }

    void detach(final Client client)
    {
        synchronized (lock)
        {
            if (clients.remove(client))
            {
                retiredPublished += client.counters().calls();
                if (mode == Mode.MOVER)
                {
                    movers[client.rings().moverIndex()].removeClient(client.rings());
                }
            }
        }
    }

    void wake(final ServerAgent server)
    {
        LockSupport.unpark(serverLoops[server.serviceId()].thread());
    }

    /**
     * Closes with the builder's drain timeout; see {@link #close(Duration)}.
     */
    @Override
    public void close()
    {
        close(drainTimeout);
    }

    /**
     * Stops accepting calls, lets the calls in flight finish for up to {@code drainTimeout}, stops every agent
     * thread (a handler running then finishes its call; calls not yet started fail with {@link Status#CLOSED}), and
     * fails each call still left in a ring with {@link Status#CLOSED}; clients receive those completions when they
     * next poll. Each call completes exactly once. Idempotent.
     *
     * <p>An agent thread that has not ended within the builder's {@link Builder#stopTimeout(Duration)} (interrupted
     * halfway through it) is left running, and close throws once the kernel is closed: that is a handler ignoring
     * interruption. Its server completes the call in its handler with the handler's outcome when (if ever) the handler
     * returns, then fails the calls left in its ring with CLOSED, and its thread ends; the callers' deadlines bound
     * their wait meanwhile. Its slots are not reused while it may still write into them.
     *
     * @param drainTimeout how long calls in flight may take to finish.
     * @return true if every call in flight finished before the timeout, false if some were failed.
     * @throws IllegalStateException if an agent thread did not end (a handler that ignores interruption), or when
     *                               called from one of this kernel's agent threads (a handler), which close would wait
     *                               for.
     */
    public boolean close(final Duration drainTimeout)
    {
        Objects.requireNonNull(drainTimeout, "drainTimeout");
        final Thread current = Thread.currentThread();
        for (final AgentLoop loop : agentLoops)
        {
            if (loop.thread() == current)
            {
                throw new IllegalStateException("close() was called from the thread of " + loop.agent().roleName()
                    + " (a handler): close waits for that thread to end, so it would wait for itself; close the kernel "
                    + "from another thread");
            }
        }
        synchronized (lock)
        {
            if (state == TERMINATED || state == CLOSING)
            {
                return true;
            }
            if (state == NEW)
            {
                state = TERMINATED;
                return true;
            }
            state = CLOSING;
            final boolean drained = awaitDrained(System.nanoTime() + saturatedNanos(drainTimeout));
            for (final ServerAgent s : servers)
            {
                s.beginClose();
            }
            final List<String> stuckNames = stopAgents();
            sweep();
            state = TERMINATED;
            for (final Client c : clients)
            {
                LockSupport.unpark(c.owner());
            }
            if (!stuckNames.isEmpty())
            {
                throw new IllegalStateException("the kernel is closed, but agent threads " + stuckNames + " did not "
                    + "stop within " + stopTimeout.toMillis() + " ms of close() (interrupted halfway): a handler is "
                    + "still running and ignores interruption. Its thread is left running; when the handler returns, "
                    + "its call completes with the handler's outcome (unless its deadline passed first), the calls "
                    + "queued behind it complete CLOSED, and the thread ends");
            }
            return drained;
        }
    }

    private boolean awaitDrained(final long deadlineNs)
    {
        if (mode == Mode.INLINE)
        {
            return true;
        }
        while (true)
        {
            long completed = 0;
            for (final ServerAgent s : servers)
            {
                completed += s.counters().completions();
            }
            for (final MoverAgent m : movers)
            {
                completed += m.counters().completions();
            }
            // Completions first, then publications: a completion's publication happened before it, so the comparison
            // can only err towards waiting longer.
            VarHandle.fullFence();
            long published = retiredPublished;
            for (final Client c : clients)
            {
                published += c.counters().calls();
            }
            if (completed >= published)
            {
                return true;
            }
            if (System.nanoTime() - deadlineNs >= 0)
            {
                return false;
            }
            LockSupport.parkNanos(100_000L);
        }
    }

    private static long saturatedNanos(final Duration d)
    {
        return d.compareTo(Duration.ofDays(365)) > 0 ? TimeUnit.DAYS.toNanos(365) : d.toNanos();
    }

    /**
     * Stops every agent and waits for their threads together: half the stop timeout, then each thread still alive
     * is interrupted, then the other half. Marks those that did not end.
     */
    private List<String> stopAgents()
    {
        agentLoops.forEach(AgentLoop::stop);
        final long halfNs = Math.max(TimeUnit.MILLISECONDS.toNanos(1), saturatedNanos(stopTimeout) / 2);
        boolean interrupted = !joinAll(System.nanoTime() + halfNs);
        if (!interrupted)
        {
            for (final AgentLoop loop : agentLoops)
            {
                final Thread t = loop.thread();
                if (t != null && t.isAlive())
                {
                    t.interrupt();
                }
            }
            interrupted = !joinAll(System.nanoTime() + halfNs);
        }
        final List<String> stuckNames = new ArrayList<>();
        final boolean[] stuckLoops = new boolean[agentLoops.size()];
        for (int i = 0; i < agentLoops.size(); i++)
        {
            final AgentLoop loop = agentLoops.get(i);
            final Thread t = loop.thread();
            if (t != null && t.isAlive())
            {
                stuckLoops[i] = true;
                stuckNames.add(loop.agent().roleName() + (interrupted ? " (close was interrupted)" : ""));
            }
        }
        stuck = stuckLoops;
        return stuckNames;
    }

    /** @return false if the calling thread was interrupted while waiting. */
    private boolean joinAll(final long deadlineNs)
    {
        for (final AgentLoop loop : agentLoops)
        {
            final Thread t = loop.thread();
            final long leftMs = TimeUnit.NANOSECONDS.toMillis(deadlineNs - System.nanoTime());
            if (t == null)
            {
                continue;
            }
            try
            {
                t.join(Math.max(1, leftMs));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    private boolean serverStuck(final int serviceId)
    {
        return stuck != null && stuck[serviceId];
    }

    private boolean moverStuck(final int moverIndex)
    {
        return stuck != null && stuck[servers.length + moverIndex];
    }

    /**
     * Whether, once the kernel is closed, a client may consume its own submission ring: always but in MOVER mode,
     * where its mover must have ended (the kernel swept the ring after it). Read after {@link #isTerminated()}.
     */
    boolean submissionsReclaimable(final ClientRings rings)
    {
        return mode != Mode.MOVER || !moverStuck(rings.moverIndex());
    }

    /**
     * The agents have stopped: this thread is now the only reader of the rings they consumed. A ring whose agent is
     * still running (stuck in a handler) is left to that agent, which fails what is left in it when it ends: two
     * consumers would complete calls twice.
     */
    private void sweep()
    {
        final IllegalStateException closed = new IllegalStateException("kernel closed before the call was handled");
        if (mode == Mode.MOVER)
        {
            for (final Client c : clients)
            {
                if (moverStuck(c.rings().moverIndex()))
                {
                    continue;
                }
                final SubmissionRing sq = c.rings().submissions();
                int n;
                while ((n = sq.available()) > 0)
                {
                    for (int i = 0; i < n; i++)
                    {
                        final Slot slot = sq.get(i);
                        slot.fail(Status.CLOSED, closed);
                        slot.client().complete(slot);
                    }
                    sq.release(n);
                }
            }
            for (int i = 0; i < movers.length; i++)
            {
                if (!moverStuck(i))
                {
                    // Handled calls on their way back: deliver them as they are.
                    movers[i].replies().drain(slot -> slot.client().complete(slot));
                }
            }
        }
        for (final ServerAgent s : servers)
        {
            if (serverStuck(s.serviceId()))
            {
                continue;
            }
            s.requests().drain(slot ->
            {
                slot.fail(Status.CLOSED, closed);
                slot.client().complete(slot);
            });
        }
    }

    /**
     * After close, from a client thread: fails with {@link Status#CLOSED} whatever a client forwarded into a stopped
     * server's ring after the kernel swept it (a forward that began before close and ended after). The lock makes
     * each sweeper the rings' one consumer in turn; rings of servers still running (stuck in a handler) are left to
     * them.
     */
    void sweepStranded()
    {
        synchronized (lock)
        {
            final IllegalStateException closed = new IllegalStateException("kernel closed before the call was handled");
            for (final ServerAgent s : servers)
            {
                if (!serverStuck(s.serviceId()))
                {
                    s.requests().drain(slot ->
                    {
                        slot.fail(Status.CLOSED, closed);
                        slot.client().complete(slot);
                    });
                }
            }
        }
    }

    boolean isRunning()
    {
        return state == RUNNING;
    }

    boolean isTerminated()
    {
        return state == TERMINATED;
    }

    String stateName()
    {
        return STATE_NAMES[state];
    }

    /**
     * @return the mode this kernel was built with.
     */
    public Mode mode()
    {
        return mode;
    }

    /**
     * @return how many services it has; their ids are 0 to this minus 1.
     */
    public int serviceCount()
    {
        return handlers.length;
    }

    /**
     * Errors that escaped an agent's work loop: a handler's exception never does (it fails its own call), so any
     * count above 0 is a bug in Ferry, reported with its stack trace on standard error the first time. The agent
     * keeps running. Any thread.
     *
     * @return errors thrown out of the servers' and movers' work loops so far.
     */
    public long agentErrors()
    {
        long n = 0;
        for (final AgentLoop loop : agentLoops)
        {
            n += loop.errors();
        }
        return n;
    }

    /**
     * @return the first error that escaped a server's work loop, else a mover's, or null; see {@link #agentErrors()}.
     */
    public Throwable firstAgentError()
    {
        for (final AgentLoop loop : agentLoops)
        {
            if (loop.firstError() != null)
            {
                return loop.firstError();
            }
        }
        return null;
    }

    /**
     * @return the counters of every server, then every mover, then every attached client; readable while running.
     */
    public List<AgentCounters> counters()
    {
        final List<AgentCounters> all = new ArrayList<>();
        for (final ServerAgent s : servers)
        {
            all.add(s.counters());
        }
        for (final MoverAgent m : movers)
        {
            all.add(m.counters());
        }
        synchronized (lock)
        {
            for (final Client c : clients)
            {
                all.add(c.counters());
            }
        }
        return all;
    }

    /**
     * @return the threads of the kernel's agents (empty before start and in INLINE mode).
     */
    public List<Thread> agentThreads()
    {
        final List<Thread> threads = new ArrayList<>();
        for (final AgentLoop l : agentLoops)
        {
            if (l.thread() != null)
            {
                threads.add(l.thread());
            }
        }
        return threads;
    }

    @Override
    public String toString()
    {
        return "Kernel{mode=" + mode + ", services=" + handlers.length + ", movers=" + movers.length
            + ", state=" + stateName() + "}";
    }

    /**
     * Configures a {@link Kernel}. Every setter checks its argument at once and says what is allowed.
     *
     * <p>Threading: not thread-safe; use from one thread, then {@link #build()}.
     */
    public static final class Builder
    {
        private Mode mode = Mode.DIRECT;
        private final List<Handler> handlers = new ArrayList<>();
        private int movers = 1;
        private int clientCapacity = 256;
        private int serverRingCapacity = 1024;
        private int slotBytes = 64;
        private int serverBatch = 64;
        private int moverBatch = 32;
        private int maxClients = 64;
        private Duration drainTimeout = Duration.ofSeconds(5);
        private Duration stopTimeout = Duration.ofSeconds(10);
        private Duration callTimeout = Client.DEFAULT_CALL_TIMEOUT;
        private Supplier<IdleStrategy> idleStrategy = AdaptiveIdleStrategy::new;
        private AgentThreadFactory threadFactory = AgentThreadFactory.daemon();

        private Builder()
        {
        }

        /**
         * @param mode how calls reach the handlers.
         * @return this builder.
         */
        public Builder mode(final Mode mode)
        {
            this.mode = Objects.requireNonNull(mode, "mode is null; pick one of " + Arrays.toString(Mode.values()));
            return this;
        }

        /**
         * Registers a service. Ids are dense: the first service is 0, the next 1, and so on.
         *
         * @param id      the service's id, equal to the number of services registered before it.
         * @param handler the service's handler.
         * @return this builder.
         */
        public Builder service(final int id, final Handler handler)
        {
            Objects.requireNonNull(handler, "handler of service " + id + " is null");
            if (id != handlers.size())
            {
                throw new IllegalArgumentException("service id " + id + " is out of order; ids are dense and start "
                    + "at 0, so the next service must be " + handlers.size());
            }
            handlers.add(handler);
            return this;
        }

        /**
         * @param movers how many movers share the clients (MOVER mode); at least 1.
         * @return this builder.
         */
        public Builder movers(final int movers)
        {
            if (movers < 1)
            {
                throw new IllegalArgumentException("movers is " + movers + "; it must be at least 1");
            }
            this.movers = movers;
            return this;
        }

        /**
         * @param capacity slots per client, which bounds its calls in flight, and entries in its submission and
         *                 completion rings; a power of two, at least 2.
         * @return this builder.
         */
        public Builder clientCapacity(final int capacity)
        {
            this.clientCapacity = Capacity.check("clientCapacity", capacity, 2);
            return this;
        }

        /**
         * @param capacity entries in each server's request ring; a power of two, at least 2.
         * @return this builder.
         */
        public Builder serverRingCapacity(final int capacity)
        {
            this.serverRingCapacity = Capacity.check("serverRingCapacity", capacity, 2);
            return this;
        }

        /**
         * @param bytes the payload size of a slot, the largest request or reply; from 1 to 1 MiB.
         * @return this builder.
         */
        public Builder slotBytes(final int bytes)
        {
            if (bytes < 1 || bytes > (1 << 20))
            {
                throw new IllegalArgumentException("slotBytes is " + bytes + "; it must be from 1 to 1048576");
            }
            this.slotBytes = bytes;
            return this;
        }

        /**
         * @param limit most calls a server handles per duty cycle; at least 1.
         * @return this builder.
         */
        public Builder serverBatch(final int limit)
        {
            if (limit < 1)
            {
                throw new IllegalArgumentException("serverBatch is " + limit + "; it must be at least 1");
            }
            this.serverBatch = limit;
            return this;
        }

        /**
         * @param limit most calls a mover moves from one client per pass; at least 1.
         * @return this builder.
         */
        public Builder moverBatch(final int limit)
        {
            if (limit < 1)
            {
                throw new IllegalArgumentException("moverBatch is " + limit + "; it must be at least 1");
            }
            this.moverBatch = limit;
            return this;
        }

        /**
         * @param max most clients attached at once; at least 1.
         * @return this builder.
         */
        public Builder maxClients(final int max)
        {
            if (max < 1)
            {
                throw new IllegalArgumentException("maxClients is " + max + "; it must be at least 1");
            }
            this.maxClients = max;
            return this;
        }

        /**
         * @param timeout how long {@link Kernel#close()} lets calls in flight finish; 0 or more.
         * @return this builder.
         */
        public Builder drainTimeout(final Duration timeout)
        {
            Objects.requireNonNull(timeout, "drainTimeout is null");
            if (timeout.isNegative())
            {
                throw new IllegalArgumentException("drainTimeout is " + timeout + "; it must not be negative");
            }
            this.drainTimeout = timeout;
            return this;
        }

        /**
         * @param timeout how long {@link Kernel#close()} waits for the agents' threads to end once asked to stop,
         *                interrupting them halfway through; positive. A thread still running then is reported by close
         *                with an exception and left to end when its handler returns.
         * @return this builder.
         */
        public Builder stopTimeout(final Duration timeout)
        {
            Objects.requireNonNull(timeout, "stopTimeout is null");
            if (timeout.isNegative() || timeout.isZero())
            {
                throw new IllegalArgumentException("stopTimeout is " + timeout + "; it must be positive");
            }
            this.stopTimeout = timeout;
            return this;
        }

        /**
         * @param timeout the call timeout of the kernel's clients, until a client sets its own
         *                ({@link Client#callTimeout(Duration)}) or a call passes one; positive. Default
         *                {@link Client#DEFAULT_CALL_TIMEOUT}.
         * @return this builder.
         */
        public Builder callTimeout(final Duration timeout)
        {
            this.callTimeout = Client.checkTimeout(timeout, "callTimeout");
            return this;
        }

        /**
         * @param supplier makes one idle strategy per polling agent and per client (not used by BLOCKING servers,
         *                 which park until woken).
         * @return this builder.
         */
        public Builder idleStrategy(final Supplier<IdleStrategy> supplier)
        {
            this.idleStrategy = Objects.requireNonNull(supplier, "idle strategy supplier is null");
            return this;
        }

        /**
         * @param factory makes the agents' threads; the affinity module's factory pins them.
         * @return this builder.
         */
        public Builder threadFactory(final AgentThreadFactory factory)
        {
            this.threadFactory = Objects.requireNonNull(factory, "thread factory is null");
            return this;
        }

        /**
         * @return a kernel, not yet started.
         * @throws IllegalStateException if no service was registered, or the JVM lacks the flag Agrona needs.
         */
        public Kernel build()
        {
            AgronaAccess.check();
            if (handlers.isEmpty())
            {
                throw new IllegalStateException("no services: register at least one with service(0, handler)");
            }
            return new Kernel(this);
        }
    }
}
