package dev.ferry.ring;

import dev.ferry.server.ServerAgent;
import org.agrona.concurrent.UnsafeBuffer;
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
 * jcstress test of the early reply that {@code Client.call} reads from the call's own slot: the server's
 * {@link Slot#serve} writes the reply and its length in place, then the status with a release store; the client
 * watches {@link Slot#ended()} (an acquire load of the status) and, once it is set, reads status, length and reply
 * bytes straight from the slot, before the slot's completion-ring entry arrives. The slot is recycled: it carried
 * call 1 (its reply and status OK are still there) and the client re-prepared it as call 2, which resets the status.
 * The server is Ferry's {@link ServerAgent}, fed through the DIRECT path (submission ring, then the server's MPSC
 * request ring).
 *
 * <p>Result: (what the client read from the slot once it saw it ended, what the server's handler saw of the
 * request), in the codes of {@link CallPatterns}: 0 nothing, 1 exactly right, 2 or 3 the previous call's request or
 * reply, 4 the request bytes or no status, 5 another call, 9 torn. Acceptable: (0, 0), (0, 1), (1, 1). Forbidden:
 * the client seeing the slot ended with the request bytes, call 1's reply, a stale length or torn bytes; the server
 * seeing call 1's bytes in the re-prepared slot.
 */
@JCStressTest
@Description("Client.call's early reply: status release in Slot.serve, acquire in Slot.ended, reply read in place")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "The server had not seen the call when the client stopped watching.")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "Served after the client stopped watching.")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "The client saw the slot end and read the whole reply from it.")
@Outcome(id = {"[0-9], [2-9]"}, expect = FORBIDDEN, desc = "The server saw the recycled slot's old or torn bytes.")
@Outcome(id = {"[2-9], [0-9]"}, expect = FORBIDDEN,
    desc = "The slot read as ended, but its reply, length or status were not the server's writes.")
@Outcome(expect = FORBIDDEN, desc = "Anything else is broken.")
@State
public class SlotStatusWatchStressTest
{
    private static final long CALL = 2;

    private final ClientRings rings = new ClientRings(0, 0, Thread.currentThread(), 2, SLOT_BYTES);
    private final SubmissionRing sq = rings.submissions();
    private final Slot slot = rings.slots()[0];
    private final UnsafeBuffer request = request(CALL);
    private final CallPatterns.RecordingHandler handler = new CallPatterns.RecordingHandler(CALL);
    private final ServerAgent server = new ServerAgent(CallPatterns.SERVICE_ID, handler, 2, 16, null, false);

    public SlotStatusWatchStressTest()
    {
        // Call 1 went through this slot and came back; the client freed it.
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
        // What Client.flush does in DIRECT mode: hand the published entries to the server's ring.
        final int available = sq.available();
        for (int i = 0; i < available; i++)
        {
            server.requests().relaxedOffer(sq.get(i));
        }
        sq.release(available);
        boolean ended = false;
        for (int i = 0; i < PATIENCE && !ended; i++)
        {
            ended = slot.ended();
        }
        r.r1 = ended ? classifyCompletion(slot, CALL) : CallPatterns.NONE;
    }

    @Actor
    public void server(final II_Result r)
    {
        for (int i = 0; i < PATIENCE && handler.handled() == 0; i++)
        {
            server.doWork();
        }
        r.r2 = handler.first;
    }
}
