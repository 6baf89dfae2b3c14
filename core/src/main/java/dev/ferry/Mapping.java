package dev.ferry;

import org.agrona.BufferUtil;
import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
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
    private static final String FIX = "remove it, or pick another kernel name or directory";
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY_DIRECTORY =
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY_FILE =
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final Set<PosixFilePermission> WRITABLE_BY_OTHERS =
        Set.of(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);
    private static final Set<PosixFilePermission> ACCESSIBLE_BY_OTHERS = Set.of(PosixFilePermission.GROUP_READ,
        PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);

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
        final String user = User.SELF.name.replaceAll("[^A-Za-z0-9._-]", "_");
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
                    makeDirectory(parent);
                }
                makeDirectory(absolute);
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
                StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS), OWNER_ONLY_FILE))
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
                check(userDirectory, true);
            }
            check(absolute, true);
            check(file, false);
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
            final BasicFileAttributes attributes = attributesOrNull(file);
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

    private static void makeDirectory(final Path directory) throws IOException
    {
        try
        {
            Files.createDirectory(directory, OWNER_ONLY_DIRECTORY);
        }
        catch (final FileAlreadyExistsException ignore)
        {
            // Checked below like one made now.
        }
        check(directory, true);
    }

    /** Refuses a path that is a link, of the wrong type, another user's, or open to group or others. */
    static void check(final Path path, final boolean directory) throws IOException
    {
        final PosixFileAttributes attributes =
            Files.readAttributes(path, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (attributes.isSymbolicLink())
        {
            throw new IllegalStateException(path + " is a symbolic link (to " + Files.readSymbolicLink(path)
                + ") and Ferry follows none in its IPC paths (whoever made it chooses what it points to); " + FIX);
        }
        if (directory ? !attributes.isDirectory() : !attributes.isRegularFile())
        {
            throw new IllegalStateException(path + " is not a " + (directory ? "directory" : "regular file")
                + "; " + FIX);
        }
        final long uid = ((Number)Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS)).longValue();
        if (uid != User.SELF.uid)
        {
            throw new IllegalStateException(path + " is owned by uid " + uid + " (" + attributes.owner().getName()
                + "), not by " + User.SELF.name + " (uid " + User.SELF.uid + "): another user created it; " + FIX);
        }
        final Set<PosixFilePermission> permissions = attributes.permissions();
        final Set<PosixFilePermission> refused = directory ? WRITABLE_BY_OTHERS : ACCESSIBLE_BY_OTHERS;
        if (permissions.stream().anyMatch(refused::contains))
        {
            throw new IllegalStateException(path + " has mode " + PosixFilePermissions.toString(permissions) + ": "
                + (directory ? "its group or others may write in it" : "its group or others may read or write it")
                + ", and Ferry shares its IPC with no other user; remove it (or chmod " + (directory ? "700" : "600")
                + " it), or pick another kernel name or directory");
        }
    }

    private static BasicFileAttributes attributesOrNull(final Path path) throws IOException
    {
        try
        {
            return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        }
        catch (final NoSuchFileException ex)
        {
            return null;
        }
    }

    /**
     * This process's user, as the owner of a file it creates (what {@code user.name} says may be overridden, or "?"
     * in a container without a password entry for the uid).
     *
     * <p>Immutable; thread-safe.
     */
    private record User(long uid, String name)
    {
        static final User SELF = probe();

        private static User probe()
        {
            try
            {
                final Path probe = Files.createTempFile("ferry-owner", ".probe");
                try
                {
                    return of(probe);
                }
                finally
                {
                    Files.deleteIfExists(probe);
                }
            }
            catch (final IOException | UnsupportedOperationException ex)
            {
                try
                {
                    // No writable temporary directory: /proc/self belongs to this process's effective user.
                    return of(Path.of("/proc/self"));
                }
                catch (final IOException | UnsupportedOperationException again)
                {
                    again.addSuppressed(ex);
                    throw new IllegalStateException("cannot tell which user this process runs as (" + again
                        + "); Ferry needs a POSIX file system and a writable java.io.tmpdir", again);
                }
            }
        }

        private static User of(final Path path) throws IOException
        {
            return new User(((Number)Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS)).longValue(),
                Files.getOwner(path, LinkOption.NOFOLLOW_LINKS).getName());
        }
    }

    /**
     * A kernel's exclusive lock on {@value #LOCK_FILE_NAME} in its directory: a POSIX record lock, released by the
     * system when the process dies, so a dead kernel's name is free at once. The file holds the holder's pid, then,
     * once a closing kernel has unlinked it, a tombstone: a starter that opened it just before and locks it just after
     * sees the tombstone and starts again with the file now at the path.
     *
     * <p>Thread-safe: acquisition and release within one process are serialised, and a lock this process holds is
     * never opened a second time (closing that descriptor would drop the lock).
     */
    private static final class KernelLock
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
            final Path path = directory.resolve(LOCK_FILE_NAME);
            synchronized (HELD)
            {
                BasicFileAttributes attributes = attributesOrNull(path);
                if (attributes != null)
                {
                    check(path, false);
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
                    channel = FileChannel.open(path, options, OWNER_ONLY_FILE);
                }
                catch (final NoSuchFileException ex)
                {
                    return null;
                }
                boolean keep = false;
                try
                {
                    check(path, false);
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
                    attributes = attributesOrNull(path);
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
}
