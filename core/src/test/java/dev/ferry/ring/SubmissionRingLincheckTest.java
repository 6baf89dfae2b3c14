package dev.ferry.ring;

import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * Lincheck test of {@link SubmissionRing}'s linearizability against a sequential model: a bounded FIFO of
 * {@link #CAPACITY} entries split into a published part, which the consumer can see, and a staged part, which it
 * cannot until the next publish. Producer operations ({@link #stage}, {@link #publish}, {@link #staged}) form one
 * non-parallel group, run by one thread; consumer operations ({@link #poll}, {@link #peek}: {@code available},
 * {@code get(0)} and, for poll, {@code release(1)}) form the other, as the ring's single-producer single-consumer
 * contract requires.
 *
 * <p>Forbidden (a linearizability failure): the consumer seeing a staged but unpublished entry, seeing entries out
 * of order, twice or lost; {@code stage} overwriting an entry not yet released (accepting more than
 * {@link #CAPACITY} unreleased entries), or refusing one when the ring is not full; {@code publish} returning a count
 * other than the entries it made visible.
 *
 * <p>A bulk consumer operation (read every {@code available()} entry, then release them all) is deliberately not
 * checked here: {@code available()} re-reads the producer's tail only when the entries it last saw are used up, so a
 * bulk read may legitimately return fewer entries than are published, which no deterministic model can express.
 */
public class SubmissionRingLincheckTest
{
    /** Small, so that wrap-around and back-pressure happen in almost every scenario. */
    static final int CAPACITY = 2;

    /**
     * Entries to stage: slot identities only, never read or written by the operations, so that the model checker
     * sees the ring's own accesses and not Agrona's buffer internals. Shared by every scenario run.
     */
    private static final Slot[] POOL = new ClientRings(0, 0, Thread.currentThread(), 32, 8).slots();

    private final SubmissionRing ring = new SubmissionRing(CAPACITY);
    /** The value staged with each pool slot, by slot index: the producer's plain writes that publish must carry. */
    private final int[] values = new int[POOL.length];
    private int next;

    /**
     * Lincheck creates one instance per scenario run, reflectively: the class and this constructor must be public.
     */
    public SubmissionRingLincheckTest()
    {
    }

    /**
     * Producer: stages {@code value} in a fresh slot.
     *
     * @param value the value.
     * @return whether the ring took it.
     */
    @Operation(nonParallelGroup = "producer")
    public boolean stage(@Param(gen = IntGen.class, conf = "1:9") final int value)
    {
        // A scenario stages at most 12 entries, far fewer than the pool holds: a slot is never reused while queued.
        final Slot slot = POOL[next % POOL.length];
        values[slot.index()] = value;
        if (ring.stage(slot))
        {
            next++;
            return true;
        }
        return false;
    }

    /**
     * Producer: rings the doorbell.
     *
     * @return entries made visible.
     */
    @Operation(nonParallelGroup = "producer")
    public int publish()
    {
        return ring.publish();
    }

    /**
     * Producer.
     *
     * @return entries staged and not published.
     */
    @Operation(nonParallelGroup = "producer")
    public int staged()
    {
        return ring.staged();
    }

    /**
     * Consumer: takes the oldest published entry, as the mover does one at a time.
     *
     * @return its value, or -1 if nothing is published.
     */
    @Operation(nonParallelGroup = "consumer")
    public int poll()
    {
        if (ring.available() == 0)
        {
            return -1;
        }
        final int value = values[ring.get(0).index()];
        ring.release(1);
        return value;
    }

    /**
     * Consumer: looks at the oldest published entry without taking it.
     *
     * @return its value, or -1 if nothing is published.
     */
    @Operation(nonParallelGroup = "consumer")
    public int peek()
    {
        return ring.available() == 0 ? -1 : values[ring.get(0).index()];
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void modelChecking()
    {
        new ModelCheckingOptions()
            .sequentialSpecification(Model.class)
            .threads(2)
            .actorsPerThread(4)
            .actorsBefore(2)
            .actorsAfter(2)
            .iterations(25)
            .invocationsPerIteration(250)
            .check(getClass());
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void stress()
    {
        new StressOptions()
            .sequentialSpecification(Model.class)
            .threads(2)
            .actorsPerThread(5)
            .actorsBefore(2)
            .actorsAfter(2)
            .iterations(5)
            .invocationsPerIteration(500)
            .check(getClass());
    }

    /**
     * The sequential model: a bounded FIFO whose tail part is staged (invisible to the consumer) until published.
     */
    public static final class Model
    {
        private final ArrayDeque<Integer> published = new ArrayDeque<>();
        private final ArrayDeque<Integer> staged = new ArrayDeque<>();

        public boolean stage(final int value)
        {
            if (published.size() + staged.size() >= CAPACITY)
            {
                return false;
            }
            staged.addLast(value);
            return true;
        }

        public int publish()
        {
            final int n = staged.size();
            published.addAll(staged);
            staged.clear();
            return n;
        }

        public int staged()
        {
            return staged.size();
        }

        public int poll()
        {
            final Integer head = published.pollFirst();
            return head == null ? -1 : head;
        }

        public int peek()
        {
            final Integer head = published.peekFirst();
            return head == null ? -1 : head;
        }
    }
}
