package dev.ferry;

/**
 * The layout of a lane, Ferry's own (file format version {@value IpcLayout#VERSION}; docs/ipc-layout.md): a data
 * area of records whose capacity is a power of two, followed by a trailer of {@link #TRAILER_LENGTH} bytes holding
 * the lane's positions, each written by one side and kept on its own cache lines so that the two sides do not
 * share a line they write.
 *
 * <p>A record is an 8-byte header, a 4-byte length (the header included, unaligned; 0 while the record is not
 * committed) then a 4-byte type, followed by its message; records start at multiples of {@link #ALIGNMENT}. A
 * {@link #PADDING_TYPE} record fills the end of the data area when the next record would not fit before it. The
 * record format and the first four trailer words sit where Agrona's ring buffers keep theirs, so an Agrona
 * many-to-one reader reads a lane; the offsets are Ferry's, and an Agrona release that moved its own changes nothing
 * here.
 *
 * <p>Immutable constants and checks; no state.
 */
final class LaneDescriptor
{
    /** Trailer word: the producer's position, bytes claimed since the lane started (release-stored per claim). */
    static final int TAIL_OFFSET = 128;
    /** Trailer word: the producer's cached copy of the consumer's position (producer only). */
    static final int HEAD_CACHE_OFFSET = 256;
    /** Trailer word: the consumer's position, bytes consumed and zeroed since the lane started. */
    static final int HEAD_OFFSET = 384;
    /** Trailer word: where the producer's latest claim starts, for a producer that replaces a dead one. */
    static final int LAST_CLAIM_OFFSET = 512;
    /** Call lanes' trailer word: the server's read position, published per batch. */
    static final int SERVER_CURSOR_OFFSET = 640;
    /** Call lanes' trailer word: the epoch + 1 the server halted the lane at (it reads nothing until a reset). */
    static final int SERVER_HALTED_OFFSET = 704;
    /** Call lanes' trailer word: the lane's epoch, bumped by its client at each reset. */
    static final int LANE_EPOCH_OFFSET = 712;
    /** Call lanes' trailer word: the epoch + 1 at which the client asks its server to halt the lane. */
    static final int HALT_REQUEST_OFFSET = 720;
    /** Bytes of the trailer after every lane's data area. */
    static final int TRAILER_LENGTH = 768;

    /** Bytes of a record's header. */
    static final int RECORD_HEADER = 8;
    /** The record's length within its header. */
    static final int LENGTH_OFFSET = 0;
    /** The record's type within its header. */
    static final int TYPE_OFFSET = 4;
    /** Records start at multiples of this. */
    static final int ALIGNMENT = 8;
    /** The type of a record that only pads the data area to its end. */
    static final int PADDING_TYPE = -1;

    private LaneDescriptor()
    {
    }

    /**
     * @param capacity a data area's capacity in bytes.
     * @return it, when it is a power of two holding at least two record headers.
     * @throws IllegalArgumentException otherwise.
     */
    static int checkCapacity(final int capacity)
    {
        if (capacity < 2 * RECORD_HEADER || Integer.bitCount(capacity) != 1)
        {
            throw new IllegalArgumentException("lane capacity " + capacity + " must be a power of two of at least "
                + 2 * RECORD_HEADER);
        }
        return capacity;
    }
}
