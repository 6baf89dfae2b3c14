package dev.ferry;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * DIRECT's client side (BLOCKING's too): one call lane per service, this client its only producer and consumer.
 * A call is one record holding a whole slot, written and committed by {@link #send}; the service's server writes the
 * reply over the request ({@link CallLane}), and this client reads it in place with an in-place {@link RingReader},
 * which zeroes the written part of each record as it releases it. A 32-byte call moves one cache line there and back.
 *
 * <p>A record this client cannot make sense of <em>breaks</em> the lane: its calls in flight there fail, it asks the
 * server to halt the lane, and once the server has, it zeroes the lane, moves its positions past everything seen and
 * bumps the lane's epoch ({@link CallLane#reset}); the server resumes at the new head. The same happens when the
 * server halts the lane on its own (it found a record it could not walk past).
 *
 * <p>Threading: the client's owner thread only.
 */
final class DirectLanes extends ClientLanes
{
    private final LaneWriter[] lanes;
    private final int callMessageBytes;
    // Per service: the call lane's epoch, and whether this client asked its server to halt the lane.
    private final long[] epochs;
    private final boolean[] broken;

    DirectLanes(
        final CallBook book, final IpcLayout layout, final UnsafeBuffer header, final int client, final int generation,
        final long serverTimeoutNs, final Wakeups wakeups)
    {
        super(book, layout, client, generation, wakeups);
        this.callMessageBytes = IpcLayout.callRecordBytes(layout.slotBytes) - IpcLayout.RECORD_HEADER;
        this.lanes = new LaneWriter[layout.maxServices];
        this.epochs = new long[layout.maxServices];
        this.broken = new boolean[layout.maxServices];
        for (int s = 0; s < layout.maxServices; s++)
        {
            final UnsafeBuffer lane = IpcLayout.ring(header, layout.requestLaneOffset(client, s), layout.laneBytes);
            lanes[s] = new LaneWriter(lane);
            replyLanes[s] = new RingReader(lane, IpcLayout.REPLY_TYPE, serverTimeoutNs,
                deferLimit(layout.laneBytes, layout.maxInFlight, layout.laneRecordBytes()))
                .inPlace(IpcLayout.REQUEST_TYPE, IpcLayout.REPLYING_TYPE);
        }
    }

    @Override
    boolean send(
        final int slot, final int service, final int serverGeneration, final DirectBuffer request, final int offset)
    {
        final LaneWriter lane = lanes[service];
        // A call record holds a whole slot: room for any reply, written over the request.
        final int claimed = lane.claim(IpcLayout.REQUEST_TYPE, callMessageBytes);
        if (claimed < 0)
        {
            return false;
        }
        final int length = book.stagedLengths[slot];
        // The claim lies inside the ring and holds a whole call record: unchecked writes.
        final UnsafeBuffer b = lane.buffer();
        RawMemory.putLong(b, claimed + IpcLayout.CALL_ID_OFFSET, book.callIds[slot]);
        RawMemory.putInt(b, claimed + IpcLayout.CALL_GENERATION_OFFSET, generation);
        RawMemory.putInt(b, claimed + IpcLayout.CALL_SLOT_OFFSET, slot);
        RawMemory.putInt(b, claimed + IpcLayout.CALL_LENGTH_OFFSET, length);
        RawMemory.putInt(b, claimed + IpcLayout.CALL_STATUS_OFFSET, 0);
        putRequest(b, claimed + IpcLayout.MSG_HEADER, slot, request, offset);
        lane.commit(claimed);
        book.sent(slot, lane.producerPosition(), serverGeneration);
        return true;
    }

    @Override
    boolean ready(final int service)
    {
        return !broken[service] || tryReset(service);
    }

    @Override
    void wake(final Wakeups wakeups, final int service)
    {
        wakeups.server(service);
    }

    /** A call record of this client's lane to the service being read, its reply written over the request. */
    @Override
    public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
    {
        final int service = readingService;
        if (length < IpcLayout.MSG_HEADER)
        {
            return RingReader.CORRUPT;
        }
        // RingReader checked that [index, index + length) lies inside the ring, and length covers the header.
        final long callId = RawMemory.getLong(buffer, index + IpcLayout.CALL_ID_OFFSET);
        final int gen = RawMemory.getInt(buffer, index + IpcLayout.CALL_GENERATION_OFFSET);
        final int slot = RawMemory.getInt(buffer, index + IpcLayout.CALL_SLOT_OFFSET);
        final int payload = RawMemory.getInt(buffer, index + IpcLayout.CALL_LENGTH_OFFSET);
        final int status = RawMemory.getInt(buffer, index + IpcLayout.CALL_STATUS_OFFSET);
        // Only this client (this generation: the lane was zeroed when it attached) writes call records here.
        if (gen != generation)
        {
            return RingReader.CORRUPT;
        }
        final int to = book.replyTo(slot, callId);
        if (to <= 0)
        {
            return to < 0 ? RingReader.CORRUPT : RingReader.CONSUMED;
        }
        if (book.services[slot] != service || !CallBook.validStatus(status) || payload < 0
            || payload > layout.slotBytes || payload > length - IpcLayout.MSG_HEADER)
        {
            book.completeCorrupt(slot, callId, "in the lane to service " + service + " (sent to "
                + book.services[slot] + "), status " + status + ", length " + payload);
            return RingReader.CONSUMED;
        }
        // Written: the headers, the request (by this client) and the reply; the rest of the slot is still zero.
        replyLanes[service].dirty(
            IpcLayout.RECORD_HEADER + IpcLayout.MSG_HEADER + Math.max(payload, book.stagedLengths[slot]));
        book.complete(slot, callId, status, buffer, index + IpcLayout.MSG_HEADER, payload);
        return RingReader.CONSUMED;
    }

    @Override
    public void onResync(final String why)
    {
        breakLane(readingService, why);
    }

    /**
     * This client found its lane to {@code service} corrupt, or out of step with its server: its calls in flight
     * there fail; the server is asked to halt the lane so that the client can reset it.
     */
    private void breakLane(final int service, final String why)
    {
        book.corruptRecords++;
        book.failService(service, Status.FAILED, "the lane of client " + client + " to service " + service
            + " held a corrupt record (" + why + "); every call in flight on it fails, since its reply may have been "
            + "that record");
        if (!broken[service])
        {
            broken[service] = true;
            lanes[service].buffer().putLongVolatile(
                layout.laneBytes + LaneDescriptor.HALT_REQUEST_OFFSET, epochs[service] + 1);
        }
        tryReset(service);
    }

    /**
     * Once the lane's server has halted it (it no longer reads or writes the lane), zeroes the lane, moves its
     * positions past everything seen and bumps its epoch, so that the server resumes at the new head.
     *
     * @return true if the lane is usable (reset now, or was not broken).
     */
    private boolean tryReset(final int service)
    {
        final UnsafeBuffer lane = lanes[service].buffer();
        final int capacity = layout.laneBytes;
        final long epoch = epochs[service];
        if (lane.getLongVolatile(capacity + LaneDescriptor.SERVER_HALTED_OFFSET) != epoch + 1)
        {
            return !broken[service];
        }
        // Every call still in flight on the lane is lost with it.
        if (!broken[service])
        {
            book.corruptRecords++;
        }
        book.failService(service, Status.FAILED, "the server of service " + service + " found a corrupt record in "
            + "the lane of client " + client + "; every call in flight on it fails, since its reply may have been "
            + "that record");
        CallLane.reset(lane, capacity, epoch);
        epochs[service] = epoch + 1;
        broken[service] = false;
        replyLanes[service].unfreeze();
        return true;
    }

    @Override
    void checkHalted(final int service)
    {
        if ((broken[service] || book.fifoCount[service] > 0)
            && lanes[service].buffer().getLongVolatile(layout.laneBytes + LaneDescriptor.SERVER_HALTED_OFFSET)
            == epochs[service] + 1)
        {
            // The server halted the lane (a corrupt record, or this client asked): replies before it first.
            drain();
            tryReset(service);
        }
    }

    /**
     * A server publishes its cursor only after writing, in place, the replies of the calls it passed, so once the
     * cursor passed a call, its reply is in the lane. Read the cursor, drain the lanes (past their wraps too), and if
     * a call the cursor passed is still in flight, the lane is out of step (a corrupt record made this client's
     * reader and the server walk it differently): break it.
     */
    @Override
    void checkAnswered(final int service)
    {
        final long passed = lanes[service].buffer().getLongVolatile(
            layout.laneBytes + LaneDescriptor.SERVER_CURSOR_OFFSET);
        drain();
        final int lost = book.latestSentBy(service, passed);
        if (lost >= 0)
        {
            breakLane(service, "the server passed call " + book.callIds[lost] + " but its reply could not be read");
        }
    }

    @Override
    String debugState(final int service)
    {
        return "consumed=" + lanes[service].consumerPosition() + " produced=" + lanes[service].producerPosition()
            + (broken[service] ? " broken" : "");
    }
}
