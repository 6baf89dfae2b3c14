package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.RecordDescriptor;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link CallLane} on its own, one thread: a server that takes a lane over from a dead one answers FAILED, in place,
 * what its predecessor left (a call unread, a reply it died writing) and nothing else; a record it cannot walk past
 * halts the lane, which stays halted (untouched) until its client bumps the lane's epoch, and resumes at the new
 * head, and a replacement server stays off a lane its predecessor halted until then; a client's halt request halts
 * it too.
 */
final class CallLaneTest
{
    private static final int CAPACITY = 4096;
    private static final int SLOT = 64;
    private static final int RECORD = IpcLayout.callRecordBytes(SLOT);
    private static final int MSG = RecordDescriptor.HEADER_LENGTH;

    private final UnsafeBuffer ring =
        new UnsafeBuffer(ByteBuffer.allocateDirect(CAPACITY + RingBufferDescriptor.TRAILER_LENGTH));
    private final LaneWriter writer = new LaneWriter(ring);
    private final List<String> halts = new ArrayList<>();
    private final List<Long> calls = new ArrayList<>();
    private final CallLane.Calls echo = new CallLane.Calls()
    {
        @Override
        public void onCall(final UnsafeBuffer lane, final int record, final int recordLength)
        {
            calls.add(lane.getLong(record + MSG + IpcLayout.CALL_ID_OFFSET));
            CallLane.markReplying(lane, record);
            lane.putLong(record + MSG + IpcLayout.MSG_HEADER, 42);
            CallLane.replied(lane, record, 8);
        }

        @Override
        public void onHalt(final String why)
        {
            halts.add(why);
        }
    };

    private int call(final long id)
    {
        final int at = writer.claim(IpcLayout.REQUEST_TYPE, RECORD - MSG);
        ring.putLong(at + IpcLayout.CALL_ID_OFFSET, id);
        ring.putInt(at + IpcLayout.CALL_GENERATION_OFFSET, 1);
        ring.putInt(at + IpcLayout.CALL_LENGTH_OFFSET, 8);
        ring.putLong(at + IpcLayout.MSG_HEADER, id);
        writer.commit(at);
        return at - MSG;
    }

    /** The client's part of a reset, as LaneClient does it: zero, positions past everything, epoch bumped. */
    private void reset(final long position, final long epoch)
    {
        ring.setMemory(0, CAPACITY, (byte)0);
        ring.putLong(CAPACITY + RingBufferDescriptor.TAIL_POSITION_OFFSET, position);
        ring.putLong(CAPACITY + RingBufferDescriptor.HEAD_CACHE_POSITION_OFFSET, position);
        ring.putLongVolatile(CAPACITY + RingBufferDescriptor.HEAD_POSITION_OFFSET, position);
        ring.putLongVolatile(CAPACITY + LaneDescriptor.LANE_EPOCH_OFFSET, epoch);
    }

    private int type(final int record)
    {
        return ring.getInt(RecordDescriptor.typeOffset(record));
    }

    private int status(final int record)
    {
        return ring.getInt(record + MSG + IpcLayout.CALL_STATUS_OFFSET);
    }

    @Test
    void aReplacementAnswersFailedWhatItsPredecessorLeftAndServesOn()
    {
        final CallLane dead = new CallLane(ring, SLOT);
        dead.bind(1);
        final int answered = call(0);
        final int dying = call(1);
        final int unread = call(2);
        assertEquals(1, dead.serve(echo, 1));
        // The dead server had begun its reply to call 1 (REPLYING, part of it written) when it died.
        ring.putInt(RecordDescriptor.typeOffset(dying), IpcLayout.REPLYING_TYPE);
        ring.putLong(dying + MSG + IpcLayout.MSG_HEADER, 99);
        // Its published cursor lags (it publishes per batch): the takeover must not answer call 0 again.
        assertEquals(RECORD, ring.getLong(CAPACITY + LaneDescriptor.SERVER_CURSOR_OFFSET));

        final CallLane replacement = new CallLane(ring, SLOT);
        assertEquals(2, replacement.takeOver(1, 0));
        assertEquals(IpcLayout.REPLY_TYPE, type(answered));
        assertEquals(IpcLayout.STATUS_OK, status(answered));
        for (final int record : new int[] {dying, unread})
        {
            assertEquals(IpcLayout.REPLY_TYPE, type(record));
            assertEquals(IpcLayout.STATUS_FAILED, status(record));
            final int length = ring.getInt(record + MSG + IpcLayout.CALL_LENGTH_OFFSET);
            assertTrue(length > 0 && length <= SLOT, "message length " + length);
        }
        assertTrue(ring.getStringWithoutLengthUtf8(dying + MSG + IpcLayout.MSG_HEADER,
            ring.getInt(dying + MSG + IpcLayout.CALL_LENGTH_OFFSET)).contains("died"));
        assertEquals(3L * RECORD, replacement.cursor());

        final int next = call(3);
        assertEquals(1, replacement.serve(echo, 8));
        assertEquals(List.of(0L, 3L), calls, "calls run: never the ones the takeover failed");
        assertEquals(IpcLayout.STATUS_OK, status(next));
        assertTrue(halts.isEmpty(), halts.toString());
    }

    @Test
    void aRecordThatCannotBeWalkedHaltsTheLaneUntilItsClientResetsIt()
    {
        final CallLane lane = new CallLane(ring, SLOT);
        lane.bind(1);
        final int bad = call(0);
        call(1);
        ring.putInt(bad, 1 << 30);
        assertEquals(0, lane.serve(echo, 8));
        assertTrue(lane.halted());
        assertEquals(1, halts.size());
        assertEquals(1, ring.getLong(CAPACITY + LaneDescriptor.SERVER_HALTED_OFFSET), "halted at epoch 0 (stored + 1)");
        assertTrue(lane.drained(), "a halted lane counts as drained");
        // Halted, it touches nothing, however often it looks.
        final byte[] before = new byte[CAPACITY];
        ring.getBytes(0, before);
        for (int i = 0; i < 2000; i++)
        {
            lane.hasWork();
            assertEquals(0, lane.serve(echo, 8));
        }
        final byte[] after = new byte[CAPACITY];
        ring.getBytes(0, after);
        assertTrue(java.util.Arrays.equals(before, after), "a halted lane was written to");
        assertTrue(calls.isEmpty());

        reset(2L * RECORD, 1);
        final int fresh = call(7);
        assertEquals(1, lane.serve(echo, 8));
        assertFalse(lane.halted());
        assertEquals(List.of(7L), calls);
        assertEquals(IpcLayout.STATUS_OK, status(fresh));
        assertEquals(3L * RECORD, ring.getLong(CAPACITY + LaneDescriptor.SERVER_CURSOR_OFFSET));
    }

    @Test
    void aReplacementLeavesALaneItsPredecessorHaltedUntilTheClientResetsIt()
    {
        final CallLane dead = new CallLane(ring, SLOT);
        dead.bind(1);
        final int bad = call(0);
        ring.putInt(bad, 1 << 30);
        assertEquals(0, dead.serve(echo, 8));
        assertTrue(dead.halted());
        // The client is in the middle of its reset: the data area zeroed, positions and epoch not yet stored. The
        // replacement must stay off the lane (walking it would race with the reset), not take it for a clean one.
        ring.setMemory(0, CAPACITY, (byte)0);
        final CallLane replacement = new CallLane(ring, SLOT);
        assertEquals(0, replacement.takeOver(1, 0));
        assertTrue(replacement.halted(), "a replacement took a lane its predecessor halted for a clean one");
        for (int i = 0; i < 2000; i++)
        {
            assertEquals(0, replacement.serve(echo, 8));
        }

        reset(RECORD, 1);
        final int fresh = call(5);
        assertEquals(1, replacement.serve(echo, 8));
        assertEquals(IpcLayout.STATUS_OK, status(fresh));
        assertEquals(List.of(5L), calls);
    }

    @Test
    void aClientsHaltRequestHaltsTheLaneBeforeItServesMore()
    {
        final CallLane lane = new CallLane(ring, SLOT);
        lane.bind(1);
        call(0);
        ring.putLongVolatile(CAPACITY + LaneDescriptor.HALT_REQUEST_OFFSET, 1);
        assertTrue(lane.hasWork());
        assertEquals(0, lane.serve(echo, 8));
        assertTrue(lane.halted());
        assertTrue(calls.isEmpty(), "served after the client asked for a halt");
        assertEquals(1, ring.getLong(CAPACITY + LaneDescriptor.SERVER_HALTED_OFFSET));
        assertTrue(halts.isEmpty(), "a requested halt is not a corrupt record of the server's finding");
    }
}
