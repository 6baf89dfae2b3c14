package dev.ferry;

import dev.ferry.agent.AgentRole;
import dev.ferry.agent.AgentThreadFactory;
import dev.ferry.idle.AdaptiveIdleStrategy;
import dev.ferry.idle.ParkingIdleStrategy;
import dev.ferry.idle.WakeSignal;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

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
public final class Server implements AutoCloseable
{
    /** A lane idle for this many passes is looked at only on full scans. */
    private static final long HOT_PASSES = 1024;

    private final Mapping mapping;
    private final IpcLayout layout;
    private final UnsafeBuffer header;
    private final int service;
    private final int entry;
    private final IdleStrategy idle;
    private final int batch;
    private final long kernelTimeoutNs;
    private final ServerLanes lanes;
    private final int[] scan;
    private int scanCount;
    /** The lanes that had work lately, looked at every pass, and the pass each lane last had work in. */
    private final int[] hot;
    private int hotCount;
    private final long[] lastWork;
    private long passes;
    private boolean fullScanNext = true;
    private final AdaptiveIdleStrategy adaptiveIdle;
    private final boolean parking;
    private long seenAttaches = -1;
    private final Object heartbeat;
    private final int generation;
    private final long discardedAtAttach;
    private final Thread thread;
    private final Wakeups wakeups;


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
        this.lanes = layout.mover()
            ? new MoverServing(this, layout, header, handler) : new DirectServing(this, layout, header, handler);
        this.scan = new int[layout.maxClients];
        this.hot = new int[layout.maxClients];
        this.lastWork = new long[layout.maxClients];
        java.util.Arrays.fill(lastWork, -HOT_PASSES);
        this.adaptiveIdle = idle instanceof AdaptiveIdleStrategy ? (AdaptiveIdleStrategy)idle : null;
        this.parking = idle instanceof ParkingIdleStrategy;

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
                discarded += lanes.takeOver(c, EntryTable.generation(word));
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
        ServerRegistry.register(this);
        thread.start();
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
            throw new IllegalStateException("the Ferry kernel at " + mapping.directory + " " + why
                + "; start it (again) and attach afterwards");
        }
    }

    /** @return a builder; name or directory, service and handler are required. */
    public static ServerBuilder builder()
    {
        return new ServerBuilder();
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
                int n = safePass();
                if (n == 0 && (parking || adaptiveIdle != null && adaptiveIdle.parksNext()))
                {
                    // After a park, whatever woke the server may be on any lane.
                    fullScanNext = true;
                    final WakeSignal signal = adaptiveIdle == null ? null : adaptiveIdle.wakeSignal();
                    if (signal != null)
                    {
                        // Announce the park, then look once more, at every lane: a client that published before
                        // the announcement found no one to wake, and is caught here instead of being slept through.
                        signal.sleeping();
                        n = safePass();
                        if (n > 0)
                        {
                            signal.awake();
                        }
                        else
                        {
                            fullScanNext = true;
                        }
                    }
                }
                // Volatile, not just release: the next pass's read of a client's state must not be reordered before
                // this store, or the kernel could record this count, see it land, and zero a block the next pass
                // writes (EntryTable's class comment). After the replies, so it adds nothing to a call's latency; and
                // while busy only every 64th pass (the fence costs more than a pass serving one call): the barrier
                // needs the count to move at the end of some pass after the kernel read it, not at every one.
                if (n == 0 || (loops & 63) == 0)
                {
                    RawMemory.putLongVolatile(header, entry + IpcLayout.ENTRY_PASS_OFFSET, ++pass);
                }
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

    /** {@link #pass()}, an exception counted as corruption (defence in depth) instead of killing the server. */
    private int safePass()
    {
        try
        {
            return pass();
        }
        catch (final RuntimeException ex)
        {
            // Nothing read from the mapping is trusted, but should a check have missed a case, an exception counts as
            // corruption. Which lane it came from is not known here: every caller learns through the service's epoch.
            corruptRecord();
            bumpEpoch();
            return 1;
        }
    }

    /**
     * @return true when another server has taken this service's entry (this one was taken for dead). One read of
     * this server's own entry, a line written only at attach and by the heartbeat stamper.
     */
    boolean replaced()
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
            fullScanNext = true;
        }
        // Every lane is looked at on the first pass after a park, every 64th pass, and when the table changed; the
        // other passes look only at the lanes that had work within the last 1024 passes. So an idle server's passes
        // cost the same with 64 attached clients as with one, and a lane that wakes up is found within 64 passes
        // (at once if its flush woke the server).
        final boolean full = fullScanNext || (++passes & 63) == 0;
        fullScanNext = false;
        final int[] lanesToScan = full ? scan : hot;
        final int count = full ? scanCount : hotCount;
        int work = 0;
        for (int i = 0; i < count; i++)
        {
            final int c = lanesToScan[i];
            final int served = lanes.serve(c, batch);
            if (served > 0)
            {
                lastWork[c] = passes;
                if (wakeups != null)
                {
                    wakeups.client(c);
                }
            }
            work += served;
        }
        if (full)
        {
            int h = 0;
            for (int i = 0; i < scanCount; i++)
            {
                final int c = scan[i];
                if (passes - lastWork[c] < HOT_PASSES)
                {
                    hot[h++] = c;
                }
            }
            hotCount = h;
        }
        return work;
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

    /**
     * Counts a corrupt record. It concerns one client's lane only: the requests it made the reader skip are behind
     * the lane's consumer position with no reply, which is how that client learns of them (the service's epoch,
     * which every caller watches, is not bumped: one client's corrupt lane fails no other client's calls).
     */
    void corruptRecord()
    {
        corrupt.incrementAndGet();
        header.putLongOrdered(entry + IpcLayout.ENTRY_CORRUPT_RECORDS_OFFSET, corrupt.get());
    }

    private void bumpEpoch()
    {
        final int offset = entry + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET;
        header.putLongVolatile(offset, header.getLongVolatile(offset) + 1);
    }

    /** @return the service this server serves. */
    public int serviceId()
    {
        return service;
    }

    /** Counts a call answered (OK or FAILED); a release store, not a locked read-modify-write per call. */
    void countServed()
    {
        served.lazySet(served.get() + 1);
    }

    /** Counts a reply not written: this server was replaced meanwhile, or its lane had no room. */
    void countDropped()
    {
        dropped.incrementAndGet();
    }

    /** Counts a request of a client entry's earlier occupant. */
    void countStale()
    {
        stale.incrementAndGet();
    }

    /** @return the memory this server serves in. */
    Mapping mapping()
    {
        return mapping;
    }

    /** @return the server's agent thread. */
    Thread thread()
    {
        return thread;
    }

    /** @return this attachment's generation: 1 for the service's first server, one more for each that replaced it. */
    public int generation()
    {
        return generation;
    }

    /** @return calls handled (OK or FAILED). */
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

    /** @return requests from clients no longer attached, dropped. */
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

    /** @return false once closed, or once the kernel closed or died ({@link #stopReason()} says which). */
    public boolean isRunning()
    {
        return running && thread.isAlive();
    }

    /** @return why the server stopped by itself, or null. */
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
        ServerRegistry.deregister(this);
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
                && !lanes.drained(c))
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
}
