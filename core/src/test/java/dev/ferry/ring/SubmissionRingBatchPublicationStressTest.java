package dev.ferry.ring;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import static dev.ferry.ring.CallPatterns.OK;
import static dev.ferry.ring.CallPatterns.SLOT_BYTES;
import static dev.ferry.ring.CallPatterns.classifySubmitted;
import static dev.ferry.ring.CallPatterns.prepare;
import static dev.ferry.ring.CallPatterns.request;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of {@link SubmissionRing}'s batch publication (the doorbell): the producer fills three recycled
 * slots (header fields through {@link Slot#prepare}, payload bytes in {@link Slot#message()}) with plain stores,
 * stages them and publishes once with one release store of the tail; the consumer acquires the tail with
 * {@link SubmissionRing#available()} and reads every entry below it with {@link SubmissionRing#get(int)}.
 *
 * <p>The slots held a previous call (request, then reply written in place, status OK) before the test, as recycled
 * slots do, so a reader that misses the producer's plain stores sees that previous call's bytes.
 *
 * <p>Result: (entries the consumer saw, entries among them whose id, service, length, status and payload bytes all
 * were the new call's). Acceptable: (0, 0), before the doorbell, and (3, 3), the whole batch with everything
 * written. Forbidden: a partial batch (1 or 2 entries: a publish is all-or-nothing) and any entry with stale or torn
 * fields or payload (3 entries, fewer than 3 intact).
 */
@JCStressTest
@Description("SubmissionRing: one publish makes a whole staged batch visible, with every plain store before it")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "The consumer looked before the doorbell: nothing published yet.")
@Outcome(id = "3, 3", expect = ACCEPTABLE, desc = "The whole batch, every entry's fields and payload written.")
@Outcome(id = {"1, .*", "2, .*"}, expect = FORBIDDEN, desc = "Partial batch: one publish must be all-or-nothing.")
@Outcome(id = "3, [0-2]", expect = FORBIDDEN, desc = "A published entry with stale or torn fields or payload.")
@Outcome(expect = FORBIDDEN, desc = "Anything else is a broken ring.")
@State
public class SubmissionRingBatchPublicationStressTest
{
    private static final int BATCH = 3;
    private static final long FIRST_CALL = 11;

    private final ClientRings rings = new ClientRings(0, 0, Thread.currentThread(), 4, SLOT_BYTES);
    private final SubmissionRing ring = rings.submissions();
    private final Slot[] slots = rings.slots();
    private final UnsafeBuffer[] requests = new UnsafeBuffer[BATCH];

    public SubmissionRingBatchPublicationStressTest()
    {
        for (int k = 0; k < BATCH; k++)
        {
            // Recycle each slot: it carried the previous call, which was served in place and handed back.
            final long previous = FIRST_CALL + k - 1;
            prepare(slots[k], previous, request(previous));
            slots[k].serve(CallPatterns::serve);
            slots[k].released();
            requests[k] = request(FIRST_CALL + k);
        }
    }

    @Actor
    public void producer()
    {
        for (int k = 0; k < BATCH; k++)
        {
            prepare(slots[k], FIRST_CALL + k, requests[k]);
            ring.stage(slots[k]);
        }
        ring.publish();
    }

    @Actor
    public void consumer(final II_Result r)
    {
        final int n = ring.available();
        int intact = 0;
        for (int i = 0; i < n; i++)
        {
            if (classifySubmitted(ring.get(i), FIRST_CALL + i) == OK)
            {
                intact++;
            }
        }
        ring.release(n);
        r.r1 = n;
        r.r2 = intact;
    }
}
