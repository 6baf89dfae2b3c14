package dev.ferry.ipc;

import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.regex.Pattern;

/**
 * One process's view of a Ferry IPC mapping: the file {@value IpcLayout#FILE_NAME} in a directory (by default
 * {@code /dev/shm/ferry-<name>}), created readable and writable by its owner only, mapped whole.
 *
 * <p>Threading: the buffer may be used from any thread; {@link #close()} must come after every thread that uses it
 * has stopped.
 */
final class IpcMapping implements AutoCloseable
{
    /** The system property that overrides the base directory of named mappings ({@code /dev/shm} by default). */
    static final String BASE_PROPERTY = "ferry.ipc.dir";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,100}");

    final Path directory;
    final Path file;
    final IpcLayout layout;
    final UnsafeBuffer buffer;
    private final MappedByteBuffer mapped;
    private boolean closed;

    private IpcMapping(final Path directory, final IpcLayout layout, final MappedByteBuffer mapped)
    {
        this.directory = directory;
        this.file = directory.resolve(IpcLayout.FILE_NAME);
        this.layout = layout;
        this.mapped = mapped;
        this.buffer = new UnsafeBuffer(mapped);
    }

    /**
     * @param name a kernel's name.
     * @return its default directory: {@code <base>/ferry-<name>}, the base being {@code /dev/shm} unless the system
     * property {@value #BASE_PROPERTY} says otherwise.
     */
    static Path defaultDirectory(final String name)
    {
        if (name == null || !NAME.matcher(name).matches())
        {
            throw new IllegalArgumentException("kernel name '" + name
                + "' must be 1-100 characters of A-Z, a-z, 0-9, '.', '_' or '-'");
        }
        return Path.of(System.getProperty(BASE_PROPERTY, "/dev/shm")).resolve("ferry-" + name);
    }

    static IpcMapping create(final Path directory, final IpcLayout layout, final IpcTimeouts timeouts)
    {
        final Path base = directory.toAbsolutePath().getParent();
        if (base == null || !Files.isDirectory(base))
        {
            throw new IllegalStateException("cannot create the Ferry IPC directory " + directory + ": " + base
                + " does not exist" + ("/dev/shm".equals(String.valueOf(base)) ? " (this system has no /dev/shm)" : "")
                + ". The mapping needs " + layout.fileLength + " bytes of (preferably tmpfs) space; pick another "
                + "directory with IpcKernel.builder().directory(path) or -D" + BASE_PROPERTY + "=<dir>");
        }
        try
        {
            final long usable = Files.getFileStore(base).getUsableSpace();
            if (usable < layout.fileLength)
            {
                throw new IllegalStateException(base + " has " + usable + " bytes free but the Ferry IPC mapping "
                    + "needs " + layout.fileLength + " bytes; free space there, lower maxClients, services, slotBytes"
                    + " or maxInFlight, or pick another directory with IpcKernel.builder().directory(path) or -D"
                    + BASE_PROPERTY + "=<dir>");
            }
            try
            {
                Files.createDirectory(directory, PosixFilePermissions.asFileAttribute(
                    PosixFilePermissions.fromString("rwx------")));
            }
            catch (final FileAlreadyExistsException ex)
            {
                if (!Files.isDirectory(directory))
                {
                    throw new IllegalStateException(directory + " exists and is not a directory; remove it or pick "
                        + "another kernel name", ex);
                }
            }
            Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwx------"));
            final Path file = directory.resolve(IpcLayout.FILE_NAME);
            final Path temp = directory.resolve(IpcLayout.FILE_NAME + ".new");
            Files.deleteIfExists(temp);
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE))
            {
                Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
                // Write the zeros for real: on tmpfs this allocates the pages now, so a full /dev/shm fails here
                // with an IOException instead of a SIGBUS later.
                final ByteBuffer zeros = ByteBuffer.allocateDirect(1 << 16);
                long position = 0;
                while (position < layout.fileLength)
                {
                    zeros.clear().limit((int)Math.min(zeros.capacity(), layout.fileLength - position));
                    position += channel.write(zeros, position);
                }
                final MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, layout.fileLength);
                final IpcMapping mapping = new IpcMapping(directory, layout, mapped);
                layout.writeHeader(mapping.buffer, ProcessHandle.current().pid(), timeouts);
                Files.move(temp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                return mapping;
            }
            catch (final IOException ex)
            {
                Files.deleteIfExists(temp);
                throw new IllegalStateException("could not create the " + layout.fileLength + "-byte Ferry IPC "
                    + "mapping in " + directory + " (" + ex + "); make room there or pick another directory with "
                    + "IpcKernel.builder().directory(path) or -D" + BASE_PROPERTY + "=<dir>", ex);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot create the Ferry IPC directory " + directory + ": " + ex, ex);
        }
    }

    static IpcMapping open(final Path directory)
    {
        final Path file = directory.resolve(IpcLayout.FILE_NAME);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            final long size = channel.size();
            if (size < IpcLayout.HEADER_BYTES || size > IpcLayout.MAX_FILE_LENGTH)
            {
                throw new IllegalStateException(file + " has " + size + " bytes, which no Ferry IPC mapping has; "
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
            return new IpcMapping(directory, layout, mapped);
        }
        catch (final NoSuchFileException ex)
        {
            throw new IllegalStateException("no Ferry IPC kernel at " + directory + " (" + file + " does not exist); "
                + "start the kernel first (IpcKernel.builder()...start()), with the same name or directory", ex);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("cannot map " + file + ": " + ex, ex);
        }
    }

    /** Removes the file and, if then empty, the directory. */
    void delete()
    {
        try
        {
            Files.deleteIfExists(file);
            try
            {
                Files.deleteIfExists(directory);
            }
            catch (final java.nio.file.DirectoryNotEmptyException ignore)
            {
                // Something else lives there; leave the directory.
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("could not remove " + file + ": " + ex, ex);
        }
    }

    @Override
    public void close()
    {
        if (!closed)
        {
            closed = true;
            IoUtil.unmap(mapped);
        }
    }
}
