package dev.ferry;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Where the mapping lives and who may touch it: the per-user default directory, owner, mode and link checks on
 * create and open, one live kernel per directory (in one JVM and across JVMs), a dead kernel's name free at once, a
 * kernel's close removing only its own file, a full tmpfs, and a file truncated under a live mapping.
 *
 * <p>Another user is stood for by {@code nobody}: as root the test gives it files with {@link Files#setOwner}; the
 * tests that need that are skipped when not root.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
final class IpcMappingTest
{
    private static final Path JDK_25 = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");

    @TempDir
    Path tmp;

    private String savedBase;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void useTemporaryBase()
    {
        savedBase = System.getProperty(Mapping.BASE_PROPERTY);
        System.setProperty(Mapping.BASE_PROPERTY, tmp.toString());
    }

    @AfterEach
    void restoreBaseAndClose() throws Exception
    {
        if (savedBase == null)
        {
            System.clearProperty(Mapping.BASE_PROPERTY);
        }
        else
        {
            System.setProperty(Mapping.BASE_PROPERTY, savedBase);
        }
        for (int i = toClose.size() - 1; i >= 0; i--)
        {
            toClose.get(i).close();
        }
    }

    private static IpcLayout smallLayout()
    {
        return IpcLayout.of(IpcLayout.MODE_DIRECT, 1, 1, 0, 1, 1024);
    }

    private Mapping create(final Path dir)
    {
        final Mapping mapping = Mapping.create(dir, smallLayout(), Timeouts.DEFAULTS);
        toClose.add(mapping);
        return mapping;
    }

    private ChildProcess child(final Path log, final String... args) throws IOException
    {
        final ChildProcess child = new ChildProcess(log, args);
        toClose.add(child);
        return child;
    }

    private static void assumeRoot() throws IOException
    {
        assumeTrue(((Number)Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue() == 0,
            "needs root, to give files to another user");
    }

    private static void giveToNobody(final Path... paths) throws IOException
    {
        final UserPrincipal nobody =
            paths[0].getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
        for (final Path path : paths)
        {
            Files.setOwner(path, nobody);
        }
    }

    private static void assertRefused(final String expected, final Runnable action)
    {
        final IllegalStateException ex = assertThrows(IllegalStateException.class, action::run);
        assertTrue(ex.getMessage().contains(expected), ex.getMessage());
    }

    private static String[] list(final Path dir) throws IOException
    {
        try (Stream<Path> files = Files.list(dir))
        {
            return files.map(p -> p.getFileName().toString()).sorted().toArray(String[]::new);
        }
    }

    @Test
    void namedKernelLivesInAPerUserDirectoryOfItsOwnerOnly() throws Exception
    {
        final Path userDir = Mapping.userDirectory();
        assertEquals(tmp, userDir.getParent());
        assertTrue(userDir.getFileName().toString().startsWith("ferry-"), userDir.toString());
        assertEquals(userDir.resolve("demo"), Mapping.defaultDirectory("demo"));
        assertThrows(IllegalArgumentException.class, () -> Mapping.defaultDirectory("../etc"));
        try (Kernel kernel = Kernel.builder().name("demo").build().start())
        {
            final Path dir = userDir.resolve("demo");
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(userDir)));
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve(IpcLayout.FILE_NAME))));
            assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve(Mapping.LOCK_FILE_NAME))));
            try (Server server = Server.builder().name("demo").service(0, (msg, len) -> len).start();
                 LaneClient client = Lanes.attach("demo"))
            {
                assertEquals(1, kernel.attachedClients());
                assertTrue(server.toString().contains(dir.toString()), server.toString());
                assertTrue(client.toString().contains(dir.toString()), client.toString());
            }
        }
        assertFalse(Files.exists(userDir.resolve("demo")), "the kernel's directory is left behind");
        assertTrue(Files.isDirectory(userDir), "the per-user directory stays, as Aeron's does");
    }

    @Test
    void anotherUsersPerUserDirectoryIsRefusedOnCreateAndOpen() throws Exception
    {
        assumeRoot();
        // Another user made this user's directory first (a squatter): nothing may go in it.
        final Path userDir = Mapping.userDirectory();
        Files.createDirectory(userDir);
        giveToNobody(userDir);
        assertRefused("is owned by uid 65534 (nobody)", () -> Kernel.builder().name("sq").build());
        assertEquals(0, list(userDir).length, "nothing was made in another user's directory");
        // A kernel of the other user in it, made here and given away.
        Files.setOwner(userDir, Files.getOwner(tmp));
        final Mapping theirs = create(userDir.resolve("sq"));
        giveToNobody(userDir, theirs.directory, theirs.file);
        assertRefused("is owned by uid 65534 (nobody)",
            () -> Server.builder().name("sq").service(0, (msg, len) -> len).start());
        assertRefused("is owned by uid 65534 (nobody)", () -> Lanes.attach("sq"));
    }

    @Test
    void anotherUsersKernelDirectoryOrFileIsRefusedOnCreateAndOpen() throws Exception
    {
        assumeRoot();
        // The case: a kernel of another user under the name a server of this user asks for.
        final Path dir = tmp.resolve("sq");
        final Mapping theirs = create(dir);
        giveToNobody(dir, theirs.file);
        final String expected = dir + " is owned by uid 65534 (nobody), not by ";
        assertRefused(expected, () -> Server.builder().directory(dir).service(0, (msg, len) -> len).start());
        assertRefused(expected, () -> Lanes.attach(dir, new BackoffIdleStrategy()));
        assertRefused(expected, () -> Mapping.create(dir, smallLayout(), Timeouts.DEFAULTS));
        // Only the file is theirs.
        Files.setOwner(dir, Files.getOwner(tmp));
        assertRefused(theirs.file + " is owned by uid 65534 (nobody)", () -> Mapping.open(dir));
        // Another user's kernel in its own per-user directory is not found under this user's names.
        final Path nobodys = tmp.resolve("ferry-nobody").resolve("sq");
        Files.createDirectories(nobodys);
        Files.copy(theirs.file, nobodys.resolve(IpcLayout.FILE_NAME));
        giveToNobody(nobodys.getParent(), nobodys, nobodys.resolve(IpcLayout.FILE_NAME));
        assertRefused("no Ferry kernel at", () -> Lanes.attach("sq"));
    }

    @Test
    void symbolicLinksAreNotFollowed() throws Exception
    {
        final Path real = tmp.resolve("real");
        final Mapping mapping = create(real);
        // The kernel directory a link.
        final Path linkedDir = tmp.resolve("linked");
        Files.createSymbolicLink(linkedDir, real);
        assertRefused(linkedDir + " is a symbolic link", () -> Mapping.open(linkedDir));
        assertRefused(linkedDir + " is a symbolic link",
            () -> Mapping.create(linkedDir, smallLayout(), Timeouts.DEFAULTS));
        // The file a link.
        final Path dir = tmp.resolve("dir-with-linked-file");
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.createSymbolicLink(dir.resolve(IpcLayout.FILE_NAME), mapping.file);
        assertRefused(dir.resolve(IpcLayout.FILE_NAME) + " is a symbolic link", () -> Mapping.open(dir));
        // The per-user directory a link.
        final Path userDir = Mapping.userDirectory();
        Files.createSymbolicLink(userDir, tmp.resolve("elsewhere"));
        Files.createDirectory(tmp.resolve("elsewhere"));
        assertRefused(userDir + " is a symbolic link", () -> Kernel.builder().name("x").build());
        assertRefused(userDir + " is a symbolic link", () -> Lanes.attach("x"));
        // The lock file a link, e.g. to a file the kernel's user may write: not followed, not truncated.
        final Path victim = tmp.resolve("victim");
        Files.writeString(victim, "precious");
        final Path lockLinked = tmp.resolve("lock-linked");
        Files.createDirectory(lockLinked,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.createSymbolicLink(lockLinked.resolve(Mapping.LOCK_FILE_NAME), victim);
        assertRefused("is a symbolic link", () -> Mapping.create(lockLinked, smallLayout(), Timeouts.DEFAULTS));
        assertEquals("precious", Files.readString(victim));
    }

    @Test
    void aDirectoryOrFileOpenToGroupOrOthersIsRefused() throws Exception
    {
        final Path dir = tmp.resolve("open");
        final Mapping mapping = create(dir);
        Files.setPosixFilePermissions(mapping.file, PosixFilePermissions.fromString("rw-r--r--"));
        assertRefused(mapping.file + " has mode rw-r--r--", () -> Mapping.open(dir));
        Files.setPosixFilePermissions(mapping.file, PosixFilePermissions.fromString("rw-rw----"));
        assertRefused("has mode rw-rw----", () -> Mapping.open(dir));
        Files.setPosixFilePermissions(mapping.file, PosixFilePermissions.fromString("rw-------"));
        Mapping.open(dir).close();
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertRefused(dir + " has mode rwxrwxrwx", () -> Mapping.open(dir));
        final Path shared = tmp.resolve("shared");
        Files.createDirectory(shared);
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwx---"));
        assertRefused(shared + " has mode rwxrwx---",
            () -> Mapping.create(shared, smallLayout(), Timeouts.DEFAULTS));
    }

    @Test
    void aSecondKernelOfOneDirectoryIsRefusedInOneJvmAndTheLockSurvivesTheRefusal() throws Exception
    {
        final Path dir = tmp.resolve("twice");
        final Mapping first = create(dir);
        final byte[] before = Files.readAllBytes(first.file);
        final long pid = ProcessHandle.current().pid();
        assertRefused("a live kernel (pid " + pid + ", this process) holds " + dir,
            () -> Mapping.create(dir, smallLayout(), Timeouts.DEFAULTS));
        assertRefused("(pid " + pid, () -> Kernel.builder().directory(dir).build());
        assertTrue(Arrays.equals(before, Files.readAllBytes(first.file)), "the live kernel's file changed");
        // A refusal that opened and closed the lock file in this process would have dropped the lock (POSIX record
        // locks): another process must still be refused, and by the lock alone.
        final Process other = mappingChild(dir);
        final String output = firstLine(other);
        assertTrue(output.startsWith("REFUSED a live kernel (pid " + pid + ") holds " + dir), output);
        assertTrue(other.waitFor(60, TimeUnit.SECONDS), "the second kernel did not give up");
        assertEquals(2, other.exitValue(), output);
        assertTrue(Arrays.equals(before, Files.readAllBytes(first.file)), "the live kernel's file changed");
    }

    @Test
    void aKernelHereHoldsItsDirectoryAgainstOneInAnotherJvmAndFreesItOnDelete() throws Exception
    {
        final Path dir = tmp.resolve("here-and-there");
        final Mapping here = create(dir);
        final String refused = firstLine(mappingChild(dir));
        assertTrue(refused.startsWith("REFUSED a live kernel (pid " + ProcessHandle.current().pid() + ")"), refused);
        here.delete();
        here.close();
        assertFalse(Files.exists(dir), "the kernel's directory is left behind");
        final Process there = mappingChild(dir);
        assertEquals("CREATED", firstLine(there));
        assertRefused("a live kernel (pid " + there.pid() + ") holds " + dir,
            () -> Mapping.create(dir, smallLayout(), Timeouts.DEFAULTS));
        there.getOutputStream().write('\n');
        there.getOutputStream().flush();
        assertTrue(there.waitFor(30, TimeUnit.SECONDS) && there.exitValue() == 0, "the child did not end");
        assertFalse(Files.exists(dir), "the kernel's directory is left behind");
    }

    /** The child's first line of output, within 60 s (else the test fails rather than hangs). */
    private static String firstLine(final Process process) throws Exception
    {
        final CompletableFuture<String> line = CompletableFuture.supplyAsync(() ->
        {
            try
            {
                return new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))
                    .readLine();
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        });
        try
        {
            return String.valueOf(line.get(60, TimeUnit.SECONDS));
        }
        catch (final TimeoutException ex)
        {
            throw new AssertionError("no output from the child within 60 s; alive=" + process.isAlive(), ex);
        }
    }

    private Process mappingChild(final Path dir) throws IOException
    {
        final Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx64m", "-XX:+UseSerialGC",
            "-cp", System.getProperty("java.class.path"), IpcMappingChild.class.getName(), dir.toString())
            .redirectError(tmp.resolve("mapping-child-" + System.nanoTime() + ".log").toFile()).start();
        toClose.add(process::destroyForcibly);
        return process;
    }

    @Test
    void aKernelInAnotherJvmHoldsItsDirectoryAndItsNameIsFreeOnceItIsKilled() throws Exception
    {
        final Path dir = tmp.resolve("child-kernel");
        final ChildProcess kernel = child(tmp.resolve("kernel.log"), "kernel", dir.toString(), Mode.DIRECT.name(), "1",
            "1000");
        kernel.await("READY", 60);
        assertRefused("a live kernel (pid " + kernel.pid() + ") holds " + dir,
            () -> Mapping.create(dir, smallLayout(), Timeouts.DEFAULTS));
        assertRefused("already running", () -> Kernel.builder().directory(dir).build());
        kernel.kill9();
        // At once: no heartbeat timeout to wait for, the lock died with the process.
        try (Kernel next = Kernel.builder().directory(dir).build().start();
             Server server = Server.builder().directory(dir).service(0, (msg, len) -> len).start();
             LaneClient client = Lanes.attach(dir, new BackoffIdleStrategy()))
        {
            assertTrue(next.isRunning() && server.generation() >= 1);
            assertEquals(1, next.attachedClients());
        }
        assertFalse(Files.exists(dir), "the kernel's directory is left behind");
    }

    @Test
    void closeRemovesOnlyTheKernelsOwnFile() throws Exception
    {
        final Path dir = tmp.resolve("own");
        final Kernel kernel = Kernel.builder().directory(dir).build().start();
        // Something replaced the kernel's file behind its back (a same-user process, by hand).
        final Path other = tmp.resolve("other");
        Files.writeString(other, "not yours");
        Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rw-------"));
        Files.move(other, dir.resolve(IpcLayout.FILE_NAME), StandardCopyOption.REPLACE_EXISTING);
        kernel.close();
        assertEquals("not yours", Files.readString(dir.resolve(IpcLayout.FILE_NAME)));
        assertFalse(Files.exists(dir.resolve(Mapping.LOCK_FILE_NAME)), "the lock file is left behind");
        // And its lock is released: a new kernel may start there, replacing the file.
        try (Kernel next = Kernel.builder().directory(dir).build().start())
        {
            assertTrue(next.isRunning());
        }
        assertFalse(Files.exists(dir), "the kernel's directory is left behind");
    }

    @Test
    void aFullTmpfsGivesAClearErrorAndLeavesNothing() throws Exception
    {
        assumeRoot();
        final Path tiny = tmp.resolve("tiny");
        Files.createDirectory(tiny);
        assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=256k,mode=700", "tmpfs", tiny.toString()),
            "cannot mount a tmpfs here");
        try
        {
            // Too big for the space there: refused before anything is written.
            final IpcLayout big = IpcLayout.of(IpcLayout.MODE_DIRECT, 16, 4, 256, 64, 0);
            assertTrue(big.fileLength > 256 * 1024);
            final IllegalStateException early = assertThrows(IllegalStateException.class,
                () -> Mapping.create(tiny.resolve("k"), big, Timeouts.DEFAULTS));
            assertTrue(early.getMessage().contains("bytes free but the Ferry mapping needs " + big.fileLength),
                early.getMessage());
            assertEquals(0, list(tiny).length, "left behind: " + String.join(", ", list(tiny)));

            // Room for the file by the free-space count, but not for the file and the lock file's page: the zeros
            // written first fail (an IOException, not a SIGBUS later).
            final IpcLayout small = smallLayout();
            final long pages = (small.fileLength + 4095) / 4096;
            final long fill = Files.getFileStore(tiny).getUsableSpace() - pages * 4096;
            try (FileChannel filler = FileChannel.open(tiny.resolve("filler"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE))
            {
                filler.write(ByteBuffer.allocate((int)fill));
            }
            assertEquals(pages * 4096, Files.getFileStore(tiny).getUsableSpace());
            final IllegalStateException late = assertThrows(IllegalStateException.class,
                () -> Mapping.create(tiny.resolve("k"), small, Timeouts.DEFAULTS));
            assertTrue(late.getMessage().contains("No space left on device")
                && late.getMessage().contains("make room there"), late.getMessage());
            assertEquals(List.of("filler"), List.of(list(tiny)), "left behind");

            // Nothing held either: with room again, a kernel starts there.
            Files.delete(tiny.resolve("filler"));
            try (Kernel kernel = Kernel.builder().directory(tiny.resolve("k")).maxClients(1)
                .slotBytes(0).maxInFlight(1).laneBytes(1024).build().start())
            {
                assertTrue(kernel.isRunning());
            }
            assertEquals(0, list(tiny).length, "left behind: " + String.join(", ", list(tiny)));
        }
        finally
        {
            // Lazily if busy (a mapping left by a failure above): the mount must not outlive the test.
            assertTrue(run("umount", tiny.toString()) || run("umount", "-l", tiny.toString()), "umount " + tiny);
        }
    }

    private static boolean run(final String... command) throws Exception
    {
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try
        {
            process.getInputStream().readAllBytes();
            return process.waitFor(30, TimeUnit.SECONDS) && process.exitValue() == 0;
        }
        finally
        {
            process.destroyForcibly();
        }
    }

    @Test
    void aFileShorterThanItsHeaderSaysIsRefused() throws Exception
    {
        final Path dir = tmp.resolve("short");
        final Mapping mapping = create(dir);
        try (FileChannel channel = FileChannel.open(mapping.file, StandardOpenOption.WRITE,
            LinkOption.NOFOLLOW_LINKS))
        {
            channel.truncate(mapping.layout.fileLength - 4096);
        }
        assertRefused("the mapping is corrupt or truncated", () -> Mapping.open(dir));
    }

    /**
     * The experiment behind the fault model's "file truncated under a live mapping": a child JVM (so that a crash
     * would be seen as one) touches pages of its mapping that the truncation took away, through Agrona's
     * UnsafeBuffer and through the MappedByteBuffer. HotSpot turns the SIGBUS into a java.lang.InternalError on this
     * JDK and on JDK 25 when it is installed, and the JVM goes on.
     */
    @Test
    void aTruncatedFileUnderALiveMappingIsAnInternalErrorNotACrash() throws Exception
    {
        final List<Path> javas = new ArrayList<>();
        javas.add(Path.of(System.getProperty("java.home"), "bin", "java"));
        if (Files.isExecutable(JDK_25))
        {
            javas.add(JDK_25);
        }
        for (final Path java : javas)
        {
            for (final String mode : List.of("-Xint", "-Xmixed"))
            {
                final Path dir = Files.createTempDirectory(tmp, "probe");
                final Process probe = new ProcessBuilder(java.toString(), mode,
                    "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-XX:ErrorFile=" + dir + "/hs_err.log",
                    "-cp", System.getProperty("java.class.path"), MappingFaultProbe.class.getName(), dir.toString())
                    .redirectErrorStream(true).start();
                try
                {
                    final String output = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                    assertTrue(probe.waitFor(60, TimeUnit.SECONDS), java + " " + mode + ": still running");
                    final String what = java + " " + mode + " (exit " + probe.exitValue() + "):\n" + output;
                    assertEquals(0, probe.exitValue(), what);
                    assertFalse(Files.exists(dir.resolve("hs_err.log")), what);
                    for (final String access : List.of("getLong", "putLong", "getLongVolatile", "sum-loop",
                        "ByteBuffer-getLong"))
                    {
                        final String caught = "CAUGHT " + access + " java.lang.InternalError: a fault occurred in";
                        assertTrue(output.contains(caught), what);
                    }
                    assertTrue(output.contains("OK first-half-getLong") && output.contains("OK after-faults-first-half")
                        && output.contains("OK replaced-getLong-old-mapping 7") && output.contains("DONE"), what);
                }
                finally
                {
                    probe.destroyForcibly();
                }
            }
        }
    }
}
