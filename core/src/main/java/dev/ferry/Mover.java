package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;

import java.util.concurrent.atomic.AtomicLong;

/**
 * MOVER mode's mover, run by the kernel's agent: it scans every attached client's submission ring round-robin (a
 * bounded batch per client per pass, so that no client starves the rest) and routes each request by service id into
 * the request lane of that client and that service, which the service's server reads. A request it cannot route (a
 * service with no live server, a corrupt record it can still name) it answers itself, FAILED, in the client's
 * completion ring. A request lane that is full holds the rest of that client's ring back, in order.
 *
 * <p>The consumer position of a submission ring moves only after what was read from it is in a request lane or
 * answered: a client that finds that position at its own producer position knows every call it sent reached a lane
 * ({@link MoverLanes#checkAnswered}).
 *
 * <p>Threading: the kernel's agent thread only; the counters may be read from any thread.
 */
final class Mover implements RingReader.RecordHandler
{
    private final IpcLayout layout;
    private final UnsafeBuffer header;
    private final long serverTimeoutNs;
    private final int batch;
    private final Wakeups wakeups;
    private final RingReader[] submissions;
    private final LaneWriter[] completions;
    /** The request lanes, per client and service, made on first use. */
    private final LaneWriter[][] requestLanes;
    // In-process: the services this pass sent requests to, woken once at its end.
    private final boolean[] woken;
    private final int[] wakeList;
    private int wakeCount;
    private final AtomicLong forwarded = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private final AtomicLong corruptRecords;
    private int client;
    private int generation;

    Mover(
        final IpcLayout layout, final UnsafeBuffer header, final Timeouts timeouts, final int batch,
        final Wakeups wakeups, final AtomicLong corruptRecords)
    {
        this.layout = layout;
        this.header = header;
        this.serverTimeoutNs = timeouts.serverTimeoutNs();
        this.batch = batch;
        this.wakeups = wakeups;
        this.corruptRecords = corruptRecords;
        this.submissions = new RingReader[layout.maxClients];
        this.completions = new LaneWriter[layout.maxClients];
        this.requestLanes = new LaneWriter[layout.maxClients][];
        this.woken = new boolean[layout.maxServices];
        this.wakeList = new int[layout.maxServices];
        for (int c = 0; c < layout.maxClients; c++)
        {
            submissions[c] = new RingReader(IpcLayout.ring(header, layout.sqOffset(c), layout.sqBytes),
                IpcLayout.REQUEST_TYPE, timeouts.clientTimeoutNs());
            completions[c] = new LaneWriter(IpcLayout.ring(header, layout.cqOffset(c), layout.cqBytes));
        }
    }

    /** @return requests routed to servers. */
    long forwarded()
    {
        return forwarded.get();
    }

    /** @return true when client {@code c}'s submission ring holds nothing unread. */
    boolean submissionsEmpty(final int c)
    {
        return submissions[c].isEmpty();
    }

    /**
     * One pass over every attached client's submission ring.
     *
     * @return requests routed or answered.
     */
    int pass()
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
            client = c;
            generation = EntryTable.generation(word);
            try
            {
                work += submissions[c].read(this, batch);
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
        for (int i = 0; i < wakeCount; i++)
        {
            woken[wakeList[i]] = false;
            wakeups.server(wakeList[i]);
        }
        wakeCount = 0;
        return work;
    }

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
            || slot < 0 || slot >= layout.maxInFlight || callId < 0 || payload > layout.slotBytes)
        {
            corruptRecords.incrementAndGet();
            // Unidentifiable: the resynchronisation bumps the client's epoch; it fails what it has in flight.
            return RingReader.CORRUPT;
        }
        if (service < 0 || service >= layout.maxServices)
        {
            corruptRecords.incrementAndGet();
            return reply(callId, slot, service, "corrupt request record: service id " + service + " outside 0-"
                + (layout.maxServices - 1));
        }
        if (!serverAlive(header, layout, service, System.nanoTime(), serverTimeoutNs))
        {
            refused.incrementAndGet();
            return reply(callId, slot, service, "service " + service + " has no live server; start one with "
                + "Server.builder()...service(" + service + ", handler)");
        }
        final LaneWriter lane = requestLane(client, service);
        if (!lane.write(IpcLayout.REQUEST_TYPE, buffer, index, IpcLayout.MSG_HEADER + payload))
        {
            // The server has not caught up with this client's lane: the rest of the ring waits, in order.
            return RingReader.STOP;
        }
        // Only this thread writes the count: a release store, not a locked read-modify-write per call.
        forwarded.lazySet(forwarded.get() + 1);
        if (wakeups != null && !woken[service])
        {
            woken[service] = true;
            wakeList[wakeCount++] = service;
        }
        return RingReader.CONSUMED;
    }

    /** Answers a request FAILED in the client's completion ring. */
    private int reply(final long callId, final int slot, final int service, final String why)
    {
        if (!layout.putFailureReply(completions[client], callId, generation, service, slot, why))
        {
            return RingReader.STOP;
        }
        if (wakeups != null)
        {
            wakeups.client(client);
        }
        return RingReader.CONSUMED;
    }

    @Override
    public void onResync(final String why)
    {
        corruptRecords.incrementAndGet();
        bumpEpoch(client);
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

    /** Tells a client its submission ring held corrupt records: it fails its calls in flight. */
    private void bumpEpoch(final int client)
    {
        final int offset = layout.clientEntry(client) + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET;
        header.putLongVolatile(offset, header.getLongVolatile(offset) + 1);
    }

    /** @return true when the service's server is attached and heartbeating. */
    static boolean serverAlive(
        final UnsafeBuffer header, final IpcLayout layout, final int service, final long now, final long timeoutNs)
    {
        final int entry = layout.serverEntry(service);
        return header.getIntVolatile(entry + IpcLayout.ENTRY_STATE_OFFSET) == IpcLayout.ATTACHED
            && now - header.getLongVolatile(entry + IpcLayout.ENTRY_HEARTBEAT_OFFSET) <= timeoutNs;
    }
}
