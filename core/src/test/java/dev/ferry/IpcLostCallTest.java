package dev.ferry;

import org.agrona.BitUtil;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.RecordDescriptor;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A request whose record's type is overwritten (so the server cannot take it) still gets exactly one completion:
 * FAILED. It is the last call in flight, so no later reply shows it missing. In MOVER mode the server skips it as a
 * record not meant for it, and the client has to notice that the server read past it (after the mover had forwarded
 * everything the client sent); in DIRECT mode the server halts the call lane at it, and the client, told so, fails
 * what was in flight there and resets the lane. In both kinds of memory.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
final class IpcLostCallTest
{
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"SHARED, DIRECT", "SHARED, MOVER", "IN_PROCESS, DIRECT", "IN_PROCESS, MOVER"})
    void aRequestSkippedByTheServerFailsInsteadOfHanging(final Memories.Memory memory, final Mode mode)
        throws Exception
    {
        final Path dir = tmp.resolve("ferry-lost");
        final HoldingHandler holding = new HoldingHandler(1);
        final boolean shared = memory == Memories.Memory.SHARED;
        final KernelBuilder builder = Kernel.builder().mode(mode).maxInFlight(8).slotBytes(64)
            .timeouts(Timeouts.of(Duration.ofMillis(500)));
        try (Kernel kernel = (shared ? builder.directory(dir) : builder.service(0, holding)).build().start();
             Server server = shared ? Server.builder().directory(dir).service(0, holding).start() : null;
             Mapping view = shared ? Mapping.open(dir) : kernel.memory().share())
        {
            final LaneClient client = shared
                ? Lanes.attach(dir, new BackoffIdleStrategy()) : (LaneClient)kernel.newClient();
            final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
            req.putInt(0, 1);
            final long first = client.submit(0, req, 0, 8);
            req.putInt(0, 2);
            final long second = client.submit(0, req, 0, 8);
            assertEquals(2, client.flush());
            assertTrue(holding.awaitHeld(), "the server never ran the first call");

            // The server is inside the first call's handler, the lane's consumer position still at that record. The
            // second record follows it: once it is in the ring, give it a type no server takes.
            final IpcLayout layout = view.layout;
            final UnsafeBuffer ring = IpcLayout.ring(
                view.buffer, layout.requestLaneOffset(client.id(), 0), layout.laneBytes);
            final int capacity = layout.laneBytes;
            final long head = ring.getLongVolatile(capacity + RingBufferDescriptor.HEAD_POSITION_OFFSET);
            // DIRECT: call records of a whole slot, answered in place; MOVER: requests as long as their payload.
            final int recordBytes = mode == Mode.DIRECT ? IpcLayout.callRecordBytes(64) : BitUtil.align(
                RecordDescriptor.HEADER_LENGTH + IpcLayout.MSG_HEADER + 8, RecordDescriptor.ALIGNMENT);
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            final int secondIndex = (int)((head + recordBytes) & (capacity - 1));
            while (ring.getIntVolatile(RecordDescriptor.lengthOffset(secondIndex)) <= 0)
            {
                assertTrue(System.nanoTime() < deadline, "the second call never reached the request lane");
                Thread.onSpinWait();
            }
            assertEquals(second, ring.getLong(RecordDescriptor.encodedMsgOffset(secondIndex)
                + IpcLayout.CALL_ID_OFFSET), "the second record is not where expected");
            ring.putIntVolatile(RecordDescriptor.typeOffset(secondIndex), 77);
            holding.release();

            final Map<Long, Status> outcomes = new HashMap<>();
            final long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (outcomes.size() < 2 && System.nanoTime() < until)
            {
                client.poll((Completion c) -> outcomes.put(c.id(), c.status()), 8);
                Thread.onSpinWait();
            }
            assertEquals(2, outcomes.size(), () -> "a call never completed: " + outcomes + "; client "
                + client.debugState());
            assertEquals(Status.OK, outcomes.get(first));
            assertEquals(Status.FAILED, outcomes.get(second), "the skipped call");
            assertTrue(client.corruptRecords() > 0, "the loss was not counted");
            client.close();
        }
    }
}
