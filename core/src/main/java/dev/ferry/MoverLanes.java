package dev.ferry;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * MOVER's client side: every call is a record of this client's submission ring, which the kernel's mover reads and
 * routes by service into the request lane of this client and that service; the service's server writes each reply
 * into the client's reply lane of the service, and the mover writes its own answers (a call to a service with no
 * server, a corrupt record) into the client's completion ring. A reply record carries the call's id, this client's
 * generation, the service, the slot and a status.
 *
 * <p>A call can be lost on the way only with a corrupt record; {@link #checkAnswered} finds such calls from the
 * rings' positions (the mover moves its consumer position only after it forwarded, and the server its own only
 * after it answered) and fails them.
 *
 * <p>Threading: the client's owner thread only.
 */
final class MoverLanes extends ClientLanes
{
    private final LaneWriter sq;
    private final RingReader cq;
    /** The request lanes the mover fills: only their positions are read here. */
    private final LaneWriter[] requestLanes;
    // Per service: a server-side position past every call this client had sent (submission ring position marksSent)
    // when the mover had forwarded them all, or -1.
    private final long[] marks;
    private final long[] marksSent;

    MoverLanes(
        final CallBook book, final IpcLayout layout, final UnsafeBuffer header, final int client, final int generation,
        final long serverTimeoutNs, final Wakeups wakeups)
    {
        super(book, layout, client, generation, wakeups);
        final int record = IpcLayout.recordBytes(layout.slotBytes);
        this.sq = new LaneWriter(IpcLayout.ring(header, layout.sqOffset(client), layout.sqBytes));
        this.cq = new RingReader(IpcLayout.ring(header, layout.cqOffset(client), layout.cqBytes),
            IpcLayout.REPLY_TYPE, serverTimeoutNs, deferLimit(layout.cqBytes, layout.maxInFlight, record));
        this.requestLanes = new LaneWriter[layout.maxServices];
        this.marks = new long[layout.maxServices];
        this.marksSent = new long[layout.maxServices];
        java.util.Arrays.fill(marks, -1);
        for (int s = 0; s < layout.maxServices; s++)
        {
            requestLanes[s] = new LaneWriter(
                IpcLayout.ring(header, layout.requestLaneOffset(client, s), layout.laneBytes));
            replyLanes[s] = new RingReader(IpcLayout.ring(header, layout.replyLaneOffset(client, s), layout.laneBytes),
                IpcLayout.REPLY_TYPE, serverTimeoutNs, deferLimit(layout.laneBytes, layout.maxInFlight, record));
        }
    }

    @Override
    boolean send(
        final int slot, final int service, final int serverGeneration, final DirectBuffer request, final int offset)
    {
        final int length = book.stagedLengths[slot];
        final int claimed = sq.claim(IpcLayout.REQUEST_TYPE, IpcLayout.MSG_HEADER + length);
        if (claimed < 0)
        {
            return false;
        }
        // The claim lies inside the ring and holds MSG_HEADER + length bytes: unchecked writes.
        final UnsafeBuffer b = sq.buffer();
        RawMemory.putLong(b, claimed + IpcLayout.CALL_ID_OFFSET, book.callIds[slot]);
        RawMemory.putInt(b, claimed + IpcLayout.REQ_CLIENT_OFFSET, client);
        RawMemory.putInt(b, claimed + IpcLayout.REQ_GENERATION_OFFSET, generation);
        RawMemory.putInt(b, claimed + IpcLayout.REQ_SERVICE_OFFSET, service);
        RawMemory.putInt(b, claimed + IpcLayout.REQ_SLOT_OFFSET, slot);
        putRequest(b, claimed + IpcLayout.MSG_HEADER, slot, request, offset);
        sq.commit(claimed);
        book.sent(slot, sq.producerPosition(), serverGeneration);
        return true;
    }

    @Override
    boolean ready(final int service)
    {
        return true;
    }

    @Override
    void wake(final Wakeups wakeups, final int service)
    {
        wakeups.mover();
    }

    @Override
    void readOthers(final long before, final int limit)
    {
        if (book.delivered - before < limit && cq.hasRecord())
        {
            cq.read(this, limit - (int)(book.delivered - before));
        }
    }

    @Override
    void drain()
    {
        drain(cq);
        super.drain();
    }

    /** A reply record, from a reply lane or the completion ring. */
    @Override
    public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
    {
        if (length < IpcLayout.MSG_HEADER)
        {
            corruptRing("a " + length + "-byte reply record, shorter than its header");
            return RingReader.CORRUPT;
        }
        // RingReader checked that [index, index + length) lies inside the ring, and length covers the header.
        final long callId = RawMemory.getLong(buffer, index + IpcLayout.CALL_ID_OFFSET);
        final int gen = RawMemory.getInt(buffer, index + IpcLayout.REP_GENERATION_OFFSET);
        final int slot = RawMemory.getInt(buffer, index + IpcLayout.REP_SLOT_OFFSET);
        final int service = RawMemory.getInt(buffer, index + IpcLayout.REP_SERVICE_OFFSET);
        final int status = RawMemory.getInt(buffer, index + IpcLayout.REP_STATUS_OFFSET);
        final int payload = length - IpcLayout.MSG_HEADER;
        if (gen != generation)
        {
            if (gen >= 0 && gen < generation)
            {
                book.lateReplies++;
                return RingReader.CONSUMED;
            }
            corruptRing("a reply for client generation " + gen + " (this one is " + generation + ")");
            return RingReader.CORRUPT;
        }
        final int to = book.replyTo(slot, callId);
        if (to < 0)
        {
            corruptRing("a reply to slot " + slot + ", call " + callId);
            return RingReader.CORRUPT;
        }
        if (to == 0)
        {
            return RingReader.CONSUMED;
        }
        if (service != book.services[slot] || !CallBook.validStatus(status) || payload < 0
            || payload > layout.slotBytes)
        {
            book.completeCorrupt(slot, callId, "service " + service + ", status " + status + ", length " + payload);
            return RingReader.CONSUMED;
        }
        book.complete(slot, callId, status, buffer, index + IpcLayout.MSG_HEADER, payload);
        return RingReader.CONSUMED;
    }

    @Override
    public void onResync(final String why)
    {
        corruptRing(why);
    }

    private void corruptRing(final String what)
    {
        book.corruptRecords++;
        book.failAllInFlight(Status.FAILED, "a reply ring of client " + client + " held a corrupt record (" + what
            + "); every call in flight fails, since its reply may have been that record");
    }

    /**
     * The mover advances the submission ring's consumer position only after publishing what it read into the
     * request lanes (or answering it itself), so once that position reaches this client's producer position, every
     * call sent so far is in a request lane or answered. Mark then the lane's producer position; once the server's
     * consumer position passes the mark, the replies to all of those calls are in the reply lane or the completion
     * ring, or were lost (a corrupt record met on the way, a record of a type the server could not take). Drain them
     * and fail what is left.
     */
    @Override
    void checkAnswered(final int service)
    {
        final long mark = marks[service];
        if (mark >= 0 && requestLanes[service].consumerPosition() >= mark)
        {
            final long sentBefore = marksSent[service];
            marks[service] = -1;
            drain();
            book.failLostBefore(service, sentBefore);
        }
        if (marks[service] < 0)
        {
            final long sent = sq.producerPosition();
            if (sq.consumerPosition() == sent)
            {
                marksSent[service] = sent;
                marks[service] = requestLanes[service].producerPosition();
            }
        }
    }

    @Override
    String debugState(final int service)
    {
        return "consumed=" + requestLanes[service].consumerPosition() + " produced="
            + requestLanes[service].producerPosition() + " mark=" + marks[service];
    }
}
