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
import java.nio.charset.StandardCharsets;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of {@link CallLane#takeOver}, a replacement server's walk of a call lane its dead predecessor left,
 * against a live client that commits a new call meanwhile.
 *
 * <p>The predecessor answered call 0 (a REPLY, not yet consumed by the client) and left call 1 unread (a REQUEST).
 * The replacement server takes the lane over and then polls it as {@code Server} does ({@code hasWork}, then
 * {@code serve}); the client concurrently commits call 2 ({@link LaneWriter}) and, in variant 1, reads its lane once
 * (its in-place {@link RingReader}, which consumes call 0's reply and zeroes it). In variant 0 the predecessor had
 * published its cursor past call 0; in variant 1 it died before publishing it, so the walk starts at call 0, which
 * the client may be consuming. The arbiter serves and reads what is left.
 *
 * <p>Result: (call 1's answer, call 2's answer, calls served twice plus records torn, halts, the variant). An answer:
 * 0 none (still a REQUEST, or never read: skipped), 1 FAILED in place with the takeover's message intact, 2 served
 * (OK, the handler's reply intact), 3 anything else (torn). Acceptable: call 1 FAILED (it must not run: its caller
 * fails it when it sees the server replaced), call 2 FAILED (the walk saw it committed) or served, nothing torn or
 * twice, no halt. Forbidden: call 1 run or skipped, call 2 skipped or torn (e.g. answered FAILED as left by the
 * predecessor while the client was still writing it: its request then lands over the FAILED reply), a call served
 * twice, a cursor left behind the head (variant 1: the walk meeting call 0 while the client consumed and zeroed it
 * must go on from the client's head; before that fix a stuck cursor or a halt were seen 16-17 times a run). A halt in
 * variant 1 is still possible, and interesting, when the client is descheduled between zeroing call 0 and storing its
 * head for longer than the walk waits for the head (a few µs): the lane is then reset and its calls fail.
 */
@JCStressTest
@Description("CallLane.takeOver: the replacement's walk against the client committing a new call and consuming")
@Outcome(id = "1, [1-2], 0, 0, [0-1]", expect = ACCEPTABLE, desc = "Call 1 failed in place; call 2 failed or served.")
@Outcome(id = "[0-1], [0-2], 0, [1-9], 1", expect = ACCEPTABLE_INTERESTING, desc = "The walk met a reply the client "
    + "was consuming while the client was descheduled between zeroing it and storing its head, and halted the lane "
    + "(spurious: the client resets it and fails its calls; nothing lost or run twice).")
@Outcome(expect = FORBIDDEN, desc = "A call run that must not, skipped, torn or served twice.")
@State
public class TakeoverStressTest
{
    private static final int CAPACITY = 1024;
    private static final int SLOT = 64;
    private static final int PAYLOAD = 32;
    private static final int RECORD = IpcLayout.callRecordBytes(SLOT);
    private static final int MSG = RecordDescriptor.HEADER_LENGTH;
    private static final long START = 256;
    private static final int SERVICE = 3;
    private static final byte[] LEFT = ("the server of service " + SERVICE + " was replaced before it ran this call: "
        + "it did not run").getBytes(StandardCharsets.UTF_8);
    private static final int TRIES = 100;
    private static final AtomicInteger SAMPLES = new AtomicInteger();
    private static final Queue<UnsafeBuffer> RINGS = new ConcurrentLinkedQueue<>();

    private final UnsafeBuffer ring;
    private final int variant;
    private final LaneWriter writer;
    private final CallLane lane;
    private final RingReader reader;
    /** Per call id: the answer the client read (see the class comment). */
    private final int[] answers = new int[3];
    private final int[] reads = new int[3];
    private final int[] served = new int[3];
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
            boolean intact = recordLength == RECORD && id >= 0 && id < 3
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
            served[(int)id]++;
            CallLane.markReplying(buffer, record);
            for (int i = 0; i < PAYLOAD; i += 8)
            {
                buffer.putLong(msg + IpcLayout.MSG_HEADER + i, id + 100);
            }
            CallLane.replied(buffer, record, PAYLOAD);
        }

        @Override
        public void onHalt(final String why)
        {
            halts++;
        }
    };

    private final RingReader.RecordHandler client = new RingReader.RecordHandler()
    {
        @Override
        public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
        {
            final long id = buffer.getLong(index + IpcLayout.CALL_ID_OFFSET);
            if (id < 0 || id > 2 || length != RECORD - MSG)
            {
                bad++;
                return RingReader.CONSUMED;
            }
            reads[(int)id]++;
            answers[(int)id] = answer(buffer, index, id);
            return RingReader.CONSUMED;
        }

        @Override
        public void onResync(final String why)
        {
            halts++;
        }
    };

    /** Call 0 answered and call 1 left unread by the dead predecessor; its cursor published past call 0 (variant 0). */
    public TakeoverStressTest()
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
        reader = new RingReader(ring, IpcLayout.REPLY_TYPE, Long.MAX_VALUE, 0)
            .inPlace(IpcLayout.REQUEST_TYPE, IpcLayout.REPLYING_TYPE);
        final int zero = call(0);
        final CallLane predecessor = new CallLane(ring, SLOT);
        predecessor.bind(1);
        predecessor.serve(server, 1);
        call(1);
        served[0] = 0;
        ring.putLong(CAPACITY + LaneDescriptor.SERVER_CURSOR_OFFSET, variant == 0 ? START + RECORD : START);
        lane = new CallLane(ring, SLOT);
        if (zero < 0 || predecessor.cursor() != START + RECORD)
        {
            bad++;
        }
    }

    private int call(final long id)
    {
        final int at = writer.claim(IpcLayout.REQUEST_TYPE, RECORD - MSG);
        if (at < 0)
        {
            refused++;
            return at;
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
        return at;
    }

    private static int answer(final UnsafeBuffer buffer, final int msg, final long id)
    {
        final int status = buffer.getInt(msg + IpcLayout.CALL_STATUS_OFFSET);
        final int length = buffer.getInt(msg + IpcLayout.CALL_LENGTH_OFFSET);
        if (status == IpcLayout.STATUS_OK && length == PAYLOAD)
        {
            for (int i = 0; i < PAYLOAD; i += 8)
            {
                if (buffer.getLong(msg + IpcLayout.MSG_HEADER + i) != id + 100)
                {
                    return 3;
                }
            }
            return 2;
        }
        if (status == IpcLayout.STATUS_FAILED && length == Math.min(LEFT.length, SLOT))
        {
            for (int i = 0; i < length; i++)
            {
                if (buffer.getByte(msg + IpcLayout.MSG_HEADER + i) != LEFT[i])
                {
                    return 3;
                }
            }
            return 1;
        }
        return 3;
    }

    /** The replacement server: takes the lane over, then polls it. */
    @Actor
    public void server()
    {
        lane.takeOver(1, SERVICE);
        for (int i = 0; i < TRIES && served[2] == 0; i++)
        {
            if (lane.hasWork())
            {
                lane.serve(server, 8);
            }
            Thread.onSpinWait();
        }
    }

    /** The client: commits call 2 and, in variant 1, reads its lane once first. */
    @Actor
    public void client()
    {
        if (variant == 1)
        {
            reader.read(client, 8);
        }
        call(2);
    }

    /** Serves and reads what is left, then reports each call's answer. */
    @Arbiter
    public void arbiter(final IIIII_Result r)
    {
        // The server's idle looks, as Server makes them: enough for the periodic check of the positions (one look
        // in 1024), which moves a cursor the client consumed past up to its head.
        for (int i = 0; i < 3 * 1024; i++)
        {
            if (!lane.halted() && lane.hasWork())
            {
                lane.serve(server, 8);
            }
            if ((i & 1023) == 0)
            {
                reader.read(client, 8);
            }
        }
        reader.read(client, 8);
        int twice = bad + refused;
        for (int id = 0; id < 3; id++)
        {
            twice += Math.max(0, served[id] - 1) + Math.max(0, reads[id] - 1);
        }
        twice += reads[0] == 1 && answers[0] == 2 || lane.halted() ? 0 : 1;
        r.r1 = served[1] > 0 ? 2 : answers[1];
        r.r2 = answers[2];
        r.r3 = twice;
        // Halts reported through onHalt, and a halt by the takeover walk itself (which reports none).
        r.r4 = halts + (lane.halted() ? 1 : 0);
        r.r5 = variant;
        RINGS.offer(ring);
    }
}
