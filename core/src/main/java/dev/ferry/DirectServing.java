package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * DIRECT's server side (BLOCKING's too): the server reads each attached client's call lane to its service with a
 * {@link CallLane} and answers every call in place, the handler's buffer being the call's slot in its record: the
 * request read and the reply written with no copy either way. The record is marked REPLYING before the handler runs,
 * and the reply is written only if this server still owns the service and the record still holds the call (a server
 * suspended in its handler past the server timeout was replaced meanwhile, and the client may have reused the
 * record).
 *
 * <p>Threading: the server's agent thread only.
 */
final class DirectServing extends ServerLanes implements CallLane.Calls
{
    private final CallLane[] lanes;
    private int currentGeneration;

    DirectServing(final Server server, final IpcLayout layout, final UnsafeBuffer header, final Handler handler)
    {
        super(server, layout, header, handler);
        this.lanes = new CallLane[layout.maxClients];
        for (int c = 0; c < layout.maxClients; c++)
        {
            lanes[c] = new CallLane(
                IpcLayout.ring(header, layout.requestLaneOffset(c, service), layout.laneBytes), layout.slotBytes);
        }
    }

    @Override
    long takeOver(final int client, final int clientGeneration)
    {
        // Calls left unread, and a reply the previous server died writing, are answered FAILED in place.
        return lanes[client].takeOver(clientGeneration, service);
    }

    @Override
    int serve(final int client, final int batch)
    {
        final CallLane lane = lanes[client];
        if (!lane.hasWork())
        {
            return 0;
        }
        // State and generation in one read (acquire): a client being reclaimed or re-attached is not ours to touch.
        final long word = clientWord(client);
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
    boolean drained(final int client)
    {
        return lanes[client].drained();
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
            server.corruptRecord();
            CallLane.fail(lane, record, recordLength, layout.slotBytes, "corrupt request record at server " + service
                + ": client generation " + clientGeneration + ", slot " + slot + ", call " + callId
                + ", payload length " + payload + " in a " + recordLength + "-byte record");
            return;
        }
        // The handler works in place: its buffer is the call's slot in the record. The record is marked REPLYING
        // first, since the handler may write over the request at once.
        CallLane.markReplying(lane, record);
        final int reply = invocation.run(lane, msg + IpcLayout.MSG_HEADER, Math.min(layout.slotBytes, capacity),
            payload);
        if (server.replaced() || RawMemory.getLong(lane, msg + IpcLayout.CALL_ID_OFFSET) != callId)
        {
            // This server was suspended in the handler past the server timeout and replaced: its successor answered
            // the call FAILED, and its client may have reused the record for a new call. Writing now would hand that
            // call this reply. (The call id is outside the handler's buffer, so only the client changes it.)
            server.countDropped();
            return;
        }
        if (reply >= 0)
        {
            CallLane.replied(lane, record, reply);
        }
        else
        {
            CallLane.fail(lane, record, recordLength, layout.slotBytes, invocation.failure);
        }
        server.countServed();
    }

    @Override
    public void onHalt(final String why)
    {
        server.corruptRecord();
    }
}
