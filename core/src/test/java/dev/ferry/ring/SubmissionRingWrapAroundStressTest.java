package dev.ferry.ring;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIII_Result;

import static dev.ferry.ring.CallPatterns.OK;
import static dev.ferry.ring.CallPatterns.PATIENCE;
import static dev.ferry.ring.CallPatterns.SLOT_BYTES;
import static dev.ferry.ring.CallPatterns.classifySubmitted;
import static dev.ferry.ring.CallPatterns.prepare;
import static dev.ferry.ring.CallPatterns.request;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of {@link SubmissionRing}'s wrap-around and back-pressure: a ring of capacity 2 starts full (calls 1
 * and 2 published); the consumer reads an entry, releases it, reads the next, releases it, then reads whatever was
 * published since; meanwhile the producer tries to stage calls 3 and 4, which go to the same two array cells as calls
 * 1 and 2, then publishes once. {@link SubmissionRing#stage} must refuse (return false) rather than overwrite an
 * entry the consumer has not released.
 *
 * <p>Result: (entries available at first, call read first, call read second, calls read after the two releases in
 * order as decimal digits, calls the producer managed to stage). A call reads as its number only if its id, fields
 * and payload are intact, else as -1. Acceptable: the consumer reads 1 then 2, and afterwards nothing or exactly the
 * calls the producer staged (3, or 3 then 4). Forbidden: reading 3 or 4 (or torn data) where 1 or 2 should be, which
 * is an overwrite of an unconsumed entry; reading only part of what the single publish made visible.
 */
@JCStressTest
@Description("SubmissionRing: stage never overwrites an unconsumed entry when the ring wraps around")
@Outcome(id = "2, 1, 2, 0, 0", expect = ACCEPTABLE, desc = "Ring still full when the producer tried: back-pressure.")
@Outcome(id = "2, 1, 2, 0, 1", expect = ACCEPTABLE, desc = "Call 3 staged after one release; not seen yet.")
@Outcome(id = "2, 1, 2, 3, 1", expect = ACCEPTABLE, desc = "Call 3 staged after one release, published and seen.")
@Outcome(id = "2, 1, 2, 0, 2", expect = ACCEPTABLE, desc = "Calls 3 and 4 staged after both releases; not seen yet.")
@Outcome(id = "2, 1, 2, 34, 2", expect = ACCEPTABLE, desc = "Calls 3 and 4 staged, published and seen in order.")
@Outcome(id = "2, 1, 2, 3, 2", expect = FORBIDDEN, desc = "Partial batch: one publish must be all-or-nothing.")
@Outcome(id = {"2, [^1].*", "2, 1, [^2].*"}, expect = FORBIDDEN,
    desc = "An unconsumed entry was overwritten (or read torn) by a later stage.")
@Outcome(expect = FORBIDDEN, desc = "Anything else is a broken ring.")
@State
public class SubmissionRingWrapAroundStressTest
{
    private final ClientRings rings = new ClientRings(0, 0, Thread.currentThread(), 4, SLOT_BYTES);
    private final SubmissionRing ring = new SubmissionRing(2);
    private final Slot[] slots = rings.slots();
    private final UnsafeBuffer request3 = request(3);
    private final UnsafeBuffer request4 = request(4);

    public SubmissionRingWrapAroundStressTest()
    {
        prepare(slots[0], 1, request(1));
        prepare(slots[1], 2, request(2));
        ring.stage(slots[0]);
        ring.stage(slots[1]);
        ring.publish();
    }

    @Actor
    public void producer(final IIIII_Result r)
    {
        int accepted = 0;
        prepare(slots[2], 3, request3);
        if (stageWithRetries(slots[2]))
        {
            accepted = 1;
            prepare(slots[3], 4, request4);
            if (stageWithRetries(slots[3]))
            {
                accepted = 2;
            }
        }
        ring.publish();
        r.r5 = accepted;
    }

    @Actor
    public void consumer(final IIIII_Result r)
    {
        final int n = ring.available();
        final int first = look(ring.get(0));
        ring.release(1);
        final int second = look(ring.get(0));
        ring.release(1);
        int more = 0;
        for (int i = 0; i < PATIENCE && more == 0; i++)
        {
            more = ring.available();
        }
        int later = 0;
        for (int i = 0; i < more; i++)
        {
            later = later * 10 + look(ring.get(i));
        }
        ring.release(more);
        r.r1 = n;
        r.r2 = first;
        r.r3 = second;
        r.r4 = later;
    }

    /** Back-pressure handling as a client's: retry a bounded number of times while the ring is full. */
    private boolean stageWithRetries(final Slot slot)
    {
        for (int i = 0; i < PATIENCE; i++)
        {
            if (ring.stage(slot))
            {
                return true;
            }
        }
        return false;
    }

    private static int look(final Slot slot)
    {
        final long call = slot.id();
        return classifySubmitted(slot, call) == OK ? (int)call : -1;
    }
}
