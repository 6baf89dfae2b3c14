package dev.ferry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A kernel's exclusive lock on {@value Mapping#LOCK_FILE_NAME} in its directory: a POSIX record lock, released by the
 * system when the process dies, so a dead kernel's name is free at once. The file holds the holder's pid, then,
 * once a closing kernel has unlinked it, a tombstone: a starter that opened it just before and locks it just after
 * sees the tombstone and starts again with the file now at the path.
 *
 * <p>Thread-safe: acquisition and release within one process are serialised, and a lock this process holds is
 * never opened a second time (closing that descriptor would drop the lock).
 */
final class KernelLock
{
    private static final int RECORD = 24;
    private static final String TOMBSTONE = "closed";
    /** The identities of the lock files this process holds; also the monitor of acquisition and release. */
    private static final Set<Object> HELD = new HashSet<>();
    /** Channels that must stay open: closing them would drop another holder's lock in this process. */
    private static final List<FileChannel> KEPT = new ArrayList<>();

    private final Path directory;
    private final Path path;
    private final FileChannel channel;
    private final Object key;
    private boolean pidWritten;
    private boolean released;

    private KernelLock(final Path directory, final Path path, final FileChannel channel, final Object key)
    {
        this.directory = directory;
        this.path = path;
        this.channel = channel;
        this.key = key;
    }

    /**
     * @return the lock, or null if the file or its directory was removed meanwhile by a kernel closing: try again.
     * @throws IllegalStateException if a live kernel holds it.
     */
    static KernelLock acquire(final Path directory) throws IOException
    {
        final Path path = directory.resolve(Mapping.LOCK_FILE_NAME);
        synchronized (HELD)
        {
            BasicFileAttributes attributes = PathChecks.attributesOrNull(path);
            if (attributes != null)
            {
                PathChecks.check(path, false);
                if (HELD.contains(attributes.fileKey()))
                {
                    throw live(directory, ProcessHandle.current().pid() + ", this process");
                }
            }
            final FileChannel channel;
            try
            {
                final Set<OpenOption> options = Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
                channel = FileChannel.open(path, options, PathChecks.OWNER_ONLY_FILE);
            }
            catch (final NoSuchFileException ex)
            {
                return null;
            }
            boolean keep = false;
            try
            {
                PathChecks.check(path, false);
                final FileLock lock;
                try
                {
                    lock = channel.tryLock();
                }
                catch (final OverlappingFileLockException ex)
                {
                    // Something in this process locked the file outside Ferry: keep this descriptor open, since
                    // closing it would drop that lock.
                    KEPT.add(channel);
                    keep = true;
                    throw live(directory, ProcessHandle.current().pid() + ", this process");
                }
                if (lock == null)
                {
                    throw live(directory, read(channel));
                }
                if (read(channel).startsWith(TOMBSTONE))
                {
                    // A kernel closing unlinked it after this process opened it: the next attempt opens what is
                    // at the path now.
                    return null;
                }
                attributes = PathChecks.attributesOrNull(path);
                if (attributes == null)
                {
                    return null;
                }
                HELD.add(attributes.fileKey());
                keep = true;
                return new KernelLock(directory, path, channel, attributes.fileKey());
            }
            finally
            {
                if (!keep)
                {
                    channel.close();
                }
            }
        }
    }

    private static IllegalStateException live(final Path directory, final String pid)
    {
        return new IllegalStateException("a live kernel (pid " + pid + ") holds " + directory + "; close it first"
            + " or pick another kernel name or directory");
    }

    private static String read(final FileChannel channel) throws IOException
    {
        final ByteBuffer bytes = ByteBuffer.allocate(RECORD);
        while (bytes.hasRemaining() && channel.read(bytes, bytes.position()) > 0)
        {
            // read on
        }
        final String text = new String(bytes.array(), 0, bytes.position(), StandardCharsets.US_ASCII).trim();
        return text.isEmpty() ? "unknown" : text;
    }

    void writePid() throws IOException
    {
        write(String.valueOf(ProcessHandle.current().pid()));
        pidWritten = true;
    }

    private void write(final String text) throws IOException
    {
        final ByteBuffer bytes = ByteBuffer.wrap(String.format("%-" + (RECORD - 1) + "s\n", text)
            .getBytes(StandardCharsets.US_ASCII));
        while (bytes.hasRemaining())
        {
            channel.write(bytes, bytes.position());
        }
    }

    boolean released()
    {
        synchronized (HELD)
        {
            return released;
        }
    }

    /**
     * Releases the lock; with {@code remove}, first unlinks the lock file, marks it with the tombstone (in place:
     * this needs no room) and removes the directory if empty. A lock file whose pid was never written (no room)
     * is left in place, since it cannot take a tombstone.
     */
    void release(final boolean remove)
    {
        synchronized (HELD)
        {
            if (released)
            {
                return;
            }
            released = true;
            HELD.remove(key);
            try
            {
                if (remove && pidWritten)
                {
                    Files.deleteIfExists(path);
                    write(TOMBSTONE);
                    try
                    {
                        Files.deleteIfExists(directory);
                    }
                    catch (final DirectoryNotEmptyException ignore)
                    {
                        // Something else lives there; leave the directory.
                    }
                }
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException("could not remove " + path + " or " + directory + ": " + ex, ex);
            }
            finally
            {
                try
                {
                    channel.close();
                }
                catch (final IOException ignore)
                {
                    // Closing drops the lock whatever it reports.
                }
            }
        }
    }
}
