package dev.ferry.bench.ipc;

import dev.ferry.Client;
import dev.ferry.CompletionHandler;
import dev.ferry.Kernel;
import dev.ferry.Mode;
import dev.ferry.ipc.IpcClient;
import dev.ferry.ipc.IpcKernel;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Ferry as an {@code ipc-bench} transport: across processes through shared memory (an {@link IpcKernel} here in
 * DIRECT mode, its server in the peer process), or within this process (a {@link Kernel} in DIRECT mode, its server
 * on a thread of this JVM) as the reference. Both busy-poll.
 *
 * <p>Not thread-safe: one measuring thread, the one that created it.
 */
final class FerryTransport implements Transport
{
    private final IpcClient ipc;
    private final Kernel kernel;
    private final Client client;
    private final UnsafeBuffer message;
    private final int[] received = new int[1];
    private final CompletionHandler handler = c -> received[0]++;

    private FerryTransport(final IpcClient ipc, final Kernel kernel, final int msgBytes)
    {
        this.ipc = ipc;
        this.kernel = kernel;
        this.client = kernel == null ? null : kernel.newClient();
        this.message = new UnsafeBuffer(new byte[msgBytes]);
    }

    static FerryTransport shm(final IpcKernel kernel, final int msgBytes)
    {
        return new FerryTransport(IpcClient.attach(kernel.directory(), new BusySpinIdleStrategy()), null, msgBytes);
    }

    static FerryTransport inProcess(final int msgBytes, final int window)
    {
        final Kernel kernel = Kernel.builder().mode(Mode.DIRECT).service(0, (msg, len) -> len).slotBytes(1024)
            .clientCapacity(Math.max(64, Integer.highestOneBit(window) * 2))
            .idleStrategy(BusySpinIdleStrategy::new).build().start();
        return new FerryTransport(null, kernel, msgBytes);
    }

    @Override
    public boolean send()
    {
        if (ipc != null)
        {
            if (ipc.submit(0, message, 0, message.capacity()) == IpcClient.BACK_PRESSURE)
            {
                return false;
            }
            ipc.flush();
            return true;
        }
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
        if (ipc != null)
        {
            ipc.poll(handler, 64);
        }
        else
        {
            client.poll(handler, 64);
        }
        return received[0];
    }

    @Override
    public void close()
    {
        if (ipc != null)
        {
            ipc.close();
        }
        else
        {
            client.close();
            kernel.close();
        }
    }
}
