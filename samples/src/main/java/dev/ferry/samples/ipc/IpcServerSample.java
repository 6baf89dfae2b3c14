package dev.ferry.samples.ipc;

import dev.ferry.Kernel;
import dev.ferry.Mode;
import dev.ferry.Server;
import dev.ferry.samples.Args;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code ipc-server}: the first terminal of the two-process sample. Starts a Ferry IPC kernel named {@code demo}
 * (in {@code /dev/shm/ferry-<user>/demo}, or under {@code -Dferry.ipc.dir}) and a server for its service 0, which
 * upper-cases ASCII requests in place. Runs until Ctrl-C (or {@code --seconds}), then closes both, which removes
 * the mapping. Run {@code ipc-client} in a second terminal.
 *
 * <p>Threading: the main thread waits; the kernel and the server run on their own agent threads.
 */
public final class IpcServerSample
{
    /** The kernel's name, shared with {@link IpcClientSample}. */
    static final String NAME = "demo";

    private IpcServerSample()
    {
    }

    /**
     * @param args {@code --seconds N} (0: until Ctrl-C), {@code --mover 1} for MOVER mode.
     * @throws Exception on failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final Args a = new Args("ipc-server", args);
        final int seconds = a.intArg("seconds", 0, "how long to serve; 0 serves until Ctrl-C");
        final int mover = a.intArg("mover", 0, "1 to route calls through the kernel's mover (MOVER mode)");
        if (a.helpOrCheck())
        {
            return;
        }
        final Kernel kernel = Kernel.builder().name(NAME).mode(mover == 1 ? Mode.MOVER : Mode.DIRECT)
            .services(1).build().start();
        final Server server = Server.builder().name(NAME).service(0, (msg, len) ->
        {
            for (int i = 0; i < len; i++)
            {
                final byte b = msg.getByte(i);
                if (b >= 'a' && b <= 'z')
                {
                    msg.putByte(i, (byte)(b - 32));
                }
            }
            return len;
        }).start();
        final CountDownLatch done = new CountDownLatch(1);
        final Thread hook = new Thread(() ->
        {
            server.close();
            kernel.close();
            System.out.println("ipc-server: closed; served " + server.served() + " calls; removed "
                + kernel.directory());
            done.countDown();
        }, "ipc-server-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        System.out.println("ipc-server: kernel '" + NAME + "' (" + kernel.mode() + ") at " + kernel.directory()
            + ", service 0 upper-cases ASCII. In another terminal:");
        System.out.println("  java -jar samples/target/ferry-samples.jar ipc-client");
        System.out.println(seconds == 0 ? "Ctrl-C stops it." : "Serving for " + seconds + " s.");
        if (seconds > 0)
        {
            TimeUnit.SECONDS.sleep(seconds);
            Runtime.getRuntime().removeShutdownHook(hook);
            hook.run();
        }
        else
        {
            done.await();
        }
    }
}
