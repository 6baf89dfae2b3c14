package dev.ferry.ipc;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.RecordDescriptor;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import java.util.concurrent.atomic.AtomicInteger;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of {@link LaneWriter}'s claim and commit (Agrona's one-to-one protocol without the negative length,
 * written with unchecked accesses) against {@link RingReader#lane}: one producer writes two records starting near the
 * ring's end, so that the first fits before the end and the second leaves a padding record and wraps to index 0,
 * while the reader reads once (across the wrap) concurrently. The arbiter then reads the rest.
 *
 * <p>Every other sample starts from a ring that already went around: its data area holds stale, plausible records of
 * the reader's type from an earlier lap (a record header at index 0 and 48, where the second record starts and where
 * the header after it goes; a zero-length record's header at 1016, where the header after the first record goes and
 * the padding starts; stale payloads under both records), and only the header at the start position is zero, which
 * is all the protocol promises. A reader that met any of those bytes (a pre-zeroing missing, or not ordered before
 * the commit that leads the reader to them, or a payload not ordered before its length) reads a record it must not.
 *
 * <p>Result: (records the racing read saw, in order; records read that were torn, stale, out of order or repeated,
 * of another type, or made the reader resynchronise, plus 1 if the ring was not empty in the end; records read in
 * all; 1 if the ring started stale). Acceptable: the racing read saw an in-order prefix (none, the first, both) and
 * both records were read exactly once, intact. Forbidden: anything else.
 */
@JCStressTest
@Description("LaneWriter: one producer writes two records across the ring's end while the lane reader reads")
@Outcome(id = "0, 0, 2, 0", expect = ACCEPTABLE, desc = "Clean ring: the racing read saw nothing committed yet.")
@Outcome(id = "1, 0, 2, 0", expect = ACCEPTABLE, desc = "Clean ring: the racing read saw the first record.")
@Outcome(id = "2, 0, 2, 0", expect = ACCEPTABLE, desc = "Clean ring: the racing read saw both records.")
@Outcome(id = "0, 0, 2, 1", expect = ACCEPTABLE, desc = "Stale ring: the racing read saw nothing committed yet.")
@Outcome(id = "1, 0, 2, 1", expect = ACCEPTABLE, desc = "Stale ring: the racing read saw the first record.")
@Outcome(id = "2, 0, 2, 1", expect = ACCEPTABLE, desc = "Stale ring: the racing read saw both records.")
@Outcome(expect = FORBIDDEN, desc = "A torn, stale, out-of-order or repeated record, a resynchronisation, a lost one.")
@State
public class LaneWriterStressTest
{
    private static final int CAPACITY = 1024;
    private static final int TYPE = 7;
    private static final int PAYLOAD = 40;
    /** A record of {@link #PAYLOAD} bytes, header included. */
    private static final int RECORD = PAYLOAD + RecordDescriptor.HEADER_LENGTH;
    /** Two 48-byte records from here: the first fits before the end, the second leaves 8 bytes of padding. */
    private static final long START = CAPACITY - 56;
    /** The id in the stale records' payloads; the records written carry 1 and 2. */
    private static final long STALE_ID = 9;
    /** Alternates the samples between a clean ring and a stale one. */
    private static final AtomicInteger SAMPLES = new AtomicInteger();

    private final UnsafeBuffer ring = new UnsafeBuffer(new byte[CAPACITY + RingBufferDescriptor.TRAILER_LENGTH]);
    private final boolean stale;
    private final LaneWriter writer;
    private final RingReader reader;
    private int seen;
    private int bad;

    /** Starts the ring empty at {@link #START}, clean, or a lap later over stale records. */
    public LaneWriterStressTest()
    {
        stale = (SAMPLES.getAndIncrement() & 1) != 0;
        long start = START;
        if (stale)
        {
            start += CAPACITY;
            // The earlier lap: 21 records of 40 bytes from index 0, then 16 bytes of padding to the end...
            for (int index = 0; index + RECORD <= CAPACITY; index += RECORD)
            {
                writeStale(index, RECORD, TYPE);
            }
            writeStale(CAPACITY - 16, 16, RingBuffer.PADDING_MSG_TYPE_ID);
            // ...and, older still, an empty message's header at the ring's last 8 bytes.
            writeStale(CAPACITY - 8, RecordDescriptor.HEADER_LENGTH, TYPE);
            // The header at the start position is zero: the record before it pre-zeroed it.
            ring.putLong((int)START, 0L);
        }
        ring.putLong(CAPACITY + RingBufferDescriptor.TAIL_POSITION_OFFSET, start);
        ring.putLong(CAPACITY + RingBufferDescriptor.HEAD_CACHE_POSITION_OFFSET, start);
        ring.putLong(CAPACITY + RingBufferDescriptor.HEAD_POSITION_OFFSET, start);
        writer = new LaneWriter(ring);
        reader = RingReader.lane(ring, TYPE, Long.MAX_VALUE);
    }

    private void writeStale(final int index, final int length, final int type)
    {
        ring.putInt(RecordDescriptor.lengthOffset(index), length);
        ring.putInt(RecordDescriptor.typeOffset(index), type);
        for (int i = RecordDescriptor.HEADER_LENGTH; i < length; i += 8)
        {
            ring.putLong(index + i, STALE_ID);
        }
    }

    private final RingReader.RecordHandler handler = new RingReader.RecordHandler()
    {
        @Override
        public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
        {
            // The next record in order, whole: id 1 then 2, in each of its words.
            final long id = seen + 1;
            boolean intact = length == PAYLOAD;
            for (int i = 0; intact && i < PAYLOAD; i += 8)
            {
                intact = buffer.getLong(index + i) == id;
            }
            if (intact)
            {
                seen++;
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

    private void write(final long id)
    {
        final int at = writer.claim(TYPE, PAYLOAD);
        for (int i = 0; i < PAYLOAD; i += 8)
        {
            ring.putLong(at + i, id);
        }
        writer.commit(at);
    }

    /** The producer: the first record up to the ring's end, then padding and the second at index 0. */
    @Actor
    public void producer()
    {
        write(1);
        write(2);
    }

    /** One read, on past the wrap, while the producer may be writing. */
    @Actor
    public void consumer(final IIII_Result r)
    {
        reader.readAcrossWrap(handler, 10);
        r.r1 = seen;
    }

    /** Reads what is left: the ring's end, then its start. */
    @Arbiter
    public void arbiter(final IIII_Result r)
    {
        for (int i = 0; i < 3; i++)
        {
            reader.read(handler, 10);
        }
        r.r2 = bad + (int)(reader.badRecords() + reader.resyncs()) + (reader.isEmpty() ? 0 : 1);
        r.r3 = seen;
        r.r4 = stale ? 1 : 0;
    }
}
