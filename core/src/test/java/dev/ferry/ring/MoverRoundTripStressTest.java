package dev.ferry.ring;

import dev.ferry.mover.MoverAgent;
import dev.ferry.server.ServerAgent;
import org.agrona.concurrent.UnsafeBuffer;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import static dev.ferry.ring.CallPatterns.PATIENCE;
import static dev.ferry.ring.CallPatterns.SLOT_BYTES;
import static dev.ferry.ring.CallPatterns.classifyCompletion;
import static dev.ferry.ring.CallPatterns.prepare;
import static dev.ferry.ring.CallPatterns.request;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of a recycled slot's round trip in MOVER mode, with Ferry's own {@link MoverAgent} and
 * {@link ServerAgent}: the client thread re-prepares a slot that already carried call 1 (its reply still in the
 * bytes, status OK), stages and publishes it as call 2 through its {@link SubmissionRing}, then polls its completion
 * ring as {@code Client.poll} does, a bounded number of times; the kernel thread runs, until the call is served or
 * for a bounded number of rounds, a mover pass (submission ring to the server's MPSC request ring) and a server duty
 * cycle (the handler writes the reply in place and the server posts the slot to the mover's MPSC reply ring), then a
 * last mover pass (reply ring to the client's MPSC completion ring, through {@link ClientRings#complete}).
 *
 * <p>Result: (what the client saw of a completion, what the server's handler saw of the request), in the codes of
 * {@link CallPatterns}: 0 nothing, 1 exactly right, 2 or 3 the previous call's request or reply, 4 the client's own
 * request bytes or no status (the server's writes were lost), 5 another call, 9 torn. Acceptable: (0, 0), (0, 1),
 * (1, 1). Forbidden: the server seeing call 1's bytes or torn bytes in the recycled slot; the client seeing its
 * request instead of the reply, no status, or call 1's reply; a completion without the server having served.
 */
@JCStressTest
@Description("MOVER path: client SQ -> mover -> server -> mover -> client CQ, a recycled slot, reply in place")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "The kernel passed before the doorbell: nothing moved.")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "Served, but the client polled before the completion arrived.")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "Round trip: the client sees the server's reply and status.")
@Outcome(id = {"[0-9], [2-9]"}, expect = FORBIDDEN, desc = "The server saw the recycled slot's old or torn bytes.")
@Outcome(id = {"[2-9], [0-9]"}, expect = FORBIDDEN,
    desc = "The client saw its request, no status, another call's reply or torn bytes in the completion.")
@Outcome(expect = FORBIDDEN, desc = "Anything else (a completion that was never served) is broken.")
@State
public class MoverRoundTripStressTest
{
    private static final long CALL = 2;

    private final ClientRings rings = new ClientRings(0, 0, Thread.currentThread(), 2, SLOT_BYTES);
    private final SubmissionRing sq = rings.submissions();
    private final MpscArrayQueue<Slot> cq = rings.completions();
    private final Slot slot = rings.slots()[0];
    private final UnsafeBuffer request = request(CALL);
    private final CallPatterns.RecordingHandler handler = new CallPatterns.RecordingHandler(CALL);
    private final ServerAgent[] servers = new ServerAgent[1];
    private final MoverAgent[] movers = new MoverAgent[1];
    private Slot polled;
    private final MessagePassingQueue.Consumer<Slot> deliver = s -> polled = s;

    public MoverRoundTripStressTest()
    {
        movers[0] = new MoverAgent(0, servers, 2, 16);
        servers[0] = new ServerAgent(CallPatterns.SERVICE_ID, handler, 2, 16, movers, false);
        movers[0].addClient(rings);
        // Call 1 went this way before and came back: the slot holds its reply, status OK; the client freed it.
        prepare(slot, CALL - 1, request(CALL - 1));
        slot.serve(CallPatterns::serve);
        slot.released();
    }

    @Actor
    public void client(final II_Result r)
    {
        prepare(slot, CALL, request);
        sq.stage(slot);
        sq.publish();
        for (int i = 0; i < PATIENCE && polled == null; i++)
        {
            cq.drain(deliver, 1);
        }
        r.r1 = classifyCompletion(polled, CALL);
    }

    @Actor
    public void kernel(final II_Result r)
    {
        for (int i = 0; i < PATIENCE && handler.handled() == 0; i++)
        {
            movers[0].doWork();
            servers[0].doWork();
        }
        movers[0].doWork();
        r.r2 = handler.first;
    }
}
