package dev.ferry;

import org.agrona.BufferUtil;
import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One process's view of a Ferry mapping: the file {@value IpcLayout#FILE_NAME} in a kernel's directory (by
 * default {@code /dev/shm/ferry-<user>/<name>}), mapped whole.
 *
 * <p>A process of another user can neither read, write, squat nor impersonate a mapping: {@link #create} and
 * {@link #open} follow no symbolic link and refuse, saying what is wrong, a per-user directory, kernel directory or
 * file that is not this process's user's, a directory that its group or others may write, and a file that its group
 * or others may read or write. A kernel holds an exclusive {@link FileChannel#tryLock() lock} on
 * {@value #LOCK_FILE_NAME} in its directory for its whole life, so two live kernels of one directory cannot exist, and
 * the name of a kernel that died (even by {@code kill -9}) is free at once. Nothing else in the kernel's process may
 * open that lock file: closing any descriptor of it drops the process's lock (POSIX record locks).
 *
 * <p>Threading: the buffer may be used from any thread; {@link #delete()} and {@link #close()} must come after every
 * thread that uses it has stopped. {@link #create} and {@link #open} may be called from any thread.
 */
final class Mapping implements AutoCloseable
{
    /** The system property that overrides the base directory of named mappings ({@code /dev/shm} by default). */
    static final String BASE_PROPERTY = "ferry.ipc.dir";
    /** The file in a kernel's directory that the kernel holds locked while it lives. */
    static final String LOCK_FILE_NAME = "ferry.lock";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,100}");

    final Path directory;
    final Path file;
    final IpcLayout layout;
    final UnsafeBuffer buffer;
    /** The memory: a mapped file, or direct memory of an in-process kernel. */
    private final ByteBuffer mapped;
    /** Roles of this process using this view; unmapped when the last closes. */
    private int users = 1;
    /** The kernel's lock, null in a view made by {@link #open}. */
    private final KernelLock lock;
    /** The identity (device and inode) of the file the kernel created, null in a view. */
    private final Object fileKey;
    private boolean closed;

    private Mapping(
        final Path directory,
        final IpcLayout layout,
        final ByteBuffer mapped,
        final KernelLock lock,
        final Object fileKey)
    {
        this(directory, layout, mapped, lock, fileKey, true);
    }

    private Mapping(
        final Path directory,
        final IpcLayout layout,
        final ByteBuffer mapped,
        final KernelLock lock,
        final Object fileKey,
        final boolean isFile)
    {
        this.directory = directory;
        this.file = isFile ? directory.resolve(IpcLayout.FILE_NAME) : null;
        this.layout = layout;
        this.mapped = mapped;
        this.buffer = new UnsafeBuffer(mapped);
        this.lock = lock;
        this.fileKey = fileKey;
    }

    /**
     * Makes the memory of an in-process kernel: the same layout as a mapped file's, in direct memory aligned to a
     * page, zeroed, with its header written. Nothing on disk; the memory goes with the last reference to it.
     *
     * @param label names the kernel in messages and in {@link #directory} (a path that names no file).
     */
    static Mapping inMemory(final String label, final IpcLayout layout, final Timeouts timeouts)
    {
        final ByteBuffer memory = BufferUtil.allocateDirectAligned((int)layout.fileLength, IpcLayout.PAGE);
        final Mapping mapping = new Mapping(Path.of("in-process", label), layout, memory, null, null, false);
        layout.writeHeader(mapping.buffer, ProcessHandle.current().pid(), timeouts);
        return mapping;
    }

    /** @return true for the memory of an in-process kernel, false for a mapped file. */
    boolean inProcess()
    {
        return file == null;
    }

    /**
     * Another role of this process uses this view: it closes it once done ({@link #close()} unmaps at the last).
     *
     * @return this view.
     */
    synchronized Mapping share()
    {
        if (closed)
        {
            throw new IllegalStateException("the kernel's memory at " + directory + " is closed");
        }
        users++;
        return this;
    }

    /**
     * @param name a kernel's name.
     * @return its default directory: {@code <base>/ferry-<user>/<name>}, the base being {@code /dev/shm} unless the
     * system property {@value #BASE_PROPERTY} says otherwise, and {@code <user>} this process's user's name.
     */
    static Path defaultDirectory(final String name)
    {
        if (name == null || !NAME.matcher(name).matches())
        {
            throw new IllegalArgumentException("kernel name '" + name
                + "' must be 1-100 characters of A-Z, a-z, 0-9, '.', '_' or '-'");
        }
        return userDirectory().resolve(name);
    }

    /**
     * @return this user's directory of named mappings, {@code <base>/ferry-<user>}, made with mode 0700 when first
     * needed (as Aeron's default directory is per user), so that no other user can put a name in it.
     */
    static Path userDirectory()
    {
        final String user = PathChecks.USER.name().replaceAll("[^A-Za-z0-9._-]", "_");
        return Path.of(System.getProperty(BASE_PROPERTY, "/dev/shm")).resolve("ferry-" + user);
    }

    /**
     * Creates the kernel's mapping: the directories if missing, checked; the lock; the file, zeroed, with its header,
     * moved into place (replacing a file left by a kernel that died).
     *
     * @throws IllegalStateException saying what to do when a live kernel holds the directory, a path is another
     *                               user's, a link or too open, or there is no room.
     */
    static Mapping create(final Path directory, final IpcLayout layout, final Timeouts timeouts)
    {
        final Path absolute = directory.toAbsolutePath().normalize();
        final Path parent = absolute.getParent();
        final boolean perUser = parent != null && parent.equals(userDirectory().toAbsolutePath().normalize());
        // The directory that must exist already: the base for a named kernel, else the directory's parent.
        final Path base = perUser ? parent.getParent() : parent;
        if (base == null || !Files.isDirectory(base))
        {
            throw new IllegalStateException("cannot create the Ferry directory " + directory + ": " + base
                + " does not exist" + ("/dev/shm".equals(String.valueOf(base)) ? " (this system has no /dev/shm)" : "")
                + ". The mapping needs " + layout.fileLength + " bytes of (preferably tmpfs) space; pick another "
                + "directory with Kernel.builder().directory(path) or -D" + BASE_PROPERTY + "=<dir>");
        }
        try
        {
            final long usable = Files.getFileStore(base).getUsableSpace();
            if (usable < layout.fileLength)
            {
                throw new IllegalStateException(base + " has " + usable + " bytes free but the Ferry mapping "
                    + "needs " + layout.fileLength + " bytes; free space there, lower maxClients, services, slotBytes"
                    + " or maxInFlight, or pick another directory with Kernel.builder().directory(path) or -D"
                    + BASE_PROPERTY + "=<dir>");
            }
            // A kernel closing at the same time may remove the directory or the lock file under us: then again.
            for (int attempt = 0; attempt < 100; attempt++)
            {
                if (perUser)
                {
                    PathChecks.makeDirectory(parent);
                }
                PathChecks.makeDirectory(absolute);
                final KernelLock lock = KernelLock.acquire(absolute);
                if (lock != null)
                {
                    return createLocked(directory, absolute, layout, timeouts, lock);
                }
            }
            throw new IllegalStateException("could not lock " + absolute.resolve(LOCK_FILE_NAME) + ": kernels keep "
                + "closing and starting there; pick another kernel name or directory");
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot create the Ferry directory " + directory + ": " + ex, ex);
        }
    }

    private static Mapping createLocked(
        final Path directory,
        final Path absolute,
        final IpcLayout layout,
        final Timeouts timeouts,
        final KernelLock lock)
    {
        final Path file = absolute.resolve(IpcLayout.FILE_NAME);
        final Path temp = absolute.resolve(IpcLayout.FILE_NAME + ".new");
        MappedByteBuffer mapped = null;
        boolean created = false;
        try
        {
            lock.writePid();
            // Holding the lock, this kernel is the only one here: what is left is a dead kernel's, and replaced.
            Files.deleteIfExists(temp);
            try (FileChannel channel = FileChannel.open(temp, Set.of(StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                PathChecks.OWNER_ONLY_FILE))
            {
                // Write the zeros for real: on tmpfs this allocates the pages now, so a full /dev/shm fails here
                // with an IOException instead of a SIGBUS later.
                final ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 16);
                long position = 0;
                while (position < layout.fileLength)
                {
                    zeros.clear().limit((int)Math.min(zeros.capacity(), layout.fileLength - position));
                    position += channel.write(zeros, position);
                }
                mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, layout.fileLength);
            }
            final UnsafeBuffer header = new UnsafeBuffer(mapped);
            layout.writeHeader(header, ProcessHandle.current().pid(), timeouts);
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            final Object key = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                .fileKey();
            final Mapping mapping = new Mapping(directory, layout, mapped, lock, key);
            created = true;
            return mapping;
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("could not create the " + layout.fileLength + "-byte Ferry "
                + "mapping in " + directory + " (" + ex + "); make room there or pick another directory with "
                + "Kernel.builder().directory(path) or -D" + BASE_PROPERTY + "=<dir>", ex);
        }
        finally
        {
            if (!created)
            {
                if (mapped != null)
                {
                    IoUtil.unmap(mapped);
                }
                try
                {
                    Files.deleteIfExists(temp);
                }
                catch (final IOException ignore)
                {
                    // The directory is then not empty, and left; the error thrown says what went wrong.
                }
                try
                {
                    lock.release(true);
                }
                catch (final UncheckedIOException ignore)
                {
                    // The lock is released whatever; the error thrown says what went wrong first.
                }
            }
        }
    }

    /**
     * Opens the mapping of the kernel whose directory is {@code directory}, checked as {@link Mapping} says.
     *
     * @throws IllegalStateException saying what to do when there is no kernel, a path is another user's, a link or
     *                               too open, or the file is not a whole Ferry mapping.
     */
    static Mapping open(final Path directory)
    {
        final Path file = directory.resolve(IpcLayout.FILE_NAME);
        try
        {
            final Path absolute = directory.toAbsolutePath().normalize();
            final Path userDirectory = userDirectory().toAbsolutePath().normalize();
            if (userDirectory.equals(absolute.getParent()))
            {
                PathChecks.check(userDirectory, true);
            }
            PathChecks.check(absolute, true);
            PathChecks.check(file, false);
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS))
            {
                final long size = channel.size();
                if (size < IpcLayout.HEADER_BYTES || size > IpcLayout.MAX_FILE_LENGTH)
                {
                    throw new IllegalStateException(file + " has " + size + " bytes, which no Ferry mapping has; "
                        + "remove it and restart the kernel");
                }
                final MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, size);
                final UnsafeBuffer view = new UnsafeBuffer(mapped);
                final IpcLayout layout;
                try
                {
                    layout = IpcLayout.read(view, size);
                }
                catch (final RuntimeException ex)
                {
                    IoUtil.unmap(mapped);
                    throw new IllegalStateException(file + ": " + ex.getMessage(), ex);
                }
                return new Mapping(directory, layout, mapped, null, null);
            }
        }
        catch (final NoSuchFileException ex)
        {
            throw new IllegalStateException("no Ferry kernel at " + directory + " (" + ex.getFile() + " does not "
                + "exist); start the kernel first (Kernel.builder()...start()), with the same name or directory",
                ex);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot map " + file + ": " + ex, ex);
        }
    }

    /**
     * The kernel's clean end: removes its own file (not one that replaced it), then the lock file and, if then empty,
     * the directory, and releases the lock. Does nothing in a view made by {@link #open}.
     */
    void delete()
    {
        if (lock == null || lock.released())
        {
            return;
        }
        try
        {
            final BasicFileAttributes attributes = PathChecks.attributesOrNull(file);
            if (attributes != null && Objects.equals(attributes.fileKey(), fileKey))
            {
                Files.delete(file);
            }
        }
        catch (final IOException ex)
        {
            lock.release(false);
            throw new UncheckedIOException("could not remove " + file + ": " + ex, ex);
        }
        lock.release(true);
    }

    /** Unmaps the file and, in a kernel that did not {@link #delete()} it, releases the lock and leaves the file. */
    @Override
    public synchronized void close()
    {
        if (!closed && --users == 0)
        {
            closed = true;
            if (file != null)
            {
                IoUtil.unmap((MappedByteBuffer)mapped);
            }
            if (lock != null)
            {
                lock.release(false);
            }
        }
    }
}
