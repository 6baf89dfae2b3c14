package dev.ferry.ring;

import dev.ferry.Handler;
import dev.ferry.Status;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Byte patterns of requests and replies for the ring stress tests, and the classification of what one thread saw of
 * a slot that another thread wrote. Call {@code k}'s request is {@link #REQUEST_LENGTH} bytes that name {@code k};
 * its reply, written in place over the request by {@link #serve}, is {@link #REPLY_LENGTH} bytes that name
 * {@code k} differently, so a reader can tell a whole request, a whole reply, the previous call's bytes and torn
 * bytes apart.
 */
final class CallPatterns
{
    /** Request length: two longs. */
    static final int REQUEST_LENGTH = 16;
    /** Reply length: three longs; differs from the request's so that a stale length shows. */
    static final int REPLY_LENGTH = 24;
    /** Payload bytes of the slots in the tests. */
    static final int SLOT_BYTES = 32;
    /** The one service of the tests. */
    static final int SERVICE_ID = 0;
    /**
     * Most polls or duty cycles an actor spends waiting for the other actor's step. Bounded, so an actor never waits
     * for a step that cannot come; long enough that full round trips are common outcomes, not rare ones.
     */
    static final int PATIENCE = 1_000;

    /** The reader saw nothing (nothing published or completed yet). */
    static final int NONE = 0;
    /** The reader saw exactly what it should: the expected call's whole request, or its whole reply. */
    static final int OK = 1;
    /** The server saw the previous call's request bytes in a recycled slot. */
    static final int STALE_REQUEST = 2;
    /** The server saw the previous call's reply bytes in a recycled slot. */
    static final int STALE_REPLY = 3;
    /** The client saw its own request bytes, or no status, in a completion: the server's writes were not visible. */
    static final int UNSERVED = 4;
    /** The client saw another call's id or reply in a completion. */
    static final int WRONG_CALL = 5;
    /** Torn or unrecognisable bytes, or a wrong length, service or status. */
    static final int GARBAGE = 9;

    private static final long REQUEST_MAGIC = 0x5245_5155_0000_0000L;
    private static final long REPLY_MAGIC = 0x5245_504C_0000_0000L;

    private CallPatterns()
    {
    }

    /**
     * @param call the call's number.
     * @return a fresh buffer holding call {@code call}'s request.
     */
    static UnsafeBuffer request(final long call)
    {
        final UnsafeBuffer src = new UnsafeBuffer(new byte[REQUEST_LENGTH]);
        src.putLong(0, REQUEST_MAGIC + call);
        src.putLong(8, ~(REQUEST_MAGIC + call));
        return src;
    }

    /**
     * What the client does to start call {@code call} on a free slot: {@link Slot#prepare} with the call's request.
     *
     * @param slot    a slot the client owns.
     * @param call    the call's number, also its id.
     * @param request the call's request, from {@link #request(long)}.
     */
    static void prepare(final Slot slot, final long call, final DirectBuffer request)
    {
        slot.prepare(call, SERVICE_ID, request, 0, REQUEST_LENGTH);
    }

    /**
     * The service's work, done in place as a handler does: reads the request's call number and writes that call's
     * reply over the request.
     *
     * @param message the slot's payload.
     * @param length  the request's length.
     * @return the reply's length.
     */
    static int serve(final MutableDirectBuffer message, final int length)
    {
        final long call = message.getLong(0) - REQUEST_MAGIC;
        message.putLong(0, REPLY_MAGIC + call);
        message.putLong(8, call);
        message.putLong(16, ~(REPLY_MAGIC + call));
        return REPLY_LENGTH;
    }

    /**
     * Classifies what a server saw of a request, as its handler gets it.
     *
     * @param message  the slot's payload.
     * @param length   the length the slot carried.
     * @param expected the call the server should see.
     * @return {@link #OK}, {@link #STALE_REQUEST}, {@link #STALE_REPLY} or {@link #GARBAGE}.
     */
    static int classifyRequest(final DirectBuffer message, final int length, final long expected)
    {
        final long w0 = message.getLong(0);
        final long w1 = message.getLong(8);
        if (w0 == REQUEST_MAGIC + expected && w1 == ~(REQUEST_MAGIC + expected))
        {
            return length == REQUEST_LENGTH ? OK : GARBAGE;
        }
        if (w0 == REQUEST_MAGIC + expected - 1 && w1 == ~(REQUEST_MAGIC + expected - 1))
        {
            return STALE_REQUEST;
        }
        if (w0 == REPLY_MAGIC + expected - 1 && w1 == expected - 1)
        {
            return STALE_REPLY;
        }
        return GARBAGE;
    }

    /**
     * Classifies what a server saw of a whole slot handed to it: its header fields and its request.
     *
     * @param slot     the slot, as the server got it from a ring.
     * @param expected the call the server should see.
     * @return as {@link #classifyRequest}, and {@link #GARBAGE} when a header field is wrong.
     */
    static int classifySubmitted(final Slot slot, final long expected)
    {
        final int bytes = classifyRequest(slot.message(), slot.length(), expected);
        if (bytes != OK)
        {
            return bytes;
        }
        if (slot.id() != expected)
        {
            return slot.id() == expected - 1 ? STALE_REQUEST : GARBAGE;
        }
        return slot.serviceId() == SERVICE_ID && slot.status() == null && slot.failure() == null ? OK : GARBAGE;
    }

    /**
     * Classifies what the client saw of a completion taken from its completion ring.
     *
     * @param slot     the completed slot, or null if the ring was empty.
     * @param expected the call whose reply the client should see.
     * @return {@link #NONE}, {@link #OK}, {@link #UNSERVED}, {@link #WRONG_CALL} or {@link #GARBAGE}.
     */
    static int classifyCompletion(final Slot slot, final long expected)
    {
        if (slot == null)
        {
            return NONE;
        }
        if (slot.id() != expected)
        {
            return WRONG_CALL;
        }
        final Status status = slot.status();
        final DirectBuffer b = slot.buffer();
        final long w0 = b.getLong(0);
        if (status == null || w0 == REQUEST_MAGIC + expected)
        {
            return UNSERVED;
        }
        if (status != Status.OK || slot.length() != REPLY_LENGTH || slot.failure() != null)
        {
            return GARBAGE;
        }
        if (w0 == REPLY_MAGIC + expected && b.getLong(8) == expected && b.getLong(16) == ~(REPLY_MAGIC + expected))
        {
            return OK;
        }
        return w0 == REPLY_MAGIC + expected - 1 ? WRONG_CALL : GARBAGE;
    }

    /**
     * A handler that serves as {@link #serve} does and reports, per call it handles in turn, what it saw.
     */
    static final class RecordingHandler implements Handler
    {
        private final long firstCall;
        private int handled;
        /** What the handler saw of its first call; {@link #NONE} if none. */
        int first;
        /** What the handler saw of its second call; {@link #NONE} if none. */
        int second;

        /**
         * @param firstCall the number of the first call it expects; the next is expected after it.
         */
        RecordingHandler(final long firstCall)
        {
            this.firstCall = firstCall;
        }

        @Override
        public int onCall(final MutableDirectBuffer message, final int length)
        {
            final int seen = classifyRequest(message, length, firstCall + handled);
            if (handled == 0)
            {
                first = seen;
            }
            else if (handled == 1)
            {
                second = seen;
            }
            handled++;
            return serve(message, length);
        }

        /**
         * @return how many calls the handler has served.
         */
        int handled()
        {
            return handled;
        }
    }
}
