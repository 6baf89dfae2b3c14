package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.RecordDescriptor;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIIII_Result;

import java.nio.ByteBuffer;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of {@link LaneWriter}'s claim and commit (Agrona's many-to-one record layout, one producer, the tail
 * advanced by a release store, the length stored once, at commit) against {@link RingReader}, which zeroes what it
 * consumed before it releases it: one producer writes two records starting near the ring's end, so that the first
 * fits before the end and the second leaves a padding record and wraps to index 0, while the reader reads once
 * (across the wrap) concurrently. The arbiter then reads the rest and checks that the ring is empty and its whole
 * data area zero, as the protocol requires of a ring with nothing unread.
 *
 * <p>The samples cycle through four rings: a fresh one, and one that went around a lap first (the constructor writes
 * records over the whole data area with {@link LaneWriter} and reads them with the same {@link RingReader}, so that
 * what lies ahead of the tail is what the reader left: zero if it zeroed, stale records of the reader's type if it
 * did not); each with a reader that zeroes and releases at once, and with one that defers that to its next look.
 * A reader that leaves bytes unzeroed leaves the data area non-zero in the end, and on the lapped ring reads stale
 * records; a producer that stored the length before the message, or the padding's length before its type, shows the
 * racing read a torn record.
 *
 * <p>Result: (records the racing read saw, in order; records read that were torn, stale, out of order or repeated,
 * of another type, or made the reader resynchronise, plus claims refused; records read in all; non-zero 8-byte
 * words left in the data area, plus 100 if the positions are not both at the end of the second record; the ring:
 * 0 fresh, 1 lapped, plus 2 with the deferring reader). Acceptable: the racing read saw an in-order prefix (none,
 * the first, both), both records were read exactly once, intact, and the ring was left empty and zero. Forbidden:
 * anything else.
 */
@JCStressTest
@Description("LaneWriter: one producer writes two records across the ring's end while RingReader reads and zeroes")
@Outcome(id = "0, 0, 2, 0, [0-3]", expect = ACCEPTABLE, desc = "The racing read saw nothing committed yet.")
@Outcome(id = "1, 0, 2, 0, [0-3]", expect = ACCEPTABLE, desc = "The racing read saw the first record.")
@Outcome(id = "2, 0, 2, 0, [0-3]", expect = ACCEPTABLE, desc = "The racing read saw both records.")
@Outcome(expect = FORBIDDEN,
    desc = "A torn, stale, out-of-order, repeated or lost record, a resynchronisation, or bytes left non-zero.")
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
    /** Where the tail ends, after the first record, the padding and the second record, less the start. */
    private static final long WRITTEN = RECORD + 8 + RECORD;
    /** The id in the lap's messages; the records written carry 1 and 2. */
    private static final long LAP_ID = 9;
    private static final int DEFER_LIMIT = 256;
    private static final AtomicInteger SAMPLES = new AtomicInteger();
    /**
     * Rings whose sample is over, for the next samples: direct (a byte[] one would make {@link RingReader}'s Agrona
     * unblocker complain on stderr for each sample), and not allocated afresh for each of millions of samples.
     */
    private static final Queue<UnsafeBuffer> RINGS = new ConcurrentLinkedQueue<>();

    private final UnsafeBuffer ring;
    private final int variant;
    private final long start;
    private final LaneWriter writer;
    private final RingReader reader;
    private int seen;
    private int bad;
    private int refused;

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

    /** Starts the ring empty at {@link #START}: fresh, or a lap later, after a lap of records written and read. */
    public LaneWriterStressTest()
    {
        variant = SAMPLES.getAndIncrement() & 3;
        final UnsafeBuffer pooled = RINGS.poll();
        ring = pooled != null ? pooled
            : new UnsafeBuffer(ByteBuffer.allocateDirect(CAPACITY + RingBufferDescriptor.TRAILER_LENGTH));
        ring.setMemory(0, ring.capacity(), (byte)0);
        writer = new LaneWriter(ring);
        reader = new RingReader(ring, TYPE, Long.MAX_VALUE, (variant & 2) != 0 ? DEFER_LIMIT : 0);
        if ((variant & 1) != 0)
        {
            start = START + CAPACITY;
            lap();
        }
        else
        {
            start = START;
            ring.putLong(CAPACITY + RingBufferDescriptor.TAIL_POSITION_OFFSET, START);
            ring.putLong(CAPACITY + RingBufferDescriptor.HEAD_CACHE_POSITION_OFFSET, START);
            ring.putLong(CAPACITY + RingBufferDescriptor.HEAD_POSITION_OFFSET, START);
        }
    }

    /**
     * From position 0 to {@code START + CAPACITY}, each record read as soon as written: 21 records of 40 bytes, one
     * of 8 up to the ring's end, 20 of 40 and an empty one. Every 8-byte word of the data area held a record's header
     * or {@link #LAP_ID} at some point.
     */
    private void lap()
    {
        final RingReader.RecordHandler lapHandler = new RingReader.RecordHandler()
        {
            @Override
            public int onRecord(final UnsafeBuffer buffer, final int index, final int length)
            {
                return RingReader.CONSUMED;
            }

            @Override
            public void onResync(final String why)
            {
                bad++;
            }
        };
        for (int i = 0; i < 43; i++)
        {
            final int length = i < 21 || (i > 21 && i < 42) ? PAYLOAD : i == 21 ? 8 : 0;
            final int at = writer.claim(TYPE, length);
            if (at < 0)
            {
                bad++;
                return;
            }
            for (int j = 0; j < length; j += 8)
            {
                ring.putLong(at + j, LAP_ID);
            }
            writer.commit(at);
            reader.read(lapHandler, 10);
        }
        // Releases what the last read deferred.
        reader.hasRecord();
        if (writer.consumerPosition() != START + CAPACITY)
        {
            bad++;
        }
    }

    private void write(final long id)
    {
        final int at = writer.claim(TYPE, PAYLOAD);
        if (at < 0)
        {
            refused++;
            return;
        }
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
    public void consumer(final IIIII_Result r)
    {
        reader.readAcrossWrap(handler, 10);
        r.r1 = seen;
    }

    /** Reads what is left (the ring's end, then its start), lets the reader release it, checks the ring is clean. */
    @Arbiter
    public void arbiter(final IIIII_Result r)
    {
        for (int i = 0; i < 3; i++)
        {
            reader.read(handler, 10);
        }
        reader.hasRecord();
        int nonZero = 0;
        for (int i = 0; i < CAPACITY; i += 8)
        {
            nonZero += ring.getLong(i) != 0 ? 1 : 0;
        }
        final long end = start + WRITTEN;
        final boolean atEnd = writer.producerPosition() == end && writer.consumerPosition() == end;
        r.r2 = bad + refused + (int)(reader.badRecords() + reader.resyncs());
        r.r3 = seen;
        r.r4 = nonZero + (atEnd ? 0 : 100);
        r.r5 = variant;
        RINGS.offer(ring);
    }
}
