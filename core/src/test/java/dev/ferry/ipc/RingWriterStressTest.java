package dev.ferry.ipc;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of {@link RingWriter}'s claim and commit (Agrona's many-to-one protocol, written with unchecked
 * accesses) against {@link RingReader}: two producers race to claim a record each near the ring's end, so that the
 * second claim must leave a padding record and wrap to the start, and one of them reads once right after its own
 * commit, while the other may still be writing. The arbiter then reads the rest.
 *
 * <p>Result: (records the racing read saw, as a bit per producer; records read that were torn, of the wrong length or
 * made the reader resynchronise; records read in all, as a bit per producer). Forbidden: any bad record, and any
 * final set other than both records exactly once.
 */
@JCStressTest
@Description("RingWriter: two producers claim and commit across the ring's end while the reader reads")
@Outcome(id = "0, 0, 3", expect = ACCEPTABLE, desc = "The racing read saw nothing committed yet; both read later.")
@Outcome(id = "1, 0, 3", expect = ACCEPTABLE, desc = "The racing read saw producer 1's record (claimed first).")
@Outcome(id = "2, 0, 3", expect = ACCEPTABLE, desc = "The racing read saw producer 2's record (claimed first).")
@Outcome(expect = FORBIDDEN, desc = "A torn, foreign or repeated record, a resynchronisation, or a record lost.")
@State
public class RingWriterStressTest
{
    private static final int CAPACITY = 1024;
    private static final int TYPE = 7;
    private static final int PAYLOAD = 40;
    /** Two 48-byte records from here: the first fits before the end, the second leaves 8 bytes of padding. */
    private static final long START = CAPACITY - 56;

    private final UnsafeBuffer ring = new UnsafeBuffer(new byte[CAPACITY + RingBufferDescriptor.TRAILER_LENGTH]);
    private final RingWriter writer1;
    private final RingWriter writer2;
    private final RingReader reader;
    private int seen;
    private int bad;

    /** Starts the ring empty at {@link #START}. */
    public RingWriterStressTest()
    {
        ring.putLong(CAPACITY + RingBufferDescriptor.TAIL_POSITION_OFFSET, START);
        ring.putLong(CAPACITY + RingBufferDescriptor.HEAD_CACHE_POSITION_OFFSET, START);
        ring.putLong(CAPACITY + RingBufferDescriptor.HEAD_POSITION_OFFSET, START);
        writer1 = new RingWriter(ring);
        writer2 = new RingWriter(ring);
        reader = new RingReader(ring, TYPE, Long.MAX_VALUE);
    }

    private final RingReader.RecordHandler handler = new RingReader.RecordHandler()
    {
        @Override
        public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
        {
            final long id = buffer.getLong(index);
            boolean intact = length == PAYLOAD && (id == 1 || id == 2) && (seen & (int)id) == 0;
            for (int i = 8; intact && i < PAYLOAD; i += 8)
            {
                intact = buffer.getLong(index + i) == id;
            }
            if (intact)
            {
                seen |= (int)id;
            }
            else
            {
                bad++;
            }
            return RingReader.CONSUMED;
        }

        @Override
        public void onResync(final String why)
        {
            bad++;
        }
    };

    private static void write(final RingWriter writer, final long id)
    {
        final int at = writer.claim(TYPE, PAYLOAD);
        for (int i = 0; i < PAYLOAD; i += 8)
        {
            writer.buffer().putLong(at + i, id);
        }
        writer.commit(at);
    }

    /** Producer 1. */
    @Actor
    public void producer1()
    {
        write(writer1, 1);
    }

    /** Producer 2, then one read while producer 1 may still be writing. */
    @Actor
    public void producer2AndReader(final III_Result r)
    {
        write(writer2, 2);
        reader.read(handler, 10);
        r.r1 = seen;
    }

    /** Reads what is left: the ring's end, then its start. */
    @Arbiter
    public void arbiter(final III_Result r)
    {
        for (int i = 0; i < 3; i++)
        {
            reader.read(handler, 10);
        }
        r.r2 = bad;
        r.r3 = seen;
    }
}
