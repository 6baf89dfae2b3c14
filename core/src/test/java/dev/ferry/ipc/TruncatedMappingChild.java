package dev.ferry.ipc;

import dev.ferry.CallFailedException;
import dev.ferry.Mode;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * A kernel, a server and a client in one child JVM whose mapping's file is truncated under them, to the end of its
 * tables (the rings lose their pages): the client's next call must end with an exception that says so, the server
 * must stop, every role must close, and the JVM must not crash. Prints {@code CALL <outcome>}, {@code SERVER
 * <running> <reason>}, then {@code DONE}.
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
        final IpcKernel kernel = IpcKernel.builder().directory(dir).mode(mode).maxInFlight(8).slotBytes(64)
            .timeouts(IpcTimeouts.of(Duration.ofMillis(500))).build().start();
        final IpcServer server = IpcServer.builder().directory(dir).service(0, (msg, len) -> len).start();
        final IpcClient client = IpcClient.attach(dir, new BackoffIdleStrategy());
        final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
        final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
        for (int i = 0; i < 10_000; i++)
        {
            client.call(0, req, 0, 8, rep, 0);
        }
        final int ringsOffset;
        try (IpcMapping view = IpcMapping.open(dir))
        {
            ringsOffset = view.layout.ringsOffset;
        }
        try (FileChannel channel = FileChannel.open(dir.resolve(IpcLayout.FILE_NAME), StandardOpenOption.WRITE))
        {
            channel.truncate(ringsOffset);
        }
        String outcome;
        try
        {
            client.call(0, req, 0, 8, rep, 0, Duration.ofSeconds(5));
            outcome = "OK";
        }
        catch (final IllegalStateException | CallFailedException ex)
        {
            outcome = ex.getClass().getSimpleName() + ": " + ex.getMessage();
        }
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
