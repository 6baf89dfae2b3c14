package dev.ferry;

import org.agrona.BitUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.RecordDescriptor;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every reader of a ring in shared memory against the record header a buggy or hostile process can leave at its
 * position: {@link CallLane#serve}, {@link CallLane#takeOver}, {@link RingReader#read} (a plain ring and a call
 * lane's {@link RingReader#inPlace} reader) and {@link LaneWriter#padUncommitted}, each run once, in a thread of its
 * own that the test waits for a bounded time, over boundary lengths (0, -1, {@link Integer#MIN_VALUE},
 * {@link Integer#MAX_VALUE}, lengths whose 8-byte alignment overflows, the ring's capacity and either side of it, an
 * unaligned length, lengths below the shortest record) and every kind of type (request, reply, replying, padding,
 * garbage), at the ring's start, inside it and at its last record. Each must return promptly without throwing, hand
 * over nothing outside the ring, write nothing outside the record at its position (nor outside the ring: guard bytes
 * on either side of the ring's buffer hold records that would pass every check), never move past the producer's
 * tail on a record it does not serve, and halt, freeze, resynchronise, stop or walk on as docs/ipc-layout.md says.
 *
 * <p>And a full call lane: a server that has answered everything in it stops at the client's tail (the record there
 * is the oldest reply, a lap behind) and serves the next call once the client has consumed replies and written it.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
final class RecordBoundsTest
{
    private static final int CAPACITY = 4096;
    private static final int SLOT = 64;
    private static final int RECORD = IpcLayout.callRecordBytes(SLOT);
    private static final int HEADER = RecordDescriptor.HEADER_LENGTH;
    private static final int TRAILER = RingBufferDescriptor.TRAILER_LENGTH;
    private static final int GUARD = 4096;
    private static final int PADDING = RingBuffer.PADDING_MSG_TYPE_ID;
    private static final int GARBAGE = 77;
    private static final long HANG_MS = 1000;
    private static final long LAP = 3L * CAPACITY;

    private static final int[] LENGTHS = {
        0, -1, -RECORD, Integer.MIN_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE - 7, 0x7FFFFFF9, 0x7FFFFFFC,
        CAPACITY - 8, CAPACITY, CAPACITY + 8, RECORD + 3, CallLane.MIN_RECORD - 8, HEADER - 4, RECORD, 64, HEADER};
    private static final int[] TYPES = {
        IpcLayout.REQUEST_TYPE, IpcLayout.REPLY_TYPE, IpcLayout.REPLYING_TYPE, PADDING, GARBAGE, 0};
    private static final int[] INDICES = {0, 256, CAPACITY - RECORD};

    private final UnsafeBuffer backing =
        new UnsafeBuffer(ByteBuffer.allocateDirect(GUARD + CAPACITY + TRAILER + GUARD));
    private final UnsafeBuffer ring = new UnsafeBuffer(backing, GUARD, CAPACITY + TRAILER);
    private final List<String> failures = new ArrayList<>();
    private String testCase;
    private int handed;
    private int handedIndex;
    private int handedLength;
    private int halts;

    private final CallLane.Calls calls = new CallLane.Calls()
    {
        @Override
        public void onCall(final UnsafeBuffer lane, final int record, final int recordLength)
        {
            handed++;
            handedIndex = record;
            handedLength = recordLength;
            if (record < 0 || recordLength < CallLane.MIN_RECORD || (long)record + recordLength > CAPACITY)
            {
                failures.add(testCase + ": handed over a record of " + recordLength + " bytes at " + record
                    + ", outside the ring");
                return;
            }
            CallLane.markReplying(lane, record);
            lane.putLong(record + HEADER + IpcLayout.MSG_HEADER, 42);
            CallLane.replied(lane, record, 8);
        }

        @Override
        public void onHalt(final String why)
        {
            halts++;
        }
    };

    private final RingReader.RecordHandler records = new RingReader.RecordHandler()
    {
        @Override
        public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
        {
            handed++;
            handedIndex = index;
            handedLength = length;
            if (index < HEADER || length < 0 || (long)index + length > CAPACITY)
            {
                failures.add(testCase + ": handed over a message of " + length + " bytes at " + index
                    + ", outside the ring");
            }
            return RingReader.CONSUMED;
        }

        @Override
        public void onResync(final String why)
        {
            halts++;
        }
    };

    private enum Outcome
    {
        /** Nothing done: nothing committed there. */
        NOTHING,
        /** The record handed over (served, answered FAILED, or read), the position past it. */
        HANDED,
        /** Walked past without handing it over. */
        SKIPPED,
        /** Halted, frozen or resynchronised. */
        HALTED
    }

    @Test
    void callLaneServeHandlesEveryHeader()
    {
        forEachCase((index, length, type) ->
        {
            final long position = LAP + index;
            final long tail = position + RECORD;
            positions(position, tail);
            header(index, length, type);
            final CallLane lane = new CallLane(ring, SLOT);
            lane.bind(1);
            final int[] served = new int[1];
            final byte[] before = snapshot();
            if (!bounded(() -> served[0] = lane.serve(calls, 8)))
            {
                return;
            }
            unchangedOutside(before, index, RECORD);
            final boolean fits = length >= CallLane.MIN_RECORD && length <= CAPACITY - index;
            final boolean paddingFits = length >= HEADER && length <= CAPACITY - index;
            final boolean inTail = length <= tail - position;
            final Outcome expected;
            if (length == 0)
            {
                expected = Outcome.NOTHING;
            }
            else if (type == IpcLayout.REQUEST_TYPE)
            {
                // The hot path does not read the tail: a request that fits is served, the periodic check of the
                // positions halts the lane later if it lay past the tail.
                expected = fits ? Outcome.HANDED : Outcome.HALTED;
            }
            else if (type == IpcLayout.REPLYING_TYPE)
            {
                expected = fits && inTail ? Outcome.HANDED : Outcome.HALTED;
            }
            else if (type == IpcLayout.REPLY_TYPE)
            {
                expected = fits && inTail ? Outcome.SKIPPED : Outcome.HALTED;
            }
            else if (type == PADDING)
            {
                expected = paddingFits && inTail ? Outcome.SKIPPED : Outcome.HALTED;
            }
            else
            {
                expected = Outcome.HALTED;
            }
            final long past = position + BitUtil.align((long)length, HEADER);
            switch (expected)
            {
                case NOTHING -> check(served[0] == 0 && !lane.halted() && lane.cursor() == position, "nothing",
                    lane.cursor(), lane.halted());
                case HANDED ->
                {
                    check(served[0] == 1, "one call served", served[0], lane.halted());
                    if (type == IpcLayout.REQUEST_TYPE)
                    {
                        check(handed == 1 && handedIndex == index && handedLength == length,
                            "the request handed over once", handedIndex, handedLength);
                        // Past the tail, only a request is walked without the tail read: then it stops at the next
                        // record or halts, never walks on.
                        check(lane.cursor() == past && (past <= tail ? !lane.halted() : true),
                            "cursor past the request", lane.cursor(), lane.halted());
                    }
                    else
                    {
                        check(handed == 0 && ring.getInt(index + 4) == IpcLayout.REPLY_TYPE
                            && ring.getInt(index + HEADER + IpcLayout.CALL_STATUS_OFFSET) == IpcLayout.STATUS_FAILED,
                            "answered FAILED in place", handed, ring.getInt(index + 4));
                        check(lane.cursor() == past && !lane.halted(), "cursor past it", lane.cursor(),
                            lane.halted());
                    }
                }
                case SKIPPED -> check(served[0] == 0 && handed == 0 && lane.cursor() == past && !lane.halted(),
                    "walked past", lane.cursor(), lane.halted());
                case HALTED -> check(served[0] == 0 && handed == 0 && lane.halted() && lane.cursor() == position
                    && ring.getLong(CAPACITY + LaneDescriptor.SERVER_HALTED_OFFSET) == 1, "halted at the record",
                    lane.cursor(), lane.halted());
                default -> throw new IllegalStateException();
            }
            check(lane.halted() || type == IpcLayout.REQUEST_TYPE || lane.cursor() <= tail, "never past the tail",
                lane.cursor(), tail);
        });
    }

    @Test
    void callLaneServeStopsAtOrHaltsPastTheTail()
    {
        for (final int type : new int[] {IpcLayout.REPLY_TYPE, IpcLayout.REPLYING_TYPE, PADDING})
        {
            for (final long behind : new long[] {0, RECORD})
            {
                testCase = "type " + type + ", cursor " + behind + " bytes past the tail";
                clear();
                final long position = LAP + 256;
                // The client's tail at the cursor (a full lane: the record there is a lap old) or behind it.
                positions(position, position - behind);
                header(256, RECORD, type);
                final CallLane lane = new CallLane(ring, SLOT);
                lane.bind(1);
                final int[] served = new int[1];
                if (!bounded(() -> served[0] = lane.serve(calls, 8)))
                {
                    continue;
                }
                check(served[0] == 0 && lane.cursor() == position && ring.getInt(256 + 4) == type,
                    "stopped, nothing answered", lane.cursor(), ring.getInt(256 + 4));
                check(behind == 0 ? !lane.halted() : lane.halted(), "halted only when past the tail",
                    lane.cursor(), lane.halted());
            }
        }
        report();
    }

    @Test
    void callLaneTakeOverHandlesEveryHeader()
    {
        forEachCase((index, length, type) ->
        {
            final long position = LAP + index;
            final long tail = position + RECORD;
            positions(position, tail);
            header(index, length, type);
            final CallLane lane = new CallLane(ring, SLOT);
            final int[] failed = new int[1];
            final byte[] before = snapshot();
            if (!bounded(() -> failed[0] = lane.takeOver(1, 0)))
            {
                return;
            }
            unchangedOutside(before, index, RECORD);
            final boolean fits = length >= CallLane.MIN_RECORD && length <= CAPACITY - index;
            final boolean paddingFits = length >= HEADER && length <= CAPACITY - index;
            final boolean inTail = length <= tail - position;
            final Outcome expected;
            if (length <= 0)
            {
                // Not committed: the client may be writing it.
                expected = Outcome.NOTHING;
            }
            else if (type == IpcLayout.REQUEST_TYPE || type == IpcLayout.REPLYING_TYPE)
            {
                expected = fits && inTail ? Outcome.HANDED : Outcome.HALTED;
            }
            else if (type == IpcLayout.REPLY_TYPE)
            {
                expected = fits && inTail ? Outcome.SKIPPED : Outcome.HALTED;
            }
            else if (type == PADDING)
            {
                expected = paddingFits && inTail ? Outcome.SKIPPED : Outcome.HALTED;
            }
            else
            {
                expected = Outcome.HALTED;
            }
            final long past = position + BitUtil.align((long)length, HEADER);
            switch (expected)
            {
                case NOTHING -> check(failed[0] == 0 && !lane.halted() && lane.cursor() == position, "nothing",
                    lane.cursor(), lane.halted());
                case HANDED -> check(failed[0] == 1 && !lane.halted() && lane.cursor() == past
                    && ring.getInt(index + 4) == IpcLayout.REPLY_TYPE
                    && ring.getInt(index + HEADER + IpcLayout.CALL_STATUS_OFFSET) == IpcLayout.STATUS_FAILED,
                    "answered FAILED, cursor past it", lane.cursor(), failed[0]);
                case SKIPPED -> check(failed[0] == 0 && !lane.halted() && lane.cursor() == past, "walked past",
                    lane.cursor(), lane.halted());
                case HALTED -> check(failed[0] == 0 && lane.halted() && lane.cursor() == position,
                    "halted at the record", lane.cursor(), lane.halted());
                default -> throw new IllegalStateException();
            }
            check(lane.cursor() <= tail, "never past the tail", lane.cursor(), tail);
        });
    }

    @Test
    void ringReaderHandlesEveryHeader()
    {
        forEachCase((index, length, type) ->
        {
            final long position = LAP + index;
            final long tail = position + RECORD;
            positions(position, tail);
            header(index, length, type);
            final RingReader reader = new RingReader(ring, IpcLayout.REPLY_TYPE, TimeUnit.SECONDS.toNanos(10));
            final int[] read = new int[1];
            final byte[] before = snapshot();
            if (!bounded(() -> read[0] = reader.read(records, 8)))
            {
                return;
            }
            final boolean fits = length >= HEADER && length <= CAPACITY - index;
            final Outcome expected = length <= 0 ? Outcome.NOTHING
                : !fits ? Outcome.HALTED
                : type == IpcLayout.REPLY_TYPE ? Outcome.HANDED : Outcome.SKIPPED;
            final long head = ring.getLong(CAPACITY + RingBufferDescriptor.HEAD_POSITION_OFFSET);
            final long past = position + BitUtil.align((long)length, HEADER);
            if (expected != Outcome.HALTED)
            {
                unchangedOutside(before, index, RECORD);
            }
            else
            {
                unchangedOutside(before, 0, CAPACITY);
            }
            switch (expected)
            {
                case NOTHING -> check(read[0] == 0 && handed == 0 && halts == 0 && head == position, "nothing",
                    head, halts);
                case HANDED -> check(read[0] == 1 && handed == 1 && handedIndex == index + HEADER
                    && handedLength == length - HEADER && halts == 0 && head == past, "handed over once", head, halts);
                case SKIPPED -> check(read[0] == 0 && handed == 0 && halts == 0 && head == past, "skipped", head,
                    halts);
                case HALTED -> check(read[0] == 0 && handed == 0 && halts == 1 && head == tail
                    && zero(0, CAPACITY), "resynchronised: zeroed, head at the tail", head, halts);
                default -> throw new IllegalStateException();
            }
        });
    }

    @Test
    void inPlaceRingReaderHandlesEveryHeader()
    {
        forEachCase((index, length, type) ->
        {
            final long position = LAP + index;
            final long tail = position + RECORD;
            positions(position, tail);
            header(index, length, type);
            final RingReader reader = new RingReader(ring, IpcLayout.REPLY_TYPE, TimeUnit.SECONDS.toNanos(10))
                .inPlace(IpcLayout.REQUEST_TYPE, IpcLayout.REPLYING_TYPE);
            final int[] read = new int[1];
            final byte[] before = snapshot();
            if (!bounded(() -> read[0] = reader.read(records, 8)))
            {
                return;
            }
            unchangedOutside(before, index, RECORD);
            final boolean fits = length >= HEADER && length <= CAPACITY - index;
            final Outcome expected;
            if (length <= 0)
            {
                expected = Outcome.NOTHING;
            }
            else if (!fits)
            {
                expected = Outcome.HALTED;
            }
            else if (type == IpcLayout.REPLY_TYPE)
            {
                expected = Outcome.HANDED;
            }
            else if (type == IpcLayout.REQUEST_TYPE || type == IpcLayout.REPLYING_TYPE)
            {
                // A call not answered yet.
                expected = Outcome.NOTHING;
            }
            else if (type == PADDING)
            {
                // Left until the record after it, at the ring's start, is answered: nothing is there.
                expected = Outcome.NOTHING;
            }
            else
            {
                // A record the client cannot use: it freezes and has the lane halted and reset.
                expected = Outcome.HALTED;
            }
            final long head = ring.getLong(CAPACITY + RingBufferDescriptor.HEAD_POSITION_OFFSET);
            final long past = position + BitUtil.align((long)length, HEADER);
            switch (expected)
            {
                case NOTHING -> check(read[0] == 0 && handed == 0 && halts == 0 && !reader.frozen()
                    && head == position, "nothing", head, halts);
                case HANDED -> check(read[0] == 1 && handed == 1 && handedIndex == index + HEADER
                    && handedLength == length - HEADER && halts == 0 && head == past, "handed over once", head, halts);
                case HALTED -> check(read[0] == 0 && handed == 0 && halts == 1 && reader.frozen() && head == position,
                    "frozen, the lane left as it was", head, halts);
                default -> throw new IllegalStateException();
            }
        });
    }

    @Test
    void inPlaceReaderStopsAtItsSpanLimitInsteadOfThrowing()
    {
        testCase = "70 short paddings before an answered record at the ring's start";
        final int index = 256;
        final long position = LAP + index;
        final long tail = position + 70L * HEADER;
        positions(position, tail);
        for (int i = 0; i < 70; i++)
        {
            header(index + i * HEADER, HEADER, PADDING);
        }
        header(0, RECORD, IpcLayout.REPLY_TYPE);
        final RingReader reader = new RingReader(ring, IpcLayout.REPLY_TYPE, TimeUnit.SECONDS.toNanos(10))
            .inPlace(IpcLayout.REQUEST_TYPE, IpcLayout.REPLYING_TYPE);
        for (int i = 0; i < 3; i++)
        {
            if (!bounded(() -> reader.read(records, 8)))
            {
                break;
            }
        }
        check(ring.getLong(CAPACITY + RingBufferDescriptor.HEAD_POSITION_OFFSET) == tail && zero(index, 70 * HEADER),
            "every padding consumed and zeroed", ring.getLong(CAPACITY + RingBufferDescriptor.HEAD_POSITION_OFFSET),
            tail);
        report();
    }

    @Test
    void ringReaderResynchronisesAStuckNegativeLength()
    {
        for (final int length : new int[] {-1, -HEADER, -RECORD, -(CAPACITY - 256), -CAPACITY, Integer.MIN_VALUE,
            -Integer.MAX_VALUE, -0x7FFFFFF9})
        {
            testCase = "length " + length + " left at the head";
            clear();
            final long position = LAP + 256;
            final long tail = position + RECORD;
            positions(position, tail);
            header(256, length, IpcLayout.REPLY_TYPE);
            final RingReader reader = new RingReader(ring, IpcLayout.REPLY_TYPE, 0);
            final boolean returned = bounded(() ->
            {
                for (int i = 0; i < 20_000; i++)
                {
                    reader.read(records, 8);
                }
            });
            final long head = ring.getLong(CAPACITY + RingBufferDescriptor.HEAD_POSITION_OFFSET);
            check(returned && head == tail && ring.getInt(256) >= 0, "unblocked or resynchronised: head at the tail",
                head, ring.getInt(256));
        }
        report();
    }

    @Test
    void padUncommittedHandlesEveryHeader()
    {
        forEachCase((index, length, type) ->
        {
            final long position = LAP + index;
            final long tail = position + RECORD;
            positions(position, tail);
            ring.putLong(CAPACITY + LaneDescriptor.LAST_CLAIM_OFFSET, position);
            header(index, length, type);
            final LaneWriter writer = new LaneWriter(ring);
            final int[] padded = new int[1];
            final byte[] before = snapshot();
            if (!bounded(() -> padded[0] = writer.padUncommitted()))
            {
                return;
            }
            unchangedOutside(before, index, RECORD);
            final int aligned = (int)Math.min(BitUtil.align((long)length, HEADER), Integer.MAX_VALUE);
            if (length <= 0)
            {
                check(padded[0] == RECORD && ring.getInt(index) == RECORD && ring.getInt(index + 4) == PADDING,
                    "padded over the uncommitted claim", padded[0], ring.getInt(index));
            }
            else if (length >= HEADER && length <= CAPACITY - index && length <= tail - position)
            {
                check(padded[0] == RECORD - aligned && ring.getInt(index) == length, "walked past the record",
                    padded[0], ring.getInt(index));
            }
            else
            {
                check(padded[0] == -1 && Arrays.equals(before, snapshot()), "refused, nothing written", padded[0],
                    ring.getInt(index));
            }
        });
    }

    @Test
    void aServerThatServedAFullLaneStopsAtItsTailAndServesTheNextCall()
    {
        testCase = "full lane";
        final LaneWriter client = new LaneWriter(ring);
        final CallLane lane = new CallLane(ring, SLOT);
        lane.bind(1);
        int written = 0;
        while (call(client, written))
        {
            written++;
        }
        assertEquals(CAPACITY / RECORD, written);
        final long tail = client.producerPosition();
        final int[] served = new int[1];
        // Everything answered, then more looks at the lane: the record at the cursor is now the oldest reply.
        assertTrue(bounded(() ->
        {
            for (int i = 0; i < 10; i++)
            {
                served[0] += lane.serve(calls, 8);
            }
        }), failures.toString());
        assertEquals(written, served[0]);
        assertEquals(tail, lane.cursor(), "the server's cursor passed the client's tail");
        assertFalse(lane.halted());
        assertTrue(lane.hasWork(), "the oldest reply shows at the cursor");

        // The client consumes three replies and writes a call.
        final RingReader replies = new RingReader(ring, IpcLayout.REPLY_TYPE, TimeUnit.SECONDS.toNanos(10))
            .inPlace(IpcLayout.REQUEST_TYPE, IpcLayout.REPLYING_TYPE);
        assertEquals(3, replies.read(records, 3));
        assertTrue(call(client, 1000));
        handed = 0;
        served[0] = 0;
        assertTrue(bounded(() ->
        {
            for (int i = 0; i < 10; i++)
            {
                served[0] += lane.serve(calls, 8);
            }
        }), failures.toString());
        assertEquals(1, served[0], "the call after a full lane was not served");
        assertEquals(1000L, ring.getLong(handedIndex + HEADER + IpcLayout.CALL_ID_OFFSET));
        assertEquals(client.producerPosition(), lane.cursor());
        assertEquals(lane.cursor(), ring.getLongVolatile(CAPACITY + LaneDescriptor.SERVER_CURSOR_OFFSET));
        assertFalse(lane.halted());
        report();
    }

    private boolean call(final LaneWriter client, final long id)
    {
        final int at = client.claim(IpcLayout.REQUEST_TYPE, RECORD - HEADER);
        if (at < 0)
        {
            return false;
        }
        ring.putLong(at + IpcLayout.CALL_ID_OFFSET, id);
        ring.putInt(at + IpcLayout.CALL_GENERATION_OFFSET, 1);
        ring.putInt(at + IpcLayout.CALL_LENGTH_OFFSET, 8);
        client.commit(at);
        return true;
    }

    private interface Case
    {
        void run(int index, int length, int type);
    }

    private void forEachCase(final Case body)
    {
        for (final int index : INDICES)
        {
            for (final int length : LENGTHS)
            {
                for (final int type : TYPES)
                {
                    testCase = "length " + length + " (0x" + Integer.toHexString(length) + "), type " + type
                        + " at index " + index;
                    clear();
                    body.run(index, length, type);
                }
            }
        }
        report();
    }

    private void report()
    {
        if (!failures.isEmpty())
        {
            fail(failures.size() + " failures:\n" + String.join("\n", failures));
        }
    }

    private void check(final boolean ok, final String what, final Object a, final Object b)
    {
        if (!ok)
        {
            failures.add(testCase + ": expected " + what + " (got " + a + ", " + b + ", handed " + handed
                + ", halts/resyncs " + halts + ")");
        }
    }

    /** Zeroes the ring and fills the guard bytes either side with records that would pass every check. */
    private void clear()
    {
        backing.setMemory(0, backing.capacity(), (byte)0);
        for (int i = 0; i < GUARD; i += RECORD)
        {
            for (final int at : new int[] {i, GUARD + CAPACITY + TRAILER + i})
            {
                backing.putInt(at, RECORD);
                backing.putInt(at + 4, IpcLayout.REPLY_TYPE);
                for (int j = HEADER; j < RECORD; j += 8)
                {
                    backing.putInt(at + j, RECORD);
                    backing.putInt(at + j + 4, IpcLayout.REPLY_TYPE);
                }
            }
        }
        handed = 0;
        halts = 0;
        handedIndex = -1;
        handedLength = -1;
    }

    private void positions(final long head, final long tail)
    {
        ring.putLong(CAPACITY + RingBufferDescriptor.TAIL_POSITION_OFFSET, tail);
        ring.putLong(CAPACITY + RingBufferDescriptor.HEAD_CACHE_POSITION_OFFSET, head);
        ring.putLong(CAPACITY + RingBufferDescriptor.HEAD_POSITION_OFFSET, head);
        ring.putLong(CAPACITY + LaneDescriptor.LAST_CLAIM_OFFSET, head);
    }

    private void header(final int index, final int length, final int type)
    {
        ring.putInt(index, length);
        ring.putInt(index + 4, type);
    }

    private byte[] snapshot()
    {
        final byte[] bytes = new byte[backing.capacity()];
        backing.getBytes(0, bytes);
        return bytes;
    }

    private boolean zero(final int from, final int bytes)
    {
        for (int i = from; i < from + bytes; i++)
        {
            if (ring.getByte(i) != 0)
            {
                return false;
            }
        }
        return true;
    }

    /**
     * The guard bytes either side of the ring and the data area outside {@code [index, index + bytes)} are as before
     * (the trailer may change).
     */
    private void unchangedOutside(final byte[] before, final int index, final int bytes)
    {
        final byte[] after = snapshot();
        for (int i = 0; i < after.length; i++)
        {
            final int inRing = i - GUARD;
            final boolean allowed = (inRing >= index && inRing < index + bytes) || (inRing >= CAPACITY
                && inRing < CAPACITY + TRAILER);
            if (!allowed && before[i] != after[i])
            {
                failures.add(testCase + ": wrote byte " + inRing + " of the ring (" + before[i] + " -> " + after[i]
                    + ")" + (inRing < 0 || inRing >= CAPACITY + TRAILER ? ", outside its buffer" : ""));
                return;
            }
        }
    }

    /**
     * Runs a reader in a thread of its own and waits for it a bounded time; a reader that has not returned by then
     * is recorded as hung and then stopped by zeroing the ring (every reader stops at a zero header), so that it does
     * not spin on for the rest of the run.
     *
     * @return true if it returned in time without throwing.
     */
    private boolean bounded(final Runnable reader)
    {
        final Throwable[] thrown = new Throwable[1];
        final Thread thread = new Thread(() ->
        {
            try
            {
                reader.run();
            }
            catch (final Throwable t)
            {
                thrown[0] = t;
            }
        }, "reader under test");
        thread.setDaemon(true);
        thread.start();
        try
        {
            thread.join(HANG_MS);
            if (thread.isAlive())
            {
                failures.add(testCase + ": did not return within " + HANG_MS + " ms (a loop)");
                while (thread.isAlive())
                {
                    for (int i = 0; i < CAPACITY; i += HEADER)
                    {
                        ring.putLongVolatile(i, 0);
                    }
                    thread.join(10);
                }
                return false;
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
        if (thrown[0] != null)
        {
            failures.add(testCase + ": threw " + thrown[0]);
            return false;
        }
        return true;
    }
}
