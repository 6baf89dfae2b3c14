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
import org.openjdk.jcstress.infra.results.IIII_Result;

import java.nio.ByteBuffer;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of a DIRECT call lane's halt, reset and epoch handshake: the server ({@link CallLane}) halts the lane
 * (stores halted = epoch + 1) and from then on reads only the lane's epoch; the client, once it sees the halt, zeroes
 * the data area, moves its positions past every position seen and stores epoch + 1 ({@link #resetLane}, what
 * {@code LaneClient.tryResetLane} does); the server, seeing the epoch move, resumes at the new head.
 *
 * <p>The lane holds call 1 (a REQUEST the server will answer) and then, in variant 0, a record of type 99, on which
 * the server halts; in variant 1 the client asks for the halt (halt request = epoch + 1) instead. The server serves
 * in a loop; the client waits for the halt, resets the lane, then commits call 2. The arbiter lets both finish
 * (client, then server, three times) and checks the lane.
 *
 * <p>Result: (the server's racing loop saw call 2; problems: a call served that was torn or not call 1 or 2, a call
 * served twice, call 2 not served, halts reported other than the one record of type 99; non-zero 8-byte words of the
 * data area outside call 2's record (a server write landed after the client's zeroing), plus 100 if the server's
 * cursor, published or its own, is not just past call 2 (it resumed at an old position), plus 1000 if the client
 * never saw the halt (a halt lost); the variant). Acceptable: no problem. Forbidden: anything else.
 */
@JCStressTest
@Description("CallLane: the server halts, the client zeroes and bumps the epoch, the server resumes at the new head")
@Outcome(id = "[0-1], 0, 0, [0-1]", expect = ACCEPTABLE, desc = "Halted, reset and resumed at the new head.")
@Outcome(expect = FORBIDDEN,
    desc = "The server read or wrote the lane while it was reset, resumed at an old position, or a halt was lost.")
@State
public class CallLaneResetStressTest
{
    private static final int CAPACITY = 1024;
    private static final int SLOT = 64;
    private static final int PAYLOAD = 32;
    private static final int RECORD = IpcLayout.callRecordBytes(SLOT);
    private static final int MSG = RecordDescriptor.HEADER_LENGTH;
    private static final long START = 256;
    private static final int BAD_TYPE = 99;
    private static final int TRIES = 200;
    private static final AtomicInteger SAMPLES = new AtomicInteger();
    private static final Queue<UnsafeBuffer> RINGS = new ConcurrentLinkedQueue<>();

    private final UnsafeBuffer ring;
    private final int variant;
    private final LaneWriter writer;
    private final CallLane lane;
    private long epoch;
    private boolean reset;
    private long call2 = -1;
    private int servedOne;
    private int servedTwo;
    private int bad;
    private int refused;
    private int halts;

    private final CallLane.Calls server = new CallLane.Calls()
    {
        @Override
        public void onCall(final UnsafeBuffer buffer, final int record, final int recordLength)
        {
            final int msg = record + MSG;
            final long id = buffer.getLong(msg + IpcLayout.CALL_ID_OFFSET);
            boolean intact = recordLength == RECORD && (id == 1 || id == 2)
                && buffer.getInt(msg + IpcLayout.CALL_LENGTH_OFFSET) == PAYLOAD;
            for (int i = 0; intact && i < PAYLOAD; i += 8)
            {
                intact = buffer.getLong(msg + IpcLayout.MSG_HEADER + i) == id;
            }
            if (!intact)
            {
                bad++;
                return;
            }
            CallLane.markReplying(buffer, record);
            for (int i = 0; i < PAYLOAD; i += 8)
            {
                buffer.putLong(msg + IpcLayout.MSG_HEADER + i, id + 100);
            }
            CallLane.replied(buffer, record, PAYLOAD);
            if (id == 1)
            {
                servedOne++;
            }
            else
            {
                servedTwo++;
            }
        }

        @Override
        public void onHalt(final String why)
        {
            halts++;
        }
    };

    /** Call 1 at {@link #START}, then (variant 0) a record of type 99; the lane bound by the server at its head. */
    public CallLaneResetStressTest()
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
        lane = new CallLane(ring, SLOT);
        lane.bind(1);
        call(1, IpcLayout.REQUEST_TYPE);
        if (variant == 0)
        {
            call(3, BAD_TYPE);
        }
    }

    private long call(final long id, final int type)
    {
        final int at = writer.claim(IpcLayout.REQUEST_TYPE, RECORD - MSG);
        if (at < 0)
        {
            refused++;
            return -1;
        }
        ring.putInt(at - MSG + RecordDescriptor.typeOffset(0), type);
        ring.putLong(at + IpcLayout.CALL_ID_OFFSET, id);
        ring.putInt(at + IpcLayout.CALL_GENERATION_OFFSET, 1);
        ring.putInt(at + IpcLayout.CALL_SLOT_OFFSET, (int)id);
        ring.putInt(at + IpcLayout.CALL_LENGTH_OFFSET, PAYLOAD);
        for (int i = 0; i < PAYLOAD; i += 8)
        {
            ring.putLong(at + IpcLayout.MSG_HEADER + i, id);
        }
        writer.commit(at);
        return writer.producerPosition() - RECORD;
    }

    /** The client's side of the handshake: {@link CallLane#reset}, as {@code LaneClient.tryResetLane} calls it. */
    static boolean resetLane(final UnsafeBuffer lane, final int capacity, final long epoch)
    {
        return CallLane.reset(lane, capacity, epoch) >= 0;
    }

    private boolean clientStep()
    {
        if (!reset && resetLane(ring, CAPACITY, epoch))
        {
            epoch++;
            reset = true;
            call2 = call(2, IpcLayout.REQUEST_TYPE);
        }
        return reset;
    }

    /** The server: serves until it has answered call 2, or its tries run out. */
    @Actor
    public void server(final IIII_Result r)
    {
        for (int i = 0; i < TRIES && servedTwo == 0; i++)
        {
            lane.serve(server, 8);
            Thread.onSpinWait();
        }
        r.r1 = servedTwo;
    }

    /** The client: asks for the halt (variant 1), waits for it, resets the lane, commits call 2. */
    @Actor
    public void client()
    {
        if (variant == 1)
        {
            ring.putLongVolatile(CAPACITY + LaneDescriptor.HALT_REQUEST_OFFSET, epoch + 1);
        }
        for (int i = 0; i < TRIES && !clientStep(); i++)
        {
            Thread.onSpinWait();
        }
    }

    /** Finishes the handshake one side at a time, then checks the lane. */
    @Arbiter
    public void arbiter(final IIII_Result r)
    {
        for (int i = 0; i < 3; i++)
        {
            clientStep();
            lane.serve(server, 8);
        }
        final int problems = bad + refused + (servedOne > 1 ? 1 : 0) + (servedTwo != 1 ? 1 : 0)
            + (halts != (variant == 0 ? 1 : 0) ? 1 : 0);
        int outside = 0;
        for (int i = 0; i < CAPACITY; i += 8)
        {
            final long at = call2 < 0 ? -1 : call2 & (CAPACITY - 1);
            if ((at < 0 || i < at || i >= at + RECORD) && ring.getLong(i) != 0)
            {
                outside++;
            }
        }
        final long end = call2 + RECORD;
        final boolean atEnd = call2 >= 0 && lane.cursor() == end
            && ring.getLongVolatile(CAPACITY + LaneDescriptor.SERVER_CURSOR_OFFSET) == end
            && ring.getLongVolatile(CAPACITY + LaneDescriptor.LANE_EPOCH_OFFSET) == 1;
        r.r2 = problems;
        r.r3 = outside + (atEnd ? 0 : 100) + (reset ? 0 : 1000);
        r.r4 = variant;
        RINGS.offer(ring);
    }
}
