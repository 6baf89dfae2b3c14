package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * MOVER's server side: the server reads the request lane the mover fills for each attached client and this service,
 * copies each request into a slot of its own, runs the handler there, and writes the reply into the client's reply
 * lane of the service, which the client reads. A request lane's head moves only after the replies of what it read:
 * a server that has no room for a reply leaves the request for its next pass.
 *
 * <p>Threading: the server's agent thread only.
 */
final class MoverServing extends ServerLanes implements RingReader.RecordHandler
{
    private final RingReader[] requestLanes;
    private final LaneWriter[] replyLanes;
    /** The handler's slot: each request copied in, its reply copied out. */
    private final UnsafeBuffer message;
    private int currentClient;
    private int currentGeneration;

    MoverServing(final Server server, final IpcLayout layout, final UnsafeBuffer header, final Handler handler)
    {
        super(server, layout, header, handler);
        this.requestLanes = new RingReader[layout.maxClients];
        this.replyLanes = new LaneWriter[layout.maxClients];
        this.message = new UnsafeBuffer(new byte[Math.max(1, layout.slotBytes)], 0, layout.slotBytes);
        final long clientTimeout = header.getLong(IpcLayout.CLIENT_TIMEOUT_OFFSET);
        for (int c = 0; c < layout.maxClients; c++)
        {
            // A header left uncommitted for longer than the client timeout is resynchronised: it is either garbage
            // (corrupt memory) or a mover stalled mid-write.
            requestLanes[c] = new RingReader(IpcLayout.ring(header, layout.requestLaneOffset(c, service),
                layout.laneBytes), IpcLayout.REQUEST_TYPE, clientTimeout);
            replyLanes[c] = new LaneWriter(
                IpcLayout.ring(header, layout.replyLaneOffset(c, service), layout.laneBytes));
        }
    }

    @Override
    long takeOver(final int client, final int clientGeneration)
    {
        // Requests the previous server left unread: their callers fail them when they see it replaced.
        final long discarded = requestLanes[client].skipAll();
        // A reply the previous server claimed but never committed would hold its client's reader up.
        replyLanes[client].padUncommitted();
        return discarded;
    }

    @Override
    int serve(final int client, final int batch)
    {
        final RingReader lane = requestLanes[client];
        // An idle look reads one word of the lane; the full read runs when there is a record (or its periodic stuck
        // check is due).
        if (!lane.hasRecord())
        {
            return 0;
        }
        // A client being reclaimed or re-attached: its lanes are not ours to touch until it is attached. State and
        // generation in one read.
        final long word = clientWord(client);
        if (EntryTable.state(word) != IpcLayout.ATTACHED)
        {
            return 0;
        }
        currentClient = client;
        currentGeneration = EntryTable.generation(word);
        return lane.read(this, batch);
    }

    @Override
    boolean drained(final int client)
    {
        return requestLanes[client].isEmpty();
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
            server.countStale();
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
        if (serviceId != service || payload > layout.slotBytes)
        {
            server.corruptRecord();
            reply(lane, clientGeneration, callId, slot, "corrupt request record at server "
                + service + ": service " + serviceId + ", payload length " + payload + " in a " + length
                + "-byte record");
            return RingReader.CONSUMED;
        }
        RawMemory.copy(buffer, index + IpcLayout.MSG_HEADER, message, 0, payload);
        final int replyLength = invocation.run(message, 0, layout.slotBytes, payload);
        if (server.replaced())
        {
            // Suspended in the handler past the server timeout and replaced: the successor is the reply lane's
            // producer now, and a lane has one.
            server.countDropped();
            return RingReader.STOP;
        }
        if (replyLength >= 0)
        {
            final int claimed = lane.claim(IpcLayout.REPLY_TYPE, IpcLayout.MSG_HEADER + replyLength);
            if (claimed < 0)
            {
                // Cannot happen (the room was checked, and only this thread writes the lane); counted if it does.
                server.countDropped();
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
            reply(lane, clientGeneration, callId, slot, invocation.failure);
        }
        server.countServed();
        return RingReader.CONSUMED;
    }

    private void reply(
        final LaneWriter lane, final int clientGeneration, final long callId, final int slot, final String why)
    {
        if (!layout.putFailureReply(lane, callId, clientGeneration, service, slot, why))
        {
            server.countDropped();
        }
    }

    @Override
    public void onResync(final String why)
    {
        server.corruptRecord();
    }
}
