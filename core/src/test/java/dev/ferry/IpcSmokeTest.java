package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The IPC roles in one JVM, through the mapping: calls, back-pressure, handler failures, missing servers, the file's
 * permissions and its removal at close.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
final class IpcSmokeTest
{
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void callsRoundTripInOrderAndTheFileGoesAway(final Mode mode) throws Exception
    {
        final Path dir = tmp.resolve("ferry-smoke");
        final Kernel kernel = Kernel.builder().directory(dir).mode(mode).services(2).maxInFlight(16)
            .slotBytes(64).build().start();
        try
        {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve(IpcLayout.FILE_NAME))));
            try (Server server = Server.builder().directory(dir).service(0, (msg, len) ->
            {
                msg.putInt(0, msg.getInt(0) + 1);
                return len;
            }).start())
            {
                final LaneClient client = Lanes.attach(dir, new org.agrona.concurrent.BackoffIdleStrategy());
                final UnsafeBuffer req = new UnsafeBuffer(new byte[8]);
                final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
                for (int i = 0; i < 100; i++)
                {
                    req.putInt(0, i);
                    assertEquals(8, client.call(0, req, 0, 8, rep, 0));
                    assertEquals(i + 1, rep.getInt(0));
                }
                final List<Long> ids = new ArrayList<>();
                final List<Integer> values = new ArrayList<>();
                int submitted = 0;
                while (true)
                {
                    req.putInt(0, submitted);
                    if (client.submit(0, req, 0, 4) == LaneClient.BACK_PRESSURE)
                    {
                        break;
                    }
                    submitted++;
                }
                assertEquals(16, submitted);
                while (client.inFlight() > 0)
                {
                    client.await(c ->
                    {
                        assertEquals(Status.OK, c.status());
                        ids.add(c.id());
                        values.add(c.buffer().getInt(0));
                    }, 100);
                }
                for (int i = 0; i < 16; i++)
                {
                    assertEquals(100 + i, ids.get(i));
                    assertEquals(i + 1, values.get(i));
                }
                final CallFailedException noServer = assertThrows(CallFailedException.class,
                    () -> client.call(1, req, 0, 4, rep, 0));
                assertTrue(noServer.getCause().getMessage().contains("service 1 has no server attached"),
                    noServer.getCause().getMessage());
                client.close();
            }
        }
        finally
        {
            kernel.close();
        }
        assertFalse(Files.exists(dir), "the kernel's directory is left behind");
    }

    @Test
    void handlerFailureBecomesAFailedCompletionWithItsText() throws Exception
    {
        final Path dir = tmp.resolve("ferry-fail");
        try (Kernel kernel = Kernel.builder().directory(dir).build().start();
             Server server = Server.builder().directory(dir).service(0, (msg, len) ->
             {
                 throw new IllegalStateException("boom " + len);
             }).start())
        {
            final LaneClient client = Lanes.attach(dir, new org.agrona.concurrent.BackoffIdleStrategy());
            final CallFailedException ex = assertThrows(CallFailedException.class,
                () -> client.call(0, new UnsafeBuffer(new byte[3]), 0, 3, new UnsafeBuffer(new byte[8]), 0));
            assertEquals(Status.FAILED, ex.status());
            assertTrue(ex.getCause().getMessage().contains("IllegalStateException: boom 3"), ex.getMessage());
            client.close();
            assertEquals(1, server.served());
        }
    }

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void aHandlerThatReWrapsItsBufferFailsOnlyItsOwnCall(final Mode mode) throws Exception
    {
        final Path dir = tmp.resolve("ferry-rewrap");
        try (Kernel kernel = Kernel.builder().directory(dir).mode(mode).slotBytes(64).build().start();
             Server server = Server.builder().directory(dir).service(0, (msg, len) ->
             {
                 if (msg.getByte(0) == 1)
                 {
                     // Points the server's buffer at 4 bytes of its own and claims a 16-byte reply from them.
                     ((UnsafeBuffer)msg).wrap(new byte[4]);
                     return 16;
                 }
                 return len;
             }).start())
        {
            final LaneClient client = Lanes.attach(dir, new org.agrona.concurrent.BackoffIdleStrategy());
            final UnsafeBuffer req = new UnsafeBuffer(new byte[48]);
            final UnsafeBuffer rep = new UnsafeBuffer(new byte[64]);
            req.setMemory(0, 48, (byte)1);
            final CallFailedException ex = assertThrows(CallFailedException.class,
                () -> client.call(0, req, 0, 48, rep, 0));
            assertTrue(ex.getCause().getMessage().contains("re-wrapped its buffer"), ex.getMessage());
            // The next call gets the server's own 64-byte buffer back, whole.
            for (int i = 0; i < 48; i++)
            {
                req.putByte(i, (byte)(i + 2));
            }
            assertEquals(48, client.call(0, req, 0, 48, rep, 0));
            for (int i = 0; i < 48; i++)
            {
                assertEquals((byte)(i + 2), rep.getByte(i), "byte " + i);
            }
            client.close();
        }
    }

    @Test
    void missingBaseDirectoryNamesTheSizeAndTheOption()
    {
        final IllegalStateException ex = assertThrows(IllegalStateException.class,
            () -> Kernel.builder().directory(tmp.resolve("no/such/base/ferry-x")).build());
        assertTrue(ex.getMessage().contains("needs ") && ex.getMessage().contains("bytes")
            && ex.getMessage().contains("directory(path)"), ex.getMessage());
    }

    @Test
    void secondKernelOnALiveMappingIsRefusedAndAttachWithoutKernelExplains() throws Exception
    {
        final Path dir = tmp.resolve("ferry-twice");
        final IllegalStateException none = assertThrows(IllegalStateException.class,
            () -> Lanes.attach(dir, new org.agrona.concurrent.BackoffIdleStrategy()));
        assertTrue(none.getMessage().contains("start the kernel first"), none.getMessage());
        try (Kernel kernel = Kernel.builder().directory(dir).timeouts(Timeouts.of(Duration.ofMillis(500)))
            .build().start())
        {
            Thread.sleep(50);
            final IllegalStateException ex = assertThrows(IllegalStateException.class,
                () -> Kernel.builder().directory(dir).build());
            assertTrue(ex.getMessage().contains("already running"), ex.getMessage());
        }
    }
}
