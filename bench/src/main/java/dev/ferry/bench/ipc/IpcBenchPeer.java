package dev.ferry.bench.ipc;

import dev.ferry.Server;
import io.aeron.Aeron;
import io.aeron.FragmentAssembler;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import org.agrona.concurrent.BusySpinIdleStrategy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * The echo peer of {@code ipc-bench}, run in its own JVM: it serves one transport, echoing every message back, busy
 * polling as the measuring side does, until it is destroyed or its connection closes.
 *
 * <p>Not thread-safe: a main class, one transport per process.
 */
public final class IpcBenchPeer
{
    private IpcBenchPeer()
    {
    }

    /**
     * @param args {@code ferry DIR}, {@code uds PATH}, {@code tcp}, {@code aeron DIR}, {@code agrona-m2o FILE},
     *             {@code agrona-o2o FILE} or {@code slots FILE MSG_BYTES}.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        switch (args[0])
        {
            case "ferry" -> ferry(Path.of(args[1]));
            case "uds" -> sockets(ServerSocketChannel.open(StandardProtocolFamily.UNIX)
                .bind(UnixDomainSocketAddress.of(args[1])), "READY");
            case "tcp" ->
            {
                final ServerSocketChannel server = ServerSocketChannel.open()
                    .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                sockets(server, "READY " + ((InetSocketAddress)server.getLocalAddress()).getPort());
            }
            case "aeron" -> aeron(args[1]);
            case "agrona-m2o", "agrona-o2o" -> RingTransport.echo(Path.of(args[1]), args[0].equals("agrona-o2o"), () ->
            {
                System.out.println("READY");
                System.out.flush();
            });
            case "slots" -> SlotTransport.echo(Path.of(args[1]), Integer.parseInt(args[2]), () ->
            {
                System.out.println("READY");
                System.out.flush();
            });
            default -> throw new IllegalArgumentException("unknown transport " + args[0]);
        }
    }

    private static void ferry(final Path dir) throws Exception
    {
        final Server server = Server.builder().directory(dir).service(0, (msg, len) -> len)
            .idleStrategy(BusySpinIdleStrategy::new).start();
        System.out.println("READY");
        System.out.flush();
        while (server.isRunning())
        {
            server.awaitStop(java.time.Duration.ofSeconds(1));
        }
        server.close();
    }

    private static void sockets(final ServerSocketChannel server, final String ready) throws Exception
    {
        System.out.println(ready);
        System.out.flush();
        try (SocketChannel channel = server.accept())
        {
            if (channel.getRemoteAddress() instanceof InetSocketAddress)
            {
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            }
            channel.configureBlocking(false);
            final ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 16);
            while (true)
            {
                final int n = channel.read(buffer);
                if (n < 0)
                {
                    return;
                }
                if (n == 0)
                {
                    Thread.onSpinWait();
                    continue;
                }
                buffer.flip();
                while (buffer.hasRemaining())
                {
                    if (channel.write(buffer) == 0)
                    {
                        Thread.onSpinWait();
                    }
                }
                buffer.clear();
            }
        }
    }

    private static void aeron(final String dir)
    {
        final Aeron.Context context = new Aeron.Context().aeronDirectoryName(dir).preTouchMappedMemory(true);
        try (Aeron aeron = Aeron.connect(context);
             Subscription sub = aeron.addSubscription(AeronTransport.CHANNEL, AeronTransport.PING_STREAM);
             Publication pub = aeron.addExclusivePublication(AeronTransport.CHANNEL, AeronTransport.PONG_STREAM))
        {
            System.out.println("READY");
            System.out.flush();
            final FragmentHandler echo = new FragmentAssembler((buffer, offset, length, header) ->
            {
                while (pub.offer(buffer, offset, length) < 0)
                {
                    Thread.onSpinWait();
                }
            });
            while (true)
            {
                if (sub.poll(echo, 16) == 0)
                {
                    Thread.onSpinWait();
                }
            }
        }
    }
}
