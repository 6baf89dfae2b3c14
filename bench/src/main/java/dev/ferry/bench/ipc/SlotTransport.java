package dev.ferry.bench.ipc;

import org.agrona.BitUtil;
import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.MappedByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A bare ring of call slots in a shared file, each reply written into its own request's slot (as FlexSC's syscall
 * entries carry their return value), with nothing of Ferry on top: the floor of that layout between two processes,
 * to set beside the bare ring pairs ({@link RingTransport}) that Ferry's lanes are built like. A 32-byte call fits
 * one cache line with its header, so a round trip moves that one line there and back instead of a request line and a
 * reply line.
 *
 * <p>Slot {@code n % SLOTS} carries call {@code n} (from 1): a state word, then the length, then the message. The
 * caller writes the message and then stores the state {@code 2n - 1} (release); the echo peer waits for that state,
 * copies the message out and back in (as a handler would read a request and write its reply), then stores
 * {@code 2n}. A state from an earlier lap never matches, so nothing is ever zeroed. Records carry the message only.
 *
 * <p>Not thread-safe: one measuring thread; the echo peer maps the same file ({@link #echo}).
 */
final class SlotTransport implements Transport
{
    static final int SLOTS = 256;
    private static final int STATE_OFFSET = 0;
    private static final int LENGTH_OFFSET = 8;
    private static final int MESSAGE_OFFSET = 16;

    private final Path file;
    private final MappedByteBuffer mapping;
    private final UnsafeBuffer slots;
    private final int slotBytes;
    private final UnsafeBuffer message;
    private long nextSend = 1;
    private long nextReceive = 1;

    SlotTransport(final Path file, final int msgBytes) throws Exception
    {
        this.file = file;
        this.slotBytes = slotBytes(msgBytes);
        this.mapping = RingTransport.map(file, (long)SLOTS * slotBytes, true);
        this.slots = new UnsafeBuffer(mapping);
        this.message = new UnsafeBuffer(new byte[msgBytes]);
    }

    /** Header and message rounded up to whole cache lines, so that no two slots share a line. */
    static int slotBytes(final int msgBytes)
    {
        return BitUtil.align(MESSAGE_OFFSET + msgBytes, BitUtil.CACHE_LINE_LENGTH);
    }

    /**
     * The echo peer's loop: answers each call in its own slot, busy-polling, until the process is destroyed.
     *
     * @param file     the file the measuring side created.
     * @param msgBytes the message size, which sets the slot size.
     * @param ready    called once the file is mapped.
     * @throws Exception if the file cannot be mapped.
     */
    static void echo(final Path file, final int msgBytes, final Runnable ready) throws Exception
    {
        final int slotBytes = slotBytes(msgBytes);
        final UnsafeBuffer slots = new UnsafeBuffer(RingTransport.map(file, (long)SLOTS * slotBytes, false));
        final UnsafeBuffer request = new UnsafeBuffer(new byte[msgBytes]);
        ready.run();
        for (long n = 1; ; n++)
        {
            final int slot = (int)(n % SLOTS) * slotBytes;
            while (slots.getLongVolatile(slot + STATE_OFFSET) != 2 * n - 1)
            {
                Thread.onSpinWait();
            }
            final int length = slots.getInt(slot + LENGTH_OFFSET);
            slots.getBytes(slot + MESSAGE_OFFSET, request, 0, length);
            slots.putBytes(slot + MESSAGE_OFFSET, request, 0, length);
            slots.putLongRelease(slot + STATE_OFFSET, 2 * n);
        }
    }

    @Override
    public boolean send()
    {
        if (nextSend - nextReceive == SLOTS)
        {
            return false;
        }
        final int slot = (int)(nextSend % SLOTS) * slotBytes;
        slots.putInt(slot + LENGTH_OFFSET, message.capacity());
        slots.putBytes(slot + MESSAGE_OFFSET, message, 0, message.capacity());
        slots.putLongRelease(slot + STATE_OFFSET, 2 * nextSend - 1);
        nextSend++;
        return true;
    }

    @Override
    public int poll()
    {
        int received = 0;
        while (nextReceive < nextSend)
        {
            final int slot = (int)(nextReceive % SLOTS) * slotBytes;
            if (slots.getLongVolatile(slot + STATE_OFFSET) != 2 * nextReceive)
            {
                break;
            }
            // Read the reply, as a completion handler would.
            slots.getBytes(slot + MESSAGE_OFFSET, message, 0, slots.getInt(slot + LENGTH_OFFSET));
            nextReceive++;
            received++;
        }
        return received;
    }

    @Override
    public void close() throws Exception
    {
        IoUtil.unmap(mapping);
        Files.deleteIfExists(file);
    }
}
