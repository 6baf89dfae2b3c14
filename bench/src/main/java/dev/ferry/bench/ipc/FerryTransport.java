package dev.ferry.bench.ipc;

import dev.ferry.Client;
import dev.ferry.CompletionHandler;
import dev.ferry.Kernel;
import dev.ferry.Mode;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Ferry as an {@code ipc-bench} transport: one {@link Client}, whichever memory its kernel lives in. Across processes
 * through shared memory (a named {@link Kernel} here in DIRECT mode, the client {@link Client#attach attached} to its
 * mapping, its server in the peer process), or within this process (an in-process {@link Kernel} in DIRECT mode, its
 * server on a thread of this JVM) as the reference. Both busy-poll.
 *
 * <p>Not thread-safe: one measuring thread, the one that created it.
 */
final class FerryTransport implements Transport
{
    private final Kernel kernel;
    private final Client client;
    private final UnsafeBuffer message;
    private final int[] received = new int[1];
    private final CompletionHandler handler = c -> received[0]++;

    private FerryTransport(final Kernel kernel, final Client client, final int msgBytes)
    {
        this.kernel = kernel;
        this.client = client;
        this.message = new UnsafeBuffer(new byte[msgBytes]);
    }

    /**
     * @param kernel   the shared-memory kernel, started, whose service 0 the peer serves; closed with the transport.
     * @param msgBytes the message size.
     * @return a transport whose client is attached to the kernel's mapping, as another process would be.
     */
    static FerryTransport shm(final Kernel kernel, final int msgBytes)
    {
        return new FerryTransport(kernel, Client.attach(kernel.directory(), new BusySpinIdleStrategy()), msgBytes);
    }

    static FerryTransport inProcess(final int msgBytes, final int window)
    {
        final Kernel kernel = Kernel.builder().mode(Mode.DIRECT).service(0, (msg, len) -> len).slotBytes(1024)
            .maxInFlight(Math.max(64, Integer.highestOneBit(window) * 2))
            .idleStrategy(BusySpinIdleStrategy::new).build().start();
        try
        {
            return new FerryTransport(kernel, kernel.newClient(), msgBytes);
        }
        catch (final RuntimeException ex)
        {
            kernel.close();
            throw ex;
        }
    }

    @Override
    public boolean send()
    {
        if (client.submit(0, message, 0, message.capacity()) == Client.BACK_PRESSURE)
        {
            return false;
        }
        client.flush();
        return true;
    }

    @Override
    public int poll()
    {
        received[0] = 0;
        client.poll(handler, 64);
        return received[0];
    }

    @Override
    public void close()
    {
        try
        {
            client.close();
        }
        finally
        {
            kernel.close();
        }
    }
}
