package dev.ferry.bench.ipc;

import org.agrona.IoUtil;
import org.agrona.concurrent.MessageHandler;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.ManyToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;

import java.io.RandomAccessFile;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A bare pair of Agrona ring buffers in a shared file, a request ring and a reply ring, with nothing of Ferry on top:
 * the floor of what one round trip through these rings costs between two processes. Two kinds, the two ways Agrona
 * keeps its rings' unread space zero: {@code agrona-m2o} ({@link ManyToOneRingBuffer}, any number of producers; the
 * reader zeroes each record after reading it, which is what Ferry's rings do) and {@code agrona-o2o}
 * ({@link OneToOneRingBuffer}, one producer, which zeroes the next record's header itself, so the reader never writes
 * to the data). Records carry the message only (no call id or routing header).
 *
 * <p>Not thread-safe: one measuring thread; the echo peer maps the same file ({@link #echo}).
 */
final class RingTransport implements Transport
{
    static final int RING_BYTES = 256 * 1024;
    private static final long FILE_BYTES = 2L * (RING_BYTES + RingBufferDescriptor.TRAILER_LENGTH);
    private static final int REQUEST = 1;
    private static final int REPLY = 2;

    private final Path file;
    private final MappedByteBuffer mapping;
    private final RingBuffer requests;
    private final RingBuffer replies;
    private final UnsafeBuffer message;
    private final int[] received = new int[1];
    private final MessageHandler handler = (type, buffer, index, length) -> received[0]++;

    RingTransport(final Path file, final boolean oneToOne, final int msgBytes) throws Exception
    {
        this.file = file;
        this.mapping = map(file, FILE_BYTES, true);
        this.requests = ring(mapping, 0, oneToOne);
        this.replies = ring(mapping, 1, oneToOne);
        this.message = new UnsafeBuffer(new byte[msgBytes]);
    }

    /**
     * Maps a bare transport's shared file, read-write.
     *
     * @param create true on the measuring side, which sizes the file; false on the echo peer's.
     */
    static MappedByteBuffer map(final Path file, final long length, final boolean create) throws Exception
    {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"))
        {
            if (create)
            {
                raf.setLength(length);
            }
            return raf.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, length);
        }
    }

    private static RingBuffer ring(final MappedByteBuffer mapping, final int which, final boolean oneToOne)
    {
        final int bytes = RING_BYTES + RingBufferDescriptor.TRAILER_LENGTH;
        final UnsafeBuffer buffer = new UnsafeBuffer(mapping, which * bytes, bytes);
        return oneToOne ? new OneToOneRingBuffer(buffer) : new ManyToOneRingBuffer(buffer);
    }

    /**
     * The echo peer's loop: reads each request and writes it back as a reply, busy-polling, until the process is
     * destroyed.
     *
     * @param file     the file the measuring side created.
     * @param oneToOne the ring kind.
     * @param ready    called once the file is mapped.
     * @throws Exception if the file cannot be mapped.
     */
    static void echo(final Path file, final boolean oneToOne, final Runnable ready) throws Exception
    {
        final MappedByteBuffer mapping = map(file, FILE_BYTES, false);
        final RingBuffer requests = ring(mapping, 0, oneToOne);
        final RingBuffer replies = ring(mapping, 1, oneToOne);
        final MessageHandler echo = (type, buffer, index, length) ->
        {
            int claimed;
            while ((claimed = replies.tryClaim(REPLY, length)) < 0)
            {
                Thread.onSpinWait();
            }
            replies.buffer().putBytes(claimed, buffer, index, length);
            replies.commit(claimed);
        };
        ready.run();
        while (true)
        {
            if (requests.read(echo, 16) == 0)
            {
                Thread.onSpinWait();
            }
        }
    }

    @Override
    public boolean send()
    {
        final int claimed = requests.tryClaim(REQUEST, message.capacity());
        if (claimed < 0)
        {
            return false;
        }
        requests.buffer().putBytes(claimed, message, 0, message.capacity());
        requests.commit(claimed);
        return true;
    }

    @Override
    public int poll()
    {
        received[0] = 0;
        replies.read(handler, 64);
        return received[0];
    }

    @Override
    public void close() throws Exception
    {
        IoUtil.unmap(mapping);
        Files.deleteIfExists(file);
    }
}
