package dev.ferry;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The checks that keep a Ferry mapping this user's alone: no path Ferry opens may be a symbolic link, another user's,
 * or open to group or others (a directory they may write, a file they may read or write). Each refusal says what is
 * wrong and what to do.
 *
 * <p>Stateless; thread-safe.
 */
final class PathChecks
{
    /** This process's user. */
    static final User USER = User.probe();
    private static final String FIX = "remove it, or pick another kernel name or directory";
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY_DIRECTORY =
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY_FILE =
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    private static final Set<PosixFilePermission> WRITABLE_BY_OTHERS =
        Set.of(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE);
    private static final Set<PosixFilePermission> ACCESSIBLE_BY_OTHERS = Set.of(PosixFilePermission.GROUP_READ,
        PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE);

    private PathChecks()
    {
    }

    static void makeDirectory(final Path directory) throws IOException
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
        if (uid != USER.uid())
        {
            throw new IllegalStateException(path + " is owned by uid " + uid + " (" + attributes.owner().getName()
                + "), not by " + USER.name() + " (uid " + USER.uid() + "): another user created it; " + FIX);
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

    static BasicFileAttributes attributesOrNull(final Path path) throws IOException
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
    record User(long uid, String name)
    {
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
}
