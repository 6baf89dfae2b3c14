package dev.ferry;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * A kernel, a server and a client in one child JVM whose mapping's file is truncated under them, to the end of its
 * tables (the rings lose their pages), while the server's handler holds a call: the client's poll must throw an
 * exception that says so and the call end CLOSED, the server must stop once released, every role must close, and the
 * JVM must not crash. Prints {@code COMPLETION <status>}, {@code CALL <what poll threw>}, {@code SERVER <running>
 * <reason>}, then {@code DONE}.
 *
 * <p>Not thread-safe; one run per process.
 */
public final class TruncatedMappingChild
{
    private TruncatedMappingChild()
    {
    }

    /**
     * @param args the kernel's directory (its parent must exist) and the mode.
     * @throws Exception on an unexpected failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final Path dir = Path.of(args[0]);
        final Mode mode = Mode.valueOf(args[1]);
        final Kernel kernel = Kernel.builder().directory(dir).mode(mode).maxInFlight(8).slotBytes(64)
            .timeouts(Timeouts.of(Duration.ofMillis(500))).build().start();
        // The handler holds the server inside one call while the file is truncated, so that the client is the first
        // to touch the lost pages (its poll reads the call's lane); released, the server meets them writing the reply.
        final java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        final java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        final Server server = Server.builder().directory(dir).service(0, (msg, len) ->
        {
            if (msg.getInt(0) == 1)
            {
                held.countDown();
                try
                {
                    release.await();
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                }
            }
            return len;
        }).start();
        final LaneClient client = Lanes.attach(dir, new BackoffIdleStrategy());
        final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
        final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
        for (int i = 0; i < 10_000; i++)
        {
            client.call(0, req, 0, 8, rep, 0);
        }
        final int ringsOffset;
        try (Mapping view = Mapping.open(dir))
        {
            ringsOffset = view.layout.ringsOffset;
        }
        req.putInt(0, 1);
        client.submit(0, req, 0, 8);
        client.flush();
        held.await();
        try (FileChannel channel = FileChannel.open(dir.resolve(IpcLayout.FILE_NAME), StandardOpenOption.WRITE))
        {
            channel.truncate(ringsOffset);
        }
        String outcome = "no fault seen";
        final String[] completed = new String[1];
        int escaped = 0;
        final long until = System.nanoTime() + 5_000_000_000L;
        boolean faulted = false;
        while (true)
        {
            // The whole step in the try, its test included: an asynchronous fault may land on any instruction.
            try
            {
                if (faulted || System.nanoTime() >= until)
                {
                    break;
                }
                client.poll(c -> completed[0] = c.status() + ": " + c.failure(), 1);
            }
            catch (final IllegalStateException ex)
            {
                outcome = ex.getClass().getSimpleName() + ": " + ex.getMessage();
                faulted = true;
            }
            catch (final InternalError ex)
            {
                // JDK 17 delivers the fault of compiled code asynchronously ("a recent unsafe memory access"): it can
                // surface just after a Ferry call returned, outside it. The next poll meets the lost pages again.
                escaped++;
            }
        }
        // The call itself ends CLOSED, handed over by the next poll.
        while (true)
        {
            try
            {
                if (client.inFlight() == 0 || System.nanoTime() >= until + 5_000_000_000L)
                {
                    break;
                }
                client.poll(c -> completed[0] = c.status() + ": " + c.failure(), 1);
            }
            catch (final InternalError ex)
            {
                escaped++;
            }
        }
        System.out.println("ESCAPED " + escaped);
        System.out.println("COMPLETION " + completed[0]);
        release.countDown();
        System.out.println("CALL " + outcome.replace('\n', ' '));
        server.awaitStop(Duration.ofSeconds(5));
        System.out.println("SERVER " + server.isRunning() + " " + server.stopReason());
        client.close();
        server.close();
        kernel.close();
        System.out.println("DONE");
        System.out.flush();
    }
}
