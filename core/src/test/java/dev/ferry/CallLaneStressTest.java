package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.RecordDescriptor;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIII_Result;

import java.nio.ByteBuffer;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of DIRECT mode's replies in place: a {@link CallLane} (the server) writes each reply over its request
 * and flips the record REQUEST → REPLYING → REPLY, while the client's in-place {@link RingReader} reads the lane
 * from its head, stopping at a record not answered yet, and zeroes only the part of each record that was written.
 * Two call records were committed (by {@link LaneWriter}, as the client writes them) near the ring's end: the first
 * fits before the end, the second leaves a padding record and wraps to index 0, so the reader's rule for padding
 * (consume it only once the record after it is answered: the server may not have walked past it yet) is exercised.
 *
 * <p>Actors: the server serves once; the client reads once, concurrently. The arbiter then lets the server serve the
 * rest and the client read the rest, and checks that both replies were read exactly once and intact (every word of
 * the reply is its request's word plus 100: a reader that saw REPLY before the reply's bytes reads the request's),
 * that the positions and the server's cursor all end past the second record, and that the data area is all zero
 * again. The samples alternate between a reader that zeroes and releases at once and one that defers that.
 *
 * <p>Result: (replies the racing read saw, in order; replies torn, repeated, out of order or of another type, reader
 * freezes, calls the server saw twice or not at all; replies read in all; non-zero 8-byte words left in the data
 * area, plus 100 if a position is not at the end; the variant). Acceptable: the racing read saw an in-order prefix
 * and all else is clean. Forbidden: anything else.
 */
@JCStressTest
@Description("CallLane: replies written over their requests while the client's in-place reader reads the lane")
@Outcome(id = "0, 0, 2, 0, [0-1]", expect = ACCEPTABLE, desc = "The racing read saw no reply yet.")
@Outcome(id = "1, 0, 2, 0, [0-1]", expect = ACCEPTABLE, desc = "The racing read saw the first reply.")
@Outcome(id = "2, 0, 2, 0, [0-1]", expect = ACCEPTABLE, desc = "The racing read saw both replies.")
@Outcome(expect = FORBIDDEN, desc = "A torn, repeated or lost reply, a freeze, or bytes left non-zero.")
@State
public class CallLaneStressTest
{
    private static final int CAPACITY = 1024;
    private static final int SLOT = 64;
    private static final int PAYLOAD = 32;
    /** A call record of a 64-byte slot: 128 bytes. */
    private static final int RECORD = IpcLayout.callRecordBytes(SLOT);
    /** The first record ends 64 bytes before the ring's end; the second pads them and starts at index 0. */
    private static final long START = CAPACITY - RECORD - 64;
    private static final long END = START + RECORD + 64 + RECORD;
    private static final int MSG = RecordDescriptor.HEADER_LENGTH + IpcLayout.MSG_HEADER;
    private static final AtomicInteger SAMPLES = new AtomicInteger();
    /** Rings whose sample is over, for the next samples, not allocated afresh for each of millions. */
    private static final Queue<UnsafeBuffer> RINGS = new ConcurrentLinkedQueue<>();

    private final UnsafeBuffer ring;
    private final int variant;
    private final LaneWriter writer;
    private final CallLane lane;
    private final RingReader reader;
    private int served;
    private int seen;
    private int bad;

    private final CallLane.Calls server = new CallLane.Calls()
    {
        @Override
        public void onCall(final UnsafeBuffer buffer, final int record, final int recordLength)
        {
            final int msg = record + RecordDescriptor.HEADER_LENGTH;
            final int length = buffer.getInt(msg + IpcLayout.CALL_LENGTH_OFFSET);
            if (recordLength != RECORD || length != PAYLOAD)
            {
                bad++;
                return;
            }
            // As Server serves: REPLYING, the handler's reply written over the request, then REPLY.
            CallLane.markReplying(buffer, record);
            for (int i = 0; i < PAYLOAD; i += 8)
            {
                buffer.putLong(record + MSG + i, buffer.getLong(record + MSG + i) + 100);
            }
            CallLane.replied(buffer, record, PAYLOAD);
            served++;
        }

        @Override
        public void onHalt(final String why)
        {
            bad++;
        }
    };

    private final RingReader.RecordHandler client = new RingReader.RecordHandler()
    {
        @Override
        public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
        {
            // The next reply in order, whole: call id 1 then 2, every payload word its id plus 100.
            final long id = seen + 1;
            boolean intact = length == RECORD - RecordDescriptor.HEADER_LENGTH
                && buffer.getLong(index + IpcLayout.CALL_ID_OFFSET) == id
                && buffer.getInt(index + IpcLayout.CALL_LENGTH_OFFSET) == PAYLOAD
                && buffer.getInt(index + IpcLayout.CALL_STATUS_OFFSET) == IpcLayout.STATUS_OK;
            for (int i = 0; intact && i < PAYLOAD; i += 8)
            {
                intact = buffer.getLong(index + IpcLayout.MSG_HEADER + i) == id + 100;
            }
            if (intact)
            {
                seen++;
            }
            else
            {
                bad++;
            }
            reader.dirty(MSG + PAYLOAD);
            return RingReader.CONSUMED;
        }

        @Override
        public void onResync(final String why)
        {
            bad++;
        }
    };

    /** Two calls committed from {@link #START}, the lane bound by the server at its head. */
    public CallLaneStressTest()
    {
        variant = SAMPLES.getAndIncrement() & 1;
        final UnsafeBuffer pooled = RINGS.poll();
        ring = pooled != null ? pooled
            : new UnsafeBuffer(ByteBuffer.allocateDirect(CAPACITY + RingBufferDescriptor.TRAILER_LENGTH));
        ring.setMemory(0, ring.capacity(), (byte)0);
        ring.putLong(CAPACITY + RingBufferDescriptor.TAIL_POSITION_OFFSET, START);
        ring.putLong(CAPACITY + RingBufferDescriptor.HEAD_CACHE_POSITION_OFFSET, START);
        ring.putLong(CAPACITY + RingBufferDescriptor.HEAD_POSITION_OFFSET, START);
        writer = new LaneWriter(ring);
        reader = new RingReader(ring, IpcLayout.REPLY_TYPE, Long.MAX_VALUE, variant == 1 ? 512 : 0)
            .inPlace(IpcLayout.REQUEST_TYPE, IpcLayout.REPLYING_TYPE);
        lane = new CallLane(ring, SLOT);
        lane.bind(1);
        call(1);
        call(2);
    }

    private void call(final long id)
    {
        final int at = writer.claim(IpcLayout.REQUEST_TYPE, RECORD - RecordDescriptor.HEADER_LENGTH);
        if (at < 0)
        {
            bad++;
            return;
        }
        ring.putLong(at + IpcLayout.CALL_ID_OFFSET, id);
        ring.putInt(at + IpcLayout.CALL_GENERATION_OFFSET, 1);
        ring.putInt(at + IpcLayout.CALL_SLOT_OFFSET, (int)id);
        ring.putInt(at + IpcLayout.CALL_LENGTH_OFFSET, PAYLOAD);
        for (int i = 0; i < PAYLOAD; i += 8)
        {
            ring.putLong(at + IpcLayout.MSG_HEADER + i, id);
        }
        writer.commit(at);
    }

    /** The server: one look at the lane. */
    @Actor
    public void server()
    {
        lane.serve(server, 8);
    }

    /** The client: one read, on past the wrap, while the server may be answering. */
    @Actor
    public void client(final IIIII_Result r)
    {
        reader.readAcrossWrap(client, 8);
        r.r1 = seen;
    }

    /** Serves and reads what is left, lets the reader release it, checks the ring is clean. */
    @Arbiter
    public void arbiter(final IIIII_Result r)
    {
        for (int i = 0; i < 3; i++)
        {
            lane.serve(server, 8);
            reader.read(client, 8);
        }
        reader.hasRecord();
        int nonZero = 0;
        for (int i = 0; i < CAPACITY; i += 8)
        {
            nonZero += ring.getLong(i) != 0 ? 1 : 0;
        }
        final boolean atEnd = writer.producerPosition() == END && writer.consumerPosition() == END
            && lane.cursor() == END && ring.getLong(CAPACITY + LaneDescriptor.SERVER_CURSOR_OFFSET) == END;
        r.r2 = bad + Math.abs(served - 2) + (int)(reader.badRecords() + reader.resyncs()) + (reader.frozen() ? 1 : 0);
        r.r3 = seen;
        r.r4 = nonZero + (atEnd ? 0 : 100);
        r.r5 = variant;
        RINGS.offer(ring);
    }
}
