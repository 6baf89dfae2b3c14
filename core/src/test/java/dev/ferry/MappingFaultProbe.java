package dev.ferry;

import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The experiment behind "a truncated or replaced file under a live mapping", run in a child JVM so that a crash
 * is seen as a crash: maps a file, truncates it (or replaces it) behind the mapping's back, and touches the mapping
 * with Agrona's {@link UnsafeBuffer} after a warm-up that has the JIT compile the accessors (run with {@code -Xint}
 * to see the interpreter instead). Prints one line per access, {@code OK <what> <value>} or
 * {@code CAUGHT <what> <exception>}, then {@code DONE}.
 *
 * <p>Not thread-safe; one run per process.
 */
public final class MappingFaultProbe
{
    private static final int LENGTH = 1 << 16;

    private MappingFaultProbe()
    {
    }

    /**
     * @param args the directory to work in (must exist).
     * @throws Exception on an unexpected failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final Path dir = Path.of(args[0]);
        System.out.println("JVM " + System.getProperty("java.runtime.version") + " "
            + System.getProperty("java.vm.info"));

        // Truncated to half: the first half stays mapped, the second half has no page behind it.
        final Path file = dir.resolve("probe.truncated");
        final MappedByteBuffer mapped = map(file);
        final UnsafeBuffer buffer = new UnsafeBuffer(mapped);
        long warm = 0;
        for (int i = 0; i < 20_000; i++)
        {
            warm += sum(buffer);
        }
        System.out.println("OK warm-up " + warm);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
        {
            channel.truncate(LENGTH / 2);
        }
        touch("first-half-getLong", () -> buffer.getLong(8));
        touch("getLong", () -> buffer.getLong(LENGTH - 8));
        touch("putLong", () ->
        {
            buffer.putLong(LENGTH - 16, 42L);
            return 42L;
        });
        touch("getLongVolatile", () -> buffer.getLongVolatile(LENGTH - 64));
        touch("sum-loop", () -> sum(buffer));
        touch("ByteBuffer-getLong", () -> mapped.getLong(LENGTH - 8));
        touch("after-faults-first-half", () -> buffer.getLong(16));

        // Replaced: another file renamed over the path; the mapping keeps the old (now unlinked) inode.
        final Path replaced = dir.resolve("probe.replaced");
        final UnsafeBuffer old = new UnsafeBuffer(map(replaced));
        old.putLong(0, 7L);
        final Path other = dir.resolve("probe.other");
        Files.write(other, new byte[LENGTH]);
        Files.move(other, replaced, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        touch("replaced-getLong-old-mapping", () -> old.getLong(0));
        final long seenThroughPath;
        try (FileChannel channel = FileChannel.open(replaced, StandardOpenOption.READ))
        {
            final ByteBuffer bytes = ByteBuffer.allocate(8);
            channel.read(bytes, 0);
            seenThroughPath = bytes.flip().getLong();
        }
        System.out.println("OK replaced-file-at-path-reads " + seenThroughPath);
        IoUtil.unmap(mapped);
        System.out.println("DONE");
    }

    private static MappedByteBuffer map(final Path file) throws Exception
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
            StandardOpenOption.WRITE))
        {
            channel.write(ByteBuffer.allocate(LENGTH), 0);
            return channel.map(FileChannel.MapMode.READ_WRITE, 0, LENGTH);
        }
    }

    private static long sum(final UnsafeBuffer buffer)
    {
        long sum = 0;
        for (int i = 0; i < LENGTH; i += 4096)
        {
            sum += buffer.getLong(i);
        }
        return sum;
    }

    private static void touch(final String what, final Access access)
    {
        try
        {
            System.out.println("OK " + what + " " + access.get());
        }
        catch (final Throwable t)
        {
            System.out.println("CAUGHT " + what + " " + t);
        }
        System.out.flush();
    }

    /** One access to the mapping. Not thread-safe. */
    @FunctionalInterface
    private interface Access
    {
        long get();
    }
}
