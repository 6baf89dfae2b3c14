package dev.ferry;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;


import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What one producer per ring buys, and what it needs: a client stuck between a claim and its commit holds up no other
 * client; a corrupt record in one client's lane fails that client's calls only; a server replaced while it was
 * writing a reply leaves nothing that holds its client up; a server that finds itself replaced stops instead of
 * writing into lanes that have a producer again.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
final class IpcLaneTest
{
    @TempDir
    Path tmp;

    /**
     * With one request ring per service shared by every client, a record claimed and never committed stopped the
     * server at that record until the stuck timeout (here 30 s): the other client's calls waited that long.
     */
    @Test
    void aClientStuckMidWriteHoldsUpNoOtherClient()
    {
        final Path dir = tmp.resolve("ferry-stuck");
        try (Kernel kernel = Kernel.builder().directory(dir).mode(Mode.DIRECT).maxClients(3).slotBytes(64)
            .timeouts(Timeouts.of(Duration.ofSeconds(30))).build().start();
             Server server = Server.builder().directory(dir).service(0, (msg, len) -> len).start();
             Mapping view = Mapping.open(dir))
        {
            final LaneClient stuck = Lanes.attach(dir, new BackoffIdleStrategy());
            final LaneClient other = Lanes.attach(dir, new BackoffIdleStrategy());
            // The stuck client's request lane gets a record claimed and never committed, as if its process had
            // stopped between the two.
            final LaneWriter lane = new LaneWriter(
                IpcLayout.ring(view.buffer, view.layout.requestLaneOffset(stuck.id(), 0), view.layout.laneBytes));
            assertTrue(lane.claim(IpcLayout.REQUEST_TYPE, IpcLayout.MSG_HEADER + 8) > 0);
            final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
            final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
            final long start = System.nanoTime();
            for (int i = 0; i < 200; i++)
            {
                req.putInt(0, i);
                assertEquals(8, other.call(0, req, 0, 8, rep, 0));
                assertEquals(i, rep.getInt(0));
            }
            // Not a timing assertion: well inside the 30 s stuck timeout means nothing waited for it.
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20), "calls waited for the stuck client");
            assertEquals(200, server.served());
            other.close();
            stuck.close();
        }
    }

    /**
     * A corrupt record in client A's request lane makes the server resynchronise that lane: A's call behind it fails
     * (A sees the lane's consumer position pass it with no reply), but the service's corruption epoch, which every
     * caller watches, does not move, so B's calls are not failed with A's.
     */
    @Test
    void aCorruptRequestLaneFailsOnlyItsOwnClientsCalls() throws Exception
    {
        final Path dir = tmp.resolve("ferry-corrupt-lane");
        final HoldingHandler holding = new HoldingHandler(-1);
        try (Kernel kernel = Kernel.builder().directory(dir).mode(Mode.DIRECT).maxClients(3).slotBytes(64)
            .timeouts(Timeouts.of(Duration.ofMillis(200))).build().start();
             Server server = Server.builder().directory(dir).service(0, holding).start();
             Mapping view = Mapping.open(dir))
        {
            final LaneClient a = Lanes.attach(dir, new BackoffIdleStrategy());
            final LaneClient b = Lanes.attach(dir, new BackoffIdleStrategy());
            final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
            req.putInt(0, -1);
            final long held = b.submit(0, req, 0, 8);
            b.flush();
            assertTrue(holding.awaitHeld(), "the server never ran B's call");

            // The server is inside B's handler; A's request waits in A's lane, where its length is then overwritten.
            req.putInt(0, 7);
            final long lost = a.submit(0, req, 0, 8);
            assertEquals(1, a.flush());
            final UnsafeBuffer lane = IpcLayout.ring(
                view.buffer, view.layout.requestLaneOffset(a.id(), 0), view.layout.laneBytes);
            assertTrue(lane.getIntVolatile(0) > 0, "A's request is not at the start of its lane");
            lane.putIntVolatile(0, 1 << 30);
            final int epochOffset = view.layout.serverEntry(0) + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET;
            final long epoch = view.buffer.getLongVolatile(epochOffset);
            holding.release();

            final Map<Long, Status> aOutcomes = new HashMap<>();
            final Map<Long, Status> bOutcomes = new HashMap<>();
            final long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while ((aOutcomes.isEmpty() || bOutcomes.isEmpty()) && System.nanoTime() < until)
            {
                a.poll((Completion c) -> aOutcomes.put(c.id(), c.status()), 8);
                b.poll((Completion c) -> bOutcomes.put(c.id(), c.status()), 8);
                Thread.onSpinWait();
            }
            assertEquals(Map.of(lost, Status.FAILED), aOutcomes, () -> "A: " + a.debugState());
            assertEquals(Map.of(held, Status.OK), bOutcomes, () -> "B: " + b.debugState());
            // A's own reader may fail the call (and ask for a halt) before the server meets the record and counts it.
            final long countBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.corruptRecords() == 0 && System.nanoTime() < countBy)
            {
                a.poll((Completion c) -> aOutcomes.put(c.id(), c.status()), 8);
                Thread.onSpinWait();
            }
            assertTrue(server.corruptRecords() > 0, "the corrupt record was not counted");
            assertEquals(epoch, view.buffer.getLongVolatile(epochOffset), "the service's epoch moved");
            final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
            for (int i = 0; i < 20; i++)
            {
                req.putInt(0, i);
                assertEquals(8, b.call(0, req, 0, 8, rep, 0));
                assertEquals(8, a.call(0, req, 0, 8, rep, 0));
            }
            assertEquals(0, b.corruptRecords());
            a.close();
            b.close();
        }
    }

    /**
     * MOVER mode, where replies have lanes of their own: a server that died between claiming a reply and committing
     * it leaves its client's reply lane with a producer position past an empty header; the replacement pads over it
     * when it attaches, so the client's next replies arrive at once instead of after the reply lane's stuck timeout
     * (the server timeout, 30 s here). (In DIRECT mode it answers such a reply FAILED in place: CallLaneTest.)
     */
    @Test
    void aReplacementServerPadsOverAReplyItsPredecessorNeverCommitted() throws Exception
    {
        final Path dir = tmp.resolve("ferry-replaced");
        try (Kernel kernel = Kernel.builder().directory(dir).mode(Mode.MOVER).slotBytes(64)
            .timeouts(Timeouts.of(Duration.ofSeconds(30))).build().start();
             Mapping view = Mapping.open(dir))
        {
            final LaneClient client = Lanes.attach(dir, new BackoffIdleStrategy());
            final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
            final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
            final Server first = Server.builder().directory(dir).service(0, (msg, len) -> len).start();
            assertEquals(8, client.call(0, req, 0, 8, rep, 0));
            first.close();

            // As if the first server had claimed one more reply and died before committing it.
            final LaneWriter dead = new LaneWriter(
                IpcLayout.ring(view.buffer, view.layout.replyLaneOffset(client.id(), 0), view.layout.laneBytes));
            assertTrue(dead.claim(IpcLayout.REPLY_TYPE, IpcLayout.MSG_HEADER + 8) > 0);

            try (Server second = Server.builder().directory(dir).service(0, (msg, len) -> len).start())
            {
                final long start = System.nanoTime();
                for (int i = 0; i < 50; i++)
                {
                    req.putInt(0, i);
                    assertEquals(8, client.call(0, req, 0, 8, rep, 0));
                    assertEquals(i, rep.getInt(0));
                }
                assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20),
                    "the client waited for the reply lane's stuck timeout");
                assertEquals(0, client.corruptRecords(), "the client resynchronised its reply lane");
                assertEquals(2, second.generation());
            }
            client.close();
        }
    }

    /**
     * A server whose entry shows another generation than its own was taken for dead and replaced: it stops, and
     * says why.
     */
    @Test
    void aServerThatFindsItselfReplacedStops() throws Exception
    {
        final Path dir = tmp.resolve("ferry-zombie");
        try (Kernel kernel = Kernel.builder().directory(dir).mode(Mode.DIRECT).slotBytes(64).build().start();
             Mapping view = Mapping.open(dir);
             Server server = Server.builder().directory(dir).service(0, (msg, len) -> len).start())
        {
            assertTrue(server.isRunning());
            final int entry = view.layout.serverEntry(0);
            // What a replacement does when it attaches.
            view.buffer.putIntVolatile(entry + IpcLayout.ENTRY_GENERATION_OFFSET, server.generation() + 1);
            assertTrue(server.awaitStop(Duration.ofSeconds(10)), "the replaced server kept running");
            assertFalse(server.isRunning());
            assertTrue(server.stopReason().contains("another server attached to service 0"), server.stopReason());
        }
    }
}
