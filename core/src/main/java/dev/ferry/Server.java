package dev.ferry;

import dev.ferry.AgronaAccess;
import dev.ferry.Handler;
import dev.ferry.agent.AgentRole;
import dev.ferry.agent.AgentThreadFactory;
import dev.ferry.idle.AdaptiveIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * A server process's side of Ferry across processes: it attaches one {@link Handler} to a service of a running
 * {@link Kernel} and serves it on its own agent thread: it polls each attached client's request lane to the
 * service. In DIRECT mode it writes each reply over its request, in the same record (a {@link CallLane}: one cache
 * line there and back for a small call); in MOVER mode it writes each reply into that client's reply lane. The
 * handler is the same as in one JVM: request in {@code [0, length)}, reply written from index 0 of the same buffer.
 *
 * <p>Every request record is checked before use: a record whose fields are out of range, or whose client is not the
 * one attached now, is counted and, when its caller can be told, answered with a FAILED completion. A server that
 * attaches to a service whose previous server died takes its place; requests the dead one left unread are
 * discarded or answered FAILED (their callers fail them when they see it replaced), and a reply it died writing is
 * padded over or answered FAILED. A server that finds itself replaced (it was suspended past the server timeout)
 * stops.
 *
 * <p>Threading: build, start and close from one thread; the handler runs only on the server's agent thread (made by
 * the builder's {@link AgentThreadFactory}, role {@link AgentRole#SERVER}, index = service id), one call at a time,
 * each client's calls in the order it submitted them. Counters may be read from any thread.
 */
public final class Server implements AutoCloseable, RingReader.RecordHandler, CallLane.Calls
{
    private final Mapping mapping;
    private final IpcLayout layout;
    private final UnsafeBuffer header;
    private final int service;
    private final int entry;
    private final Handler handler;
    private final IdleStrategy idle;
    private final int batch;
    private final long kernelTimeoutNs;
    private final boolean moverMode;
    // MOVER mode: the lanes the mover fills and the lanes the replies go to. DIRECT mode: the call lanes, answered
    // in place.
    private final RingReader[] requestLanes;
    private final LaneWriter[] replyLanes;
    private final CallLane[] callLanes;
    private final int[] scan;
    private int scanCount;
    private long seenAttaches = -1;
    private int currentClient;
    private int currentGeneration;
    // MOVER mode: the handler's buffer, each request copied in and its reply copied out (null in DIRECT mode).
    private final byte[] messageBytes;
    private final UnsafeBuffer message;
    /** DIRECT mode: the handler's view of the call being served, in its record. */
    private final UnsafeBuffer callView = new UnsafeBuffer(0, 0);
    private final Object heartbeat;
    private final int generation;
    private final long discardedAtAttach;
    private final Thread thread;
    private final Wakeups wakeups;

    /** The servers of this process, for the re-entrancy check; copied on write (attach and close are rare). */
    private static final Object REGISTRY_LOCK = new Object();
    private static volatile Server[] inProcess = new Server[0];

    private final AtomicLong served = new AtomicLong();
    private final AtomicLong corrupt = new AtomicLong();
    private final AtomicLong stale = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();

    private volatile boolean running = true;
    private volatile String stopReason;
    private long pass;
    private boolean closed;
    private boolean stopAsked;

    /**
     * Attaches a server to a kernel's memory and starts its agent.
     *
     * @param wakeups the in-process wake-up policy, or null across processes.
     */
    Server(
        final Mapping mapping, final int service, final Handler handler, final int batch, final IdleStrategy idle,
        final AgentThreadFactory threadFactory, final Wakeups wakeups)
    {
        this.mapping = mapping;
        this.layout = mapping.layout;
        this.header = mapping.buffer;
        this.service = service;
        this.handler = handler;
        this.idle = idle;
        this.batch = batch;
        this.wakeups = wakeups;
        this.kernelTimeoutNs = header.getLong(IpcLayout.KERNEL_TIMEOUT_OFFSET);
        if (service < 0 || service >= layout.maxServices)
        {
            mapping.close();
            throw new IllegalArgumentException("service id " + service + " is outside 0-" + (layout.maxServices - 1)
                + ", the services of the kernel at " + mapping.directory);
        }
        checkKernel(mapping);
        this.entry = layout.serverEntry(service);
        final long clientTimeout = header.getLong(IpcLayout.CLIENT_TIMEOUT_OFFSET);
        this.moverMode = layout.mover();
        this.requestLanes = moverMode ? new RingReader[layout.maxClients] : null;
        this.replyLanes = moverMode ? new LaneWriter[layout.maxClients] : null;
        this.callLanes = moverMode ? null : new CallLane[layout.maxClients];
        this.scan = new int[layout.maxClients];
        for (int c = 0; c < layout.maxClients; c++)
        {
            final UnsafeBuffer lane = IpcLayout.ring(header, layout.requestLaneOffset(c, service), layout.laneBytes);
            if (moverMode)
            {
                // A header left uncommitted for longer than the client timeout is resynchronised: it is either
                // garbage (corrupt memory) or a mover stalled mid-write.
                requestLanes[c] = new RingReader(lane, IpcLayout.REQUEST_TYPE, clientTimeout);
                replyLanes[c] = new LaneWriter(
                    IpcLayout.ring(header, layout.replyLaneOffset(c, service), layout.laneBytes));
            }
            else
            {
                callLanes[c] = new CallLane(lane, layout.slotBytes);
            }
        }
        this.messageBytes = moverMode ? new byte[Math.max(1, layout.slotBytes)] : null;
        this.message = moverMode ? new UnsafeBuffer(messageBytes, 0, layout.slotBytes) : null;

        final long serverTimeout = header.getLong(IpcLayout.SERVER_TIMEOUT_OFFSET);
        final int claimed = EntryTable.claimByServer(
            header, entry, ProcessHandle.current().pid(), System.nanoTime(), serverTimeout);
        if (claimed < 0)
        {
            final String why = EntryTable.serverRefusal(header, entry, claimed, service);
            mapping.close();
            throw new IllegalStateException(why + " at the kernel at " + mapping.directory + (claimed
                == EntryTable.LOST_RACE ? "" : "; close it first, or wait " + Duration.ofNanos(serverTimeout).toMillis()
                + " ms after it died"));
        }
        this.generation = claimed;
        // Stamped from the claim on (the takeover below touches client lanes and must not look dead), while the agent
        // thread lives: an agent that died of an Error stops heartbeating even though its process goes on, so its
        // callers fail within the server timeout instead of waiting for their deadlines.
        this.heartbeat = Heartbeats.register(header, entry + IpcLayout.ENTRY_HEARTBEAT_OFFSET,
            header.getLong(IpcLayout.HEARTBEAT_INTERVAL_OFFSET), this::agentAlive);
        // The pass counter goes on from the entry's: the kernel's barrier compares counts across occupants.
        this.pass = EntryTable.lvPass(header, entry);
        long discarded = 0;
        for (int c = 0; c < layout.maxClients; c++)
        {
            final int clientEntry = layout.clientEntry(c);
            final long word = EntryTable.lvWordInPass(header, clientEntry);
            if (EntryTable.state(word) == IpcLayout.ATTACHED)
            {
                if (moverMode)
                {
                    // Requests the previous server left unread: their callers fail them when they see it replaced.
                    discarded += requestLanes[c].skipAll();
                    // A reply the previous server claimed but never committed would hold its client's reader up.
                    replyLanes[c].padUncommitted();
                }
                else
                {
                    // The same, in place: calls left unread, and a reply the previous server died writing, are
                    // answered FAILED.
                    discarded += callLanes[c].takeOver(EntryTable.generation(word), service);
                }
            }
        }
        this.discardedAtAttach = discarded;
        // The walk touched client lanes: the kernel's barrier waits for this count to move before releasing one.
        header.putLongVolatile(entry + IpcLayout.ENTRY_PASS_OFFSET, ++pass);
        if (!EntryTable.publish(header, entry, generation))
        {
            Heartbeats.unregister(heartbeat);
            mapping.close();
            throw new IllegalStateException("service " + service + " of the kernel at " + mapping.directory
                + " was taken by another server while this one attached (attaching took longer than the server "
                + "timeout: was this process suspended?)");
        }
        this.thread = threadFactory.newThread(AgentRole.SERVER, service, this::run);
        if (wakeups != null)
        {
            wakeups.server(service, thread, idle);
        }
        register(this);
        thread.start();
    }

    private static void register(final Server server)
    {
        synchronized (REGISTRY_LOCK)
        {
            final Server[] old = inProcess;
            final Server[] grown = java.util.Arrays.copyOf(old, old.length + 1);
            grown[old.length] = server;
            inProcess = grown;
        }
    }

    private static void deregister(final Server server)
    {
        synchronized (REGISTRY_LOCK)
        {
            inProcess = java.util.Arrays.stream(inProcess).filter(s -> s != server).toArray(Server[]::new);
        }
    }

    /**
     * @return true when the calling thread is the agent thread of a server of this process serving {@code service}
     * of the kernel whose memory {@code mapping} views: a call from there to that service would wait for itself.
     */
    static boolean servesOnThisThread(final Mapping mapping, final int service)
    {
        final Server[] servers = inProcess;
        if (servers.length == 0)
        {
            return false;
        }
        final Thread current = Thread.currentThread();
        for (final Server s : servers)
        {
            if (s.thread == current && s.service == service && (s.mapping == mapping || !mapping.inProcess()
                && s.mapping.directory.toAbsolutePath().normalize().equals(mapping.directory.toAbsolutePath().normalize())))
            {
                return true;
            }
        }
        return false;
    }

    static void checkKernel(final Mapping mapping)
    {
        final UnsafeBuffer h = mapping.buffer;
        final int state = h.getIntVolatile(IpcLayout.KERNEL_STATE_OFFSET);
        final long silence = System.nanoTime() - h.getLongVolatile(IpcLayout.KERNEL_HEARTBEAT_OFFSET);
        final long timeout = h.getLong(IpcLayout.KERNEL_TIMEOUT_OFFSET);
        if (state != IpcLayout.KERNEL_RUNNING || silence > timeout)
        {
            final String why = state == IpcLayout.KERNEL_RUNNING
                ? "has not heartbeaten for " + silence / 1_000_000 + " ms (pid "
                + h.getLong(IpcLayout.KERNEL_PID_OFFSET) + " died?)"
                : state == IpcLayout.KERNEL_STARTING ? "has not started" : "is closing or closed";
            mapping.close();
            throw new IllegalStateException("the Ferry IPC kernel at " + mapping.directory + " " + why
                + "; start it (again) and attach afterwards");
        }
    }

    /**
     * @return a builder; name or directory, service and handler are required.
     */
    public static Builder builder()
    {
        return new Builder();
    }

    private void run()
    {
        int loops = 0;
        try
        {
            while (running)
            {
                // The entry lies inside the mapping (its service id was checked): unchecked reads and writes.
                if (replaced())
                {
                    // Replaced: this server was taken for dead (suspended past the server timeout?) and another
                    // attached. Its lanes have a producer and a consumer already.
                    stopReason = "another server attached to service " + service + " after this one stopped "
                        + "heartbeating for longer than the server timeout";
                    running = false;
                    break;
                }
                int n = 0;
                try
                {
                    n = pass();
                }
                catch (final RuntimeException ex)
                {
                    // Defence in depth: nothing read from the mapping is trusted, but should a check have missed a
                    // case, an exception counts as corruption instead of killing the server. Which lane it came from
                    // is not known here: every caller learns through the service's epoch.
                    n = 1;
                    corruptRecord();
                    bumpEpoch();
                }
                // Volatile, not just release: the next pass's read of a client's state must not be reordered before
                // this store, or the kernel could record this count, see it land, and zero a block the next pass
                // writes (EntryTable's class comment). After the replies, so it adds nothing to a call's latency.
                RawMemory.putLongVolatile(header, entry + IpcLayout.ENTRY_PASS_OFFSET, ++pass);
                if ((++loops & 1023) == 0 || (n == 0 && (loops & 63) == 0))
                {
                    checkKernelAlive();
                }
                idle.idle(n);
            }
        }
        catch (final Throwable t)
        {
            stopReason = "server agent failed: " + t;
            running = false;
            try
            {
                // Tell the callers now rather than after the server timeout: the entry is still this generation's.
                EntryTable.detach(header, entry, generation);
                header.putLongVolatile(entry + IpcLayout.ENTRY_PASS_OFFSET, ++pass);
            }
            catch (final InternalError fault)
            {
                // The mapping itself faulted (its file was truncated): nothing more to tell through it.
                t.addSuppressed(fault);
            }
            throw t;
        }
        header.putLongVolatile(entry + IpcLayout.ENTRY_PASS_OFFSET, ++pass);
    }

    /**
     * @return true when another server has taken this service's entry (this one was taken for dead). One read of
     * this server's own entry, a line written only at attach and by the heartbeat stamper.
     */
    private boolean replaced()
    {
        return RawMemory.getInt(header, entry + IpcLayout.ENTRY_GENERATION_OFFSET) != generation;
    }

    private boolean agentAlive()
    {
        // Not started yet (NEW) counts as alive: only an agent that ran and ended stops the heartbeat.
        final Thread t = thread;
        return t == null || t.getState() != Thread.State.TERMINATED;
    }

    /**
     * One look at the request lane of every client that may be attached: a lane that shows a record is read (up to
     * the batch) if its client is still attached. DIRECT: each call is answered in place. MOVER: its replies go into
     * the client's reply lane, and the request lane's head moves only after them.
     */
    private int pass()
    {
        final long attaches = RawMemory.getLongVolatile(header, IpcLayout.ATTACH_COUNT_OFFSET);
        if (attaches != seenAttaches)
        {
            seenAttaches = attaches;
            int n = 0;
            for (int c = 0; c < layout.maxClients; c++)
            {
                final int state = header.getIntVolatile(layout.clientEntry(c) + IpcLayout.ENTRY_STATE_OFFSET);
                if (state == IpcLayout.ATTACHED || state == IpcLayout.ATTACHING)
                {
                    scan[n++] = c;
                }
            }
            scanCount = n;
        }
        int work = 0;
        for (int i = 0; i < scanCount; i++)
        {
            final int c = scan[i];
            if (!moverMode)
            {
                final int served = serveCalls(c);
                if (served > 0 && wakeups != null)
                {
                    wakeups.client(c);
                }
                work += served;
                continue;
            }
            final RingReader lane = requestLanes[c];
            // An idle look reads one word of the lane; the full read runs when there is a record (or its periodic
            // stuck check is due).
            if (lane.hasRecord())
            {
                // A client being reclaimed or re-attached: its lanes are not ours to touch until it is attached. State
                // and generation in one read.
                final long word = RawMemory.getLongVolatile(header, layout.clientEntry(c));
                if (EntryTable.state(word) == IpcLayout.ATTACHED)
                {
                    currentClient = c;
                    currentGeneration = EntryTable.generation(word);
                    final int served = lane.read(this, batch);
                    if (served > 0 && wakeups != null)
                    {
                        wakeups.client(c);
                    }
                    work += served;
                }
            }
        }
        return work;
    }

    /** DIRECT mode: one look at a client's call lane, served if it shows a record and its client is attached. */
    private int serveCalls(final int c)
    {
        final CallLane lane = callLanes[c];
        if (!lane.hasWork())
        {
            return 0;
        }
        // State and generation in one read (acquire): a client being reclaimed or re-attached is not ours to touch.
        final long word = RawMemory.getLongVolatile(header, layout.clientEntry(c));
        if (EntryTable.state(word) != IpcLayout.ATTACHED)
        {
            return 0;
        }
        final int clientGeneration = EntryTable.generation(word);
        if (clientGeneration != lane.boundGeneration())
        {
            // A client new to this server: its lane was zeroed when it attached and nobody has answered in it.
            lane.bind(clientGeneration);
        }
        currentGeneration = clientGeneration;
        return lane.serve(this, batch);
    }

    @Override
    public void onCall(final UnsafeBuffer lane, final int record, final int recordLength)
    {
        final int msg = record + IpcLayout.RECORD_HEADER;
        final int capacity = recordLength - CallLane.MIN_RECORD;
        final long callId = RawMemory.getLong(lane, msg + IpcLayout.CALL_ID_OFFSET);
        final int clientGeneration = RawMemory.getInt(lane, msg + IpcLayout.CALL_GENERATION_OFFSET);
        final int slot = RawMemory.getInt(lane, msg + IpcLayout.CALL_SLOT_OFFSET);
        final int payload = RawMemory.getInt(lane, msg + IpcLayout.CALL_LENGTH_OFFSET);
        if (clientGeneration != currentGeneration || slot < 0 || slot >= layout.maxInFlight || callId < 0
            || payload < 0 || payload > layout.slotBytes || payload > capacity)
        {
            corruptRecord();
            CallLane.fail(lane, record, recordLength, layout.slotBytes, "corrupt request record at server " + service
                + ": client generation " + clientGeneration + ", slot " + slot + ", call " + callId
                + ", payload length " + payload + " in a " + recordLength + "-byte record");
            return;
        }
        // The handler works in place: its buffer is the call's slot in the record, request in, reply out, no copy
        // either way. The record is marked REPLYING first, since the handler may write over the request at once.
        final int room = Math.min(layout.slotBytes, capacity);
        final int at = msg + IpcLayout.MSG_HEADER;
        CallLane.markReplying(lane, record);
        callView.wrap(lane, at, room);
        String failure = null;
        int replyLength;
        try
        {
            replyLength = handler.onCall(callView, payload);
            if (callView.addressOffset() != lane.addressOffset() + at || callView.byteArray() != lane.byteArray()
                || callView.capacity() != room)
            {
                failure = "handler of service " + service + " re-wrapped its buffer: write the reply into the buffer "
                    + "it is given";
            }
            else if (replyLength < 0 || replyLength > room)
            {
                failure = "handler of service " + service + " returned reply length " + replyLength
                    + ", outside 0-" + room;
            }
        }
        catch (final Throwable t)
        {
            replyLength = 0;
            failure = "handler of service " + service + " threw " + t;
        }
        if (replaced() || RawMemory.getLong(lane, msg + IpcLayout.CALL_ID_OFFSET) != callId)
        {
            // This server was suspended in the handler past the server timeout and replaced: its successor answered
            // the call FAILED, and its client may have reused the record for a new call. Writing now would hand that
            // call this reply. (The call id is outside the handler's buffer, so only the client changes it.)
            dropped.incrementAndGet();
            return;
        }
        if (failure == null)
        {
            CallLane.replied(lane, record, replyLength);
        }
        else
        {
            CallLane.fail(lane, record, recordLength, layout.slotBytes, failure);
        }
        // Only this thread writes the count: a release store, not a locked read-modify-write per call.
        served.lazySet(served.get() + 1);
    }

    @Override
    public void onHalt(final String why)
    {
        corruptRecord();
    }

    private void checkKernelAlive()
    {
        final int state = header.getIntVolatile(IpcLayout.KERNEL_STATE_OFFSET);
        if (state == IpcLayout.KERNEL_CLOSED)
        {
            stopReason = "the kernel closed";
            running = false;
        }
        else if (System.nanoTime() - header.getLongVolatile(IpcLayout.KERNEL_HEARTBEAT_OFFSET) > kernelTimeoutNs)
        {
            stopReason = "the kernel (pid " + header.getLong(IpcLayout.KERNEL_PID_OFFSET) + ") stopped heartbeating";
            running = false;
        }
    }

    @Override
    public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
    {
        if (length < IpcLayout.MSG_HEADER)
        {
            // Counted by the resynchronisation that follows.
            return RingReader.CORRUPT;
        }
        // RingReader checked that [index, index + length) lies inside the ring, and length covers the header.
        final long callId = RawMemory.getLong(buffer, index + IpcLayout.CALL_ID_OFFSET);
        final int client = RawMemory.getInt(buffer, index + IpcLayout.REQ_CLIENT_OFFSET);
        final int clientGeneration = RawMemory.getInt(buffer, index + IpcLayout.REQ_GENERATION_OFFSET);
        final int slot = RawMemory.getInt(buffer, index + IpcLayout.REQ_SLOT_OFFSET);
        // The lane is the client's: a record naming another client, or a generation to come, is garbage.
        if (client != currentClient || slot < 0 || slot >= layout.maxInFlight || callId < 0 || clientGeneration <= 0
            || clientGeneration > currentGeneration)
        {
            // Counted by the resynchronisation that follows.
            return RingReader.CORRUPT;
        }
        if (clientGeneration != currentGeneration)
        {
            // A request of an earlier occupant of the client's entry: nobody to answer.
            stale.incrementAndGet();
            return RingReader.CONSUMED;
        }
        final LaneWriter lane = replyLanes[client];
        if (!lane.hasRoomFor(IpcLayout.MSG_HEADER + layout.slotBytes))
        {
            // The client has not read its earlier replies yet: leave the request until it has (only this server
            // writes the lane, so the room found now stays until the reply).
            return RingReader.STOP;
        }
        final int serviceId = RawMemory.getInt(buffer, index + IpcLayout.REQ_SERVICE_OFFSET);
        final int payload = length - IpcLayout.MSG_HEADER;
        if (serviceId != service || payload < 0 || payload > layout.slotBytes
            || payload > length - IpcLayout.MSG_HEADER)
        {
            corrupt.incrementAndGet();
            reply(lane, clientGeneration, callId, slot, IpcLayout.STATUS_FAILED, "corrupt request record at server "
                + service + ": service " + serviceId + ", payload length " + payload + " in a " + length
                + "-byte record");
            return RingReader.CONSUMED;
        }
        if (message.byteArray() != messageBytes || message.capacity() != layout.slotBytes)
        {
            // A handler re-wrapped the buffer it was given: the unchecked copies below need the server's own.
            message.wrap(messageBytes, 0, layout.slotBytes);
        }
        RawMemory.copy(buffer, index + IpcLayout.MSG_HEADER, message, 0, payload);
        int replyLength;
        String failure = null;
        try
        {
            replyLength = handler.onCall(message, payload);
            if (message.byteArray() != messageBytes || message.wrapAdjustment() != 0
                || message.capacity() != layout.slotBytes)
            {
                failure = "handler of service " + service + " re-wrapped its buffer: write the reply into the buffer "
                    + "it is given";
            }
            else if (replyLength < 0 || replyLength > layout.slotBytes)
            {
                failure = "handler of service " + service + " returned reply length " + replyLength
                    + ", outside 0-" + layout.slotBytes;
            }
        }
        catch (final Throwable t)
        {
            replyLength = 0;
            failure = "handler of service " + service + " threw " + t;
        }
        if (replaced())
        {
            // Suspended in the handler past the server timeout and replaced: the successor is the reply lane's
            // producer now, and a lane has one.
            dropped.incrementAndGet();
            return RingReader.STOP;
        }
        if (failure == null)
        {
            final int claimed = lane.claim(IpcLayout.REPLY_TYPE, IpcLayout.MSG_HEADER + replyLength);
            if (claimed < 0)
            {
                // Cannot happen (the room was checked, and only this thread writes the lane); counted if it does.
                dropped.incrementAndGet();
                return RingReader.CONSUMED;
            }
            // The claim lies inside the ring and holds MSG_HEADER + replyLength bytes: unchecked writes.
            final UnsafeBuffer b = lane.buffer();
            IpcLayout.putReplyHeader(b, claimed, callId, clientGeneration, service, slot, IpcLayout.STATUS_OK);
            RawMemory.copy(message, 0, b, claimed + IpcLayout.MSG_HEADER, replyLength);
            lane.commit(claimed);
        }
        else
        {
            reply(lane, clientGeneration, callId, slot, IpcLayout.STATUS_FAILED, failure);
        }
        // Only this thread writes the count: a release store, not a locked read-modify-write per call.
        served.lazySet(served.get() + 1);
        return RingReader.CONSUMED;
    }

    private void reply(
        final LaneWriter lane, final int clientGeneration, final long callId, final int slot, final int status,
        final String text)
    {
        final byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        final int len = Math.min(bytes.length, layout.slotBytes);
        final int claimed = lane.claim(IpcLayout.REPLY_TYPE, IpcLayout.MSG_HEADER + len);
        if (claimed < 0)
        {
            dropped.incrementAndGet();
            return;
        }
        final UnsafeBuffer b = lane.buffer();
        IpcLayout.putReplyHeader(b, claimed, callId, clientGeneration, service, slot, status);
        b.putBytes(claimed + IpcLayout.MSG_HEADER, bytes, 0, len);
        lane.commit(claimed);
    }

    /**
     * Counts a corrupt record. It concerns one client's lane only: the requests it made the reader skip are behind
     * the lane's consumer position with no reply, which is how that client learns of them (the service's epoch,
     * which every caller watches, is not bumped: one client's corrupt lane fails no other client's calls).
     */
    private void corruptRecord()
    {
        corrupt.incrementAndGet();
        header.putLongOrdered(entry + IpcLayout.ENTRY_CORRUPT_RECORDS_OFFSET, corrupt.get());
    }

    @Override
    public void onResync(final String why)
    {
        corruptRecord();
    }

    private void bumpEpoch()
    {
        final int offset = entry + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET;
        header.putLongVolatile(offset, header.getLongVolatile(offset) + 1);
    }

    /**
     * @return the service this server serves.
     */
    public int serviceId()
    {
        return service;
    }

    /** @return the server's agent thread. */
    Thread thread()
    {
        return thread;
    }

    /**
     * @return this attachment's generation: 1 for the service's first server, one more for each that replaced it.
     */
    public int generation()
    {
        return generation;
    }

    /**
     * @return calls handled (OK or FAILED).
     */
    public long served()
    {
        return served.get();
    }

    /**
     * @return corrupt records met (each became an error completion where its caller could be told, else a
     * resynchronisation that fails the callers' calls in flight to this service).
     */
    public long corruptRecords()
    {
        return corrupt.get();
    }

    /**
     * @return requests from clients no longer attached, dropped.
     */
    public long staleRequests()
    {
        return stale.get();
    }

    /**
     * @return what a previous, dead server left unread when this one attached: in DIRECT mode, calls (each answered
     * FAILED in place, a reply it died writing included); in MOVER mode, bytes of requests (discarded).
     */
    public long discardedAtAttach()
    {
        return discardedAtAttach;
    }

    /**
     * @return false once closed, or once the kernel closed or died ({@link #stopReason()} says which).
     */
    public boolean isRunning()
    {
        return running && thread.isAlive();
    }

    /**
     * @return why the server stopped by itself, or null.
     */
    public String stopReason()
    {
        return stopReason;
    }

    /**
     * Waits until the server stops by itself (the kernel closed or died) or the timeout passes.
     *
     * @param timeout the longest wait.
     * @return true if it stopped.
     * @throws InterruptedException if interrupted.
     */
    public boolean awaitStop(final Duration timeout) throws InterruptedException
    {
        thread.join(Math.max(1, timeout.toMillis()));
        return !thread.isAlive();
    }

    /**
     * Detaches: serves what is already in the ring (for up to 1 s), then stops; callers of calls still unserved get
     * error completions.
     */
    @Override
    public void close()
    {
        close(Duration.ofSeconds(10));
    }

    /**
     * {@link #close()}, waiting at most {@code stop} for the agent to end once told to; a handler still running then
     * is interrupted, and the agent given as long again.
     */
    void close(final Duration stop)
    {
        if (closed)
        {
            return;
        }
        closed = true;
        deregister(this);
        final long deadline = System.nanoTime() + 1_000_000_000L;
        try
        {
            // Not once the agent was told to stop (by its kernel's close, which drained already): nothing serves.
            while (running && thread.isAlive() && !drained() && System.nanoTime() - deadline < 0)
            {
                LockSupport.parkNanos(50_000L);
            }
        }
        catch (final InternalError fault)
        {
            // The mapping faulted (its file was truncated): nothing left to drain.
        }
        stopAgent(stop);
        try
        {
            // Only this generation's entry: a server that was replaced must not detach its successor.
            EntryTable.detach(header, entry, generation);
        }
        catch (final InternalError fault)
        {
            // The mapping faulted (its file was truncated): nothing to detach through it.
        }
        Heartbeats.unregister(heartbeat);
        if (!thread.isAlive())
        {
            mapping.close();
        }
    }

    /**
     * Stops the agent, still attached: it ends the pass it is in, answering the calls it took. Waits at most
     * {@code stop} for it, then interrupts a handler still running and waits as long again. Does nothing the second
     * time.
     */
    void stopAgent(final Duration stop)
    {
        if (stopAsked)
        {
            return;
        }
        stopAsked = true;
        running = false;
        LockSupport.unpark(thread);
        try
        {
            thread.join(Math.max(1, stop.toMillis()));
            if (thread.isAlive())
            {
                thread.interrupt();
                thread.join(Math.max(1, stop.toMillis()));
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    private boolean drained()
    {
        for (int c = 0; c < layout.maxClients; c++)
        {
            if (header.getIntVolatile(layout.clientEntry(c) + IpcLayout.ENTRY_STATE_OFFSET) == IpcLayout.ATTACHED
                && (moverMode ? !requestLanes[c].isEmpty() : !callLanes[c].drained()))
            {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString()
    {
        return "Server{service=" + service + ", generation=" + generation + ", " + mapping.directory + "}";
    }

    /**
     * Settings of an {@link Server}.
     *
     * <p>Not thread-safe: configure and start on one thread.
     */
    public static final class Builder
    {
        private Path directory;
        private int service = -1;
        private Handler handler;
        private int batch = 64;
        private Supplier<IdleStrategy> idleStrategy = AdaptiveIdleStrategy::new;
        private AgentThreadFactory threadFactory = AgentThreadFactory.daemon();

        private Builder()
        {
        }

        /**
         * @param name the kernel's name ({@code /dev/shm/ferry-<user>/<name>}).
         * @return this builder.
         */
        public Builder name(final String name)
        {
            this.directory = Mapping.defaultDirectory(name);
            return this;
        }

        /**
         * @param directory the kernel's directory, when it was built with one.
         * @return this builder.
         */
        public Builder directory(final Path directory)
        {
            this.directory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        /**
         * @param id      the service to serve, from 0 to the kernel's services - 1.
         * @param handler its handler.
         * @return this builder.
         */
        public Builder service(final int id, final Handler handler)
        {
            this.service = id;
            this.handler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /**
         * @param batch most requests handled per pass before the server publishes progress.
         * @return this builder.
         */
        public Builder batch(final int batch)
        {
            if (batch < 1)
            {
                throw new IllegalArgumentException("batch " + batch + " must be at least 1");
            }
            this.batch = batch;
            return this;
        }

        /**
         * @param supplier the server's idle strategy.
         * @return this builder.
         */
        public Builder idleStrategy(final Supplier<IdleStrategy> supplier)
        {
            this.idleStrategy = Objects.requireNonNull(supplier, "supplier");
            return this;
        }

        /**
         * @param factory makes the server's agent thread, e.g. a pinning one.
         * @return this builder.
         */
        public Builder threadFactory(final AgentThreadFactory factory)
        {
            this.threadFactory = Objects.requireNonNull(factory, "factory");
            return this;
        }

        /**
         * Attaches to the kernel and starts serving.
         *
         * @return the running server.
         */
        public Server start()
        {
            AgronaAccess.check();
            if (directory == null)
            {
                throw new IllegalStateException("no name or directory; call name(\"...\") or directory(path)");
            }
            if (handler == null)
            {
                throw new IllegalStateException("no service; call service(id, handler)");
            }
            return new Server(Mapping.open(directory), service, handler, batch, idleStrategy.get(), threadFactory, null);
        }
    }
}
