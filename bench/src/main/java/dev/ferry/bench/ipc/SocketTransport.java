package dev.ferry.bench.ipc;

import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * A socket transport (Unix domain via {@link SocketChannel}, Java 16+, or TCP on loopback with TCP_NODELAY), used at
 * its fastest for latency: non-blocking channels, busy-polled on both sides, so no thread ever sleeps in the kernel.
 *
 * <p>Not thread-safe: one measuring thread.
 */
final class SocketTransport implements Transport
{
    private final SocketChannel channel;
    private final ByteBuffer out;
    private final ByteBuffer in = ByteBuffer.allocateDirect(1 << 16);
    private final int msgBytes;
    private long pendingBytes;

    SocketTransport(final SocketAddress address, final int msgBytes) throws Exception
    {
        this.channel = SocketChannel.open(address);
        if (address instanceof InetSocketAddress)
        {
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        }
        channel.configureBlocking(false);
        this.msgBytes = msgBytes;
        this.out = ByteBuffer.allocateDirect(msgBytes);
    }

    @Override
    public boolean send() throws Exception
    {
        out.clear();
        while (out.hasRemaining())
        {
            if (channel.write(out) == 0)
            {
                Thread.onSpinWait();
            }
        }
        return true;
    }

    @Override
    public int poll() throws Exception
    {
        in.clear();
        final int n = channel.read(in);
        if (n < 0)
        {
            throw new IllegalStateException("the echo peer closed the connection");
        }
        pendingBytes += n;
        final int messages = (int)(pendingBytes / msgBytes);
        pendingBytes -= (long)messages * msgBytes;
        return messages;
    }

    @Override
    public void close() throws Exception
    {
        channel.close();
    }
}
