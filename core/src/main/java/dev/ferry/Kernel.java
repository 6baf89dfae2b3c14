package dev.ferry;

import dev.ferry.AgronaAccess;
import dev.ferry.Mode;
import dev.ferry.agent.AgentRole;
import dev.ferry.agent.AgentThreadFactory;
import dev.ferry.idle.AdaptiveIdleStrategy;
import dev.ferry.idle.ParkingIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
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
 *     <li>in-process (no name): direct memory; servers for the builder's {@link Builder#service services} run on
 *     agent threads of this kernel, and {@link #newClient()} gives callers on this JVM's threads;</li>
 *     <li>shared memory ({@link Builder#name} or {@link Builder#directory}): a mapped file
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
 * {@link AgentRole#MOVER} index 0 for the kernel's, {@link AgentRole#SERVER} and the service id for each server.
 */
public final class Kernel implements AutoCloseable
{
    private final Mapping mapping;
    private final IpcLayout layout;
    private final UnsafeBuffer header;
    private final Timeouts timeouts;
    private final Mode mode;
    private final int moverBatch;
    private final Duration drainTimeout;
    private final IdleStrategy idle;
    private final AgentThreadFactory threadFactory;
    private final RingReader[] sqReaders;
    private final LaneWriter[] cqs;
    /** The mover's request lanes, per client and service, made on first use. */
    private final LaneWriter[][] requestLanes;
    private final long[][] quarantinePasses;
    private final Forwarder forwarder = new Forwarder();
    /** In-process MOVER mode: the services the current pass forwarded to, whose servers it wakes at its end. */
    private final boolean[] forwardedTo;

    private final AtomicLong forwarded = new AtomicLong();
    private final AtomicLong reclaimed = new AtomicLong();
    private final AtomicLong corruptRecords = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();

    private static final AtomicInteger NEXT_ID = new AtomicInteger();

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

    private Kernel(final Builder b, final Mapping mapping)
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
        this.moverBatch = b.moverBatch;
        this.drainTimeout = b.drainTimeout;
        this.idle = b.idleStrategy.get();
        this.threadFactory = b.threadFactory;
        final int clients = layout.maxClients;
        this.sqReaders = new RingReader[clients];
        this.cqs = new LaneWriter[clients];
        this.requestLanes = new LaneWriter[clients][];
        this.quarantinePasses = new long[clients][layout.maxServices];
        this.forwardedTo = new boolean[layout.maxServices];
        for (int c = 0; c < clients; c++)
        {
            sqReaders[c] = new RingReader(
                IpcLayout.ring(header, layout.sqOffset(c), layout.sqBytes), IpcLayout.REQUEST_TYPE,
                timeouts.clientTimeoutNs());
            cqs[c] = new LaneWriter(IpcLayout.ring(header, layout.cqOffset(c), layout.cqBytes));
        }
    }

    /**
     * @return a builder with the defaults: in-process, DIRECT mode, 16 clients, 256-byte slots, 64 calls in flight
     * per client, 10 s call deadlines, 1 s liveness timeouts.
     */
    public static Builder builder()
    {
        return new Builder();
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
        thread = threadFactory.newThread(AgentRole.MOVER, 0, this::run);
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
        final IdleStrategy clientIdle = mode == Mode.BLOCKING ? ParkingIdleStrategy.INSTANCE : idleStrategy.get();
        return LaneClient.attach(mapping.share(), clientIdle, wakeups).callTimeout(callTimeout);
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
     * @return the threads of this kernel's agents: its own (housekeeping, and the mover in MOVER mode), then one per
     * server it runs, in service order.
     */
    public List<Thread> agentThreads()
    {
        final List<Thread> threads = new ArrayList<>();
        if (thread != null)
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
                    work = movePass();
                }
                if ((++loops & 63) == 0 || work == 0)
                {
                    final long now = System.nanoTime();
                    if (now - lastHousekeeping >= timeouts.heartbeatIntervalNs() / 2)
                    {
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

    private int movePass()
    {
        int work = 0;
        for (int c = 0; c < layout.maxClients; c++)
        {
            // State and generation in one read, as the servers read them: never a new occupant's generation paired
            // with an old occupant's state.
            final long word = EntryTable.lvWord(header, layout.clientEntry(c));
            if (EntryTable.state(word) != IpcLayout.ATTACHED)
            {
                continue;
            }
            forwarder.client = c;
            forwarder.generation = EntryTable.generation(word);
            try
            {
                work += sqReaders[c].read(forwarder, moverBatch);
            }
            catch (final RuntimeException ex)
            {
                // Defence in depth: should a check have missed a case of corrupt memory, count it instead of
                // killing the mover; the client learns through its epoch.
                corruptRecords.incrementAndGet();
                bumpEpoch(c);
                work++;
            }
        }
        if (work > 0 && wakeups != null)
        {
            // Once per pass, each server this pass handed calls to: its idle strategy parks awaiting a wake-up.
            for (int s = 0; s < forwardedTo.length; s++)
            {
                if (forwardedTo[s])
                {
                    forwardedTo[s] = false;
                    wakeups.server(s);
                }
            }
        }
        return work;
    }

    /** Routes requests from one client's submission ring into its request lanes. */
    private final class Forwarder implements RingReader.RecordHandler
    {
        int client;
        int generation;

        @Override
        public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
        {
            if (length < IpcLayout.MSG_HEADER)
            {
                corruptRecords.incrementAndGet();
                return RingReader.CORRUPT;
            }
            final long callId = buffer.getLong(index + IpcLayout.CALL_ID_OFFSET);
            final int slot = buffer.getInt(index + IpcLayout.REQ_SLOT_OFFSET);
            final int service = buffer.getInt(index + IpcLayout.REQ_SERVICE_OFFSET);
            final int payload = length - IpcLayout.MSG_HEADER;
            if (buffer.getInt(index + IpcLayout.REQ_CLIENT_OFFSET) != client
                || buffer.getInt(index + IpcLayout.REQ_GENERATION_OFFSET) != generation
                || slot < 0 || slot >= layout.maxInFlight || callId < 0
                || payload < 0 || payload > layout.slotBytes || payload > length - IpcLayout.MSG_HEADER)
            {
                corruptRecords.incrementAndGet();
                // Unidentifiable: the resynchronisation bumps the client's epoch; it fails what it has in flight.
                return RingReader.CORRUPT;
            }
            if (service < 0 || service >= layout.maxServices)
            {
                corruptRecords.incrementAndGet();
                return reply(callId, slot, service, IpcLayout.STATUS_FAILED, "corrupt request record: service id "
                    + service + " outside 0-" + (layout.maxServices - 1));
            }
            if (!serverAlive(service, System.nanoTime()))
            {
                refused.incrementAndGet();
                return reply(callId, slot, service, IpcLayout.STATUS_FAILED, "service " + service
                    + " has no live server; start one with Server.builder()...service(" + service + ", handler)");
            }
            final LaneWriter lane = requestLane(client, service);
            if (!lane.write(IpcLayout.REQUEST_TYPE, buffer, index, IpcLayout.MSG_HEADER + payload))
            {
                // The server has not caught up with this client's lane: the rest of the SQ waits, in order.
                return RingReader.STOP;
            }
            forwarded.incrementAndGet();
            forwardedTo[service] = true;
            return RingReader.CONSUMED;
        }

        private int reply(final long callId, final int slot, final int service, final int status, final String m)
        {
            final byte[] text = m.getBytes(StandardCharsets.UTF_8);
            final int len = Math.min(text.length, layout.slotBytes);
            final LaneWriter cq = cqs[client];
            final int claimed = cq.claim(IpcLayout.REPLY_TYPE, IpcLayout.MSG_HEADER + len);
            if (claimed < 0)
            {
                return RingReader.STOP;
            }
            final UnsafeBuffer b = cq.buffer();
            IpcLayout.putReplyHeader(b, claimed, callId, generation, service, slot, status);
            b.putBytes(claimed + IpcLayout.MSG_HEADER, text, 0, len);
            cq.commit(claimed);
            return RingReader.CONSUMED;
        }

        @Override
        public void onResync(final String why)
        {
            corruptRecords.incrementAndGet();
            bumpEpoch(client);
        }
    }

    private LaneWriter requestLane(final int client, final int service)
    {
        LaneWriter[] lanes = requestLanes[client];
        if (lanes == null)
        {
            lanes = new LaneWriter[layout.maxServices];
            requestLanes[client] = lanes;
        }
        LaneWriter lane = lanes[service];
        if (lane == null)
        {
            lane = new LaneWriter(IpcLayout.ring(header, layout.requestLaneOffset(client, service), layout.laneBytes));
            lanes[service] = lane;
        }
        return lane;
    }

    private void bumpEpoch(final int client)
    {
        final int offset = layout.clientEntry(client) + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET;
        header.putLongVolatile(offset, header.getLongVolatile(offset) + 1);
    }

    private boolean serverAlive(final int service, final long now)
    {
        final int entry = layout.serverEntry(service);
        return header.getIntVolatile(entry + IpcLayout.ENTRY_STATE_OFFSET) == IpcLayout.ATTACHED
            && now - header.getLongVolatile(entry + IpcLayout.ENTRY_HEARTBEAT_OFFSET) <= timeouts.serverTimeoutNs();
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

    /**
     * @return where the mapping lives.
     */
    public Path directory()
    {
        return mapping.directory;
    }

    /**
     * @return the mode clients use to reach servers.
     */
    public Mode mode()
    {
        return mode;
    }

    /**
     * @return clients attached now.
     */
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

    /**
     * @return requests the mover has routed to servers (MOVER mode).
     */
    public long forwarded()
    {
        return forwarded.get();
    }

    /**
     * @return clients whose rings were reclaimed because they stopped heartbeating.
     */
    public long reclaimedClients()
    {
        return reclaimed.get();
    }

    /**
     * @return corrupt records and rings the mover met (each became an error completion or a resynchronisation).
     */
    public long corruptRecords()
    {
        return corruptRecords.get();
    }

    /**
     * @return whether the agent is running (false after close, or if it died: {@link #failure()} says why).
     */
    public boolean isRunning()
    {
        return running && agentFailure == null && thread != null && thread.isAlive();
    }

    /**
     * @return what killed the agent, or null.
     */
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
            throw new IllegalStateException(method + " on the IPC kernel at " + mapping.directory
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
            if (!sqReaders[c].isEmpty())
            {
                return false;
            }
            for (int s = 0; s < layout.maxServices; s++)
            {
                // MOVER: the server has consumed the lane; DIRECT: it has answered every call in it.
                if (serverAlive(s, now) && !(layout.mover()
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

    /**
     * Settings of an {@link Kernel}.
     *
     * <p>Not thread-safe: configure and build on one thread.
     */
    public static final class Builder
    {
        private Path directory;
        private Mode mode = Mode.DIRECT;
        private int services = 1;
        private Handler[] handlers = new Handler[0];
        private int serverBatch = 64;
        private Duration stopTimeout = Duration.ofSeconds(5);
        private Duration callTimeout = Client.DEFAULT_CALL_TIMEOUT;
        private int maxClients = 16;
        private int slotBytes = 256;
        private int maxInFlight = 64;
        private int laneBytes;
        private int moverBatch = 32;
        private Duration drainTimeout = Duration.ofSeconds(1);
        private Timeouts timeouts = Timeouts.DEFAULTS;
        private Supplier<IdleStrategy> idleStrategy = AdaptiveIdleStrategy::new;
        private AgentThreadFactory threadFactory = AgentThreadFactory.daemon();

        private Builder()
        {
        }

        /**
         * @param name the kernel's name: its directory is {@code /dev/shm/ferry-<user>/<name>} (or under the base named
         *             by the system property {@code ferry.ipc.dir}).
         * @return this builder.
         */
        public Builder name(final String name)
        {
            this.directory = Mapping.defaultDirectory(name);
            return this;
        }

        /**
         * @param directory where to put the mapping instead, e.g. when {@code /dev/shm} is missing or too small;
         *                  its parent must exist. Servers and clients must attach to the same directory.
         * @return this builder.
         */
        public Builder directory(final Path directory)
        {
            this.directory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        /**
         * @param mode how calls reach the handlers; DIRECT by default. INLINE and BLOCKING need an in-process kernel.
         * @return this builder.
         */
        public Builder mode(final Mode mode)
        {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * Serves a service in this kernel's process: a server agent (INLINE: the caller's thread) runs
         * {@code handler} for every call to {@code id}.
         *
         * @param id      the service id, from 0; the kernel has at least {@code id + 1} services.
         * @param handler its handler.
         * @return this builder.
         * @throws IllegalArgumentException for a negative id, or one given twice.
         */
        public Builder service(final int id, final Handler handler)
        {
            Objects.requireNonNull(handler, "handler");
            if (id < 0 || id >= IpcLayout.MAX_SERVICES_LIMIT)
            {
                throw new IllegalArgumentException("service id " + id + " is outside 0-"
                    + (IpcLayout.MAX_SERVICES_LIMIT - 1));
            }
            if (id >= handlers.length)
            {
                handlers = java.util.Arrays.copyOf(handlers, id + 1);
            }
            if (handlers[id] != null)
            {
                throw new IllegalArgumentException("service " + id + " was given twice");
            }
            handlers[id] = handler;
            services = Math.max(services, id + 1);
            return this;
        }

        /**
         * @param services how many services (ids 0 to services - 1) servers may attach to; at least one more than the
         *                 highest id given to {@link #service}.
         * @return this builder.
         */
        public Builder services(final int services)
        {
            this.services = services;
            return this;
        }

        /**
         * @param batch most calls a server answers from one client's lane per pass before it looks at the next.
         * @return this builder.
         */
        public Builder serverBatch(final int batch)
        {
            if (batch < 1)
            {
                throw new IllegalArgumentException("server batch " + batch + " must be at least 1");
            }
            this.serverBatch = batch;
            return this;
        }

        /**
         * @param timeout how long {@link Kernel#close()} waits for each of its servers to stop (then interrupts it).
         * @return this builder.
         */
        public Builder stopTimeout(final Duration timeout)
        {
            this.stopTimeout = positive(timeout, "stop timeout");
            return this;
        }

        /**
         * @param timeout the deadline of every call of a client made by {@link Kernel#newClient()}, unless the
         *                client or the call says else; {@link Client#DEFAULT_CALL_TIMEOUT} by default.
         * @return this builder.
         */
        public Builder callTimeout(final Duration timeout)
        {
            this.callTimeout = positive(timeout, "call timeout");
            return this;
        }

        private static Duration positive(final Duration timeout, final String what)
        {
            Objects.requireNonNull(timeout, what);
            if (timeout.isNegative() || timeout.isZero())
            {
                throw new IllegalArgumentException(what + " " + timeout + " must be positive");
            }
            return timeout;
        }

        /**
         * @param maxClients how many clients may be attached at once.
         * @return this builder.
         */
        public Builder maxClients(final int maxClients)
        {
            this.maxClients = maxClients;
            return this;
        }

        /**
         * @param slotBytes the largest request or reply, in bytes.
         * @return this builder.
         */
        public Builder slotBytes(final int slotBytes)
        {
            this.slotBytes = slotBytes;
            return this;
        }

        /**
         * @param maxInFlight calls one client may have in flight before {@code submit} returns back-pressure.
         * @return this builder.
         */
        public Builder maxInFlight(final int maxInFlight)
        {
            this.maxInFlight = maxInFlight;
            return this;
        }

        /**
         * @param bytes capacity of each lane (the request ring and the reply ring of one client and one service), a
         *              power of two from 1024 holding at least eight records of the largest slot; 0 (the default)
         *              for one that holds a client's {@code maxInFlight} calls. A smaller lane holds calls back
         *              (staged, sent on as the server catches up) and makes the server wait for the client to read
         *              its replies.
         * @return this builder.
         */
        public Builder laneBytes(final int bytes)
        {
            this.laneBytes = bytes;
            return this;
        }

        /**
         * @param batch most requests the mover takes from one client per pass.
         * @return this builder.
         */
        public Builder moverBatch(final int batch)
        {
            if (batch < 1)
            {
                throw new IllegalArgumentException("mover batch " + batch + " must be at least 1");
            }
            this.moverBatch = batch;
            return this;
        }

        /**
         * @param timeout how long {@link Kernel#close()} lets calls in flight drain.
         * @return this builder.
         */
        public Builder drainTimeout(final Duration timeout)
        {
            Objects.requireNonNull(timeout, "drain timeout");
            if (timeout.isNegative())
            {
                throw new IllegalArgumentException("drain timeout " + timeout + " must not be negative");
            }
            this.drainTimeout = timeout;
            return this;
        }

        /**
         * @param timeouts heartbeat interval and liveness timeouts, written into the mapping for every process.
         * @return this builder.
         */
        public Builder timeouts(final Timeouts timeouts)
        {
            this.timeouts = Objects.requireNonNull(timeouts, "timeouts");
            return this;
        }

        /**
         * @param supplier the idle strategy of the mover (MOVER mode), of the servers this kernel runs, and of the
         *                 waits of the clients it makes; BLOCKING mode parks instead.
         * @return this builder.
         */
        public Builder idleStrategy(final Supplier<IdleStrategy> supplier)
        {
            this.idleStrategy = Objects.requireNonNull(supplier, "supplier");
            return this;
        }

        /**
         * @param factory makes the kernel's agent threads (role MOVER index 0; SERVER and the service id), e.g.
         *                pinning ones.
         * @return this builder.
         */
        public Builder threadFactory(final AgentThreadFactory factory)
        {
            this.threadFactory = Objects.requireNonNull(factory, "factory");
            return this;
        }

        /**
         * Creates the kernel's memory: direct memory in-process, or the mapping in its directory (a mapping left by
         * a kernel that died is replaced; one whose kernel still heartbeats is refused).
         *
         * @return the kernel, not yet started.
         * @throws IllegalArgumentException naming the setting out of range.
         * @throws IllegalStateException    for INLINE or BLOCKING across processes, or a live kernel in the directory.
         */
        public Kernel build()
        {
            AgronaAccess.check();
            if (services < handlers.length)
            {
                throw new IllegalArgumentException("services(" + services + ") leaves out service "
                    + (handlers.length - 1) + " given to service(); raise it or leave it out");
            }
            final IpcLayout layout = IpcLayout.of(
                mode == Mode.MOVER ? IpcLayout.MODE_MOVER : IpcLayout.MODE_DIRECT,
                maxClients, services, slotBytes, maxInFlight, laneBytes);
            if (directory == null)
            {
                return new Kernel(this, Mapping.inMemory("kernel-" + NEXT_ID.incrementAndGet(), layout, timeouts));
            }
            if (mode == Mode.INLINE || mode == Mode.BLOCKING)
            {
                throw new IllegalStateException("mode " + mode + " needs one JVM (it runs handlers on the caller's "
                    + "thread, or unparks threads): leave out name() and directory() for an in-process kernel, or use "
                    + "DIRECT or MOVER across processes");
            }
            final Path file = directory.resolve(IpcLayout.FILE_NAME);
            if (Files.exists(file))
            {
                refuseIfLive(file);
            }
            return new Kernel(this, Mapping.create(directory, layout, timeouts));
        }

        private void refuseIfLive(final Path file)
        {
            Mapping old = null;
            try
            {
                old = Mapping.open(directory);
                final UnsafeBuffer h = old.buffer;
                final long pid = h.getLong(IpcLayout.KERNEL_PID_OFFSET);
                final int state = h.getIntVolatile(IpcLayout.KERNEL_STATE_OFFSET);
                final long silence = System.nanoTime() - h.getLongVolatile(IpcLayout.KERNEL_HEARTBEAT_OFFSET);
                final long timeout = h.getLong(IpcLayout.KERNEL_TIMEOUT_OFFSET);
                if (state != IpcLayout.KERNEL_CLOSED && silence >= 0 && silence <= Math.max(timeout, 1_000_000L)
                    && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                {
                    throw new IllegalStateException("a Ferry IPC kernel (pid " + pid + ") is already running at "
                        + directory + "; close it first, or pick another name or directory");
                }
            }
            catch (final IllegalStateException ex)
            {
                if (ex.getMessage() != null && ex.getMessage().startsWith("a Ferry IPC kernel"))
                {
                    throw ex;
                }
                // Not a readable mapping: replaced below.
            }
            finally
            {
                if (old != null)
                {
                    old.close();
                }
            }
        }
    }
}
