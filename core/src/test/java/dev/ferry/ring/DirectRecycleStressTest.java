package dev.ferry.ring;

import dev.ferry.server.ServerAgent;
import org.agrona.concurrent.UnsafeBuffer;
import org.jctools.queues.MessagePassingQueue;
import org.jctools.queues.MpscArrayQueue;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import static dev.ferry.ring.CallPatterns.PATIENCE;
import static dev.ferry.ring.CallPatterns.SLOT_BYTES;
import static dev.ferry.ring.CallPatterns.classifyCompletion;
import static dev.ferry.ring.CallPatterns.prepare;
import static dev.ferry.ring.CallPatterns.request;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of slot recycling in DIRECT mode, with Ferry's own {@link ServerAgent}: call 1 waits in the server's
 * MPSC request ring. The client thread polls its completion ring as {@code Client.poll} does (a bounded number of
 * times); if call 1's completion comes it checks the reply, frees the slot, re-prepares the same slot as call 2,
 * stages, publishes and forwards it to the server's ring as {@code Client.flush} does in DIRECT mode, then polls
 * again. The server thread runs duty cycles, until it has served two calls or for a bounded number of cycles: each
 * drains its ring, lets the handler read the request and write the reply in place, and posts the slot to the
 * client's completion ring with {@link ClientRings#complete}.
 *
 * <p>Result: (client's view of call 1's completion, client's view of call 2's completion, server's view of call 1's
 * request, server's view of call 2's request), in the codes of {@link CallPatterns}: 0 nothing, 1 exactly right,
 * 2 or 3 the previous call's request or reply, 4 the client's own request bytes or no status, 5 another call, 9
 * torn. Acceptable: the four interleavings (0, 0, 1, 0), (1, 0, 1, 0), (1, 0, 1, 1) and (1, 1, 1, 1). Forbidden:
 * the server seeing call 1's request or reply in the slot the client re-prepared for call 2; the client seeing its
 * request, no status, or call 1's reply as call 2's; anything torn.
 */
@JCStressTest
@Description("DIRECT path: reply in place, completion, recycle, re-prepare, resubmit while the server keeps polling")
@Outcome(id = "0, 0, 1, 0", expect = ACCEPTABLE, desc = "The client polled before call 1's completion arrived.")
@Outcome(id = "1, 0, 1, 0", expect = ACCEPTABLE, desc = "Call 1 came back; call 2 went out after the server stopped.")
@Outcome(id = "1, 0, 1, 1", expect = ACCEPTABLE, desc = "Call 2 served; the client polled before its completion.")
@Outcome(id = "1, 1, 1, 1", expect = ACCEPTABLE, desc = "Both calls round-tripped through the same recycled slot.")
@Outcome(id = {".*, [2-9]"}, expect = FORBIDDEN,
    desc = "The server saw call 1's request or reply, or torn bytes, in the slot re-prepared for call 2.")
@Outcome(id = {"[2-9], .*", "[0-9], [2-9], .*"}, expect = FORBIDDEN,
    desc = "The client saw its request, no status, the wrong call's reply or torn bytes in a completion.")
@Outcome(expect = FORBIDDEN, desc = "Anything else is broken.")
@State
public class DirectRecycleStressTest
{
    private final ClientRings rings = new ClientRings(0, 0, Thread.currentThread(), 2, SLOT_BYTES);
    private final SubmissionRing sq = rings.submissions();
    private final MpscArrayQueue<Slot> cq = rings.completions();
    private final UnsafeBuffer request2 = request(2);
    private final CallPatterns.RecordingHandler handler = new CallPatterns.RecordingHandler(1);
    private final ServerAgent server = new ServerAgent(CallPatterns.SERVICE_ID, handler, 2, 16, null, false);
    private Slot polled;
    private final MessagePassingQueue.Consumer<Slot> deliver = s -> polled = s;

    public DirectRecycleStressTest()
    {
        // Call 1 is submitted, flushed and forwarded into the server's ring before the actors start.
        final Slot slot = rings.slots()[0];
        prepare(slot, 1, request(1));
        sq.stage(slot);
        sq.publish();
        forward();
    }

    @Actor
    public void client(final IIII_Result r)
    {
        final Slot first = poll();
        r.r1 = classifyCompletion(first, 1);
        if (first != null)
        {
            first.released();
            prepare(first, 2, request2);
            sq.stage(first);
            sq.publish();
            forward();
            r.r2 = classifyCompletion(poll(), 2);
        }
    }

    @Actor
    public void server(final IIII_Result r)
    {
        for (int i = 0; i < PATIENCE && handler.handled() < 2; i++)
        {
            server.doWork();
        }
        r.r3 = handler.first;
        r.r4 = handler.second;
    }

    /** Polls the completion ring as {@code Client.poll} does, a bounded number of times. */
    private Slot poll()
    {
        polled = null;
        for (int i = 0; i < PATIENCE && polled == null; i++)
        {
            cq.drain(deliver, 1);
        }
        return polled;
    }

    /** What {@code Client.forward()} does in DIRECT mode. */
    private void forward()
    {
        final int available = sq.available();
        int i = 0;
        for (; i < available; i++)
        {
            if (!server.requests().relaxedOffer(sq.get(i)))
            {
                break;
            }
        }
        if (i > 0)
        {
            sq.release(i);
        }
    }
}
