package dev.ferry;

import java.nio.file.Path;

/**
 * A child process for {@link IpcMappingTest} that creates a kernel's mapping in the directory given, without the
 * kernel's heartbeat check in front (so only the lock can refuse it): prints {@code CREATED} and holds the mapping
 * until a line arrives on standard input (then deletes it and prints {@code DELETED}), or prints
 * {@code REFUSED <message>} and exits with status 2.
 *
 * <p>Not thread-safe; one run per process.
 */
public final class IpcMappingChild
{
    private IpcMappingChild()
    {
    }

    /**
     * @param args the kernel's directory.
     * @throws Exception on an unexpected failure.
     */
    public static void main(final String[] args) throws Exception
    {
        final Mapping mapping;
        try
        {
            mapping = Mapping.create(Path.of(args[0]), IpcLayout.of(IpcLayout.MODE_DIRECT, 1, 1, 0, 1, 1024),
                Timeouts.DEFAULTS);
        }
        catch (final IllegalStateException ex)
        {
            System.out.println("REFUSED " + ex.getMessage());
            System.exit(2);
            return;
        }
        System.out.println("CREATED");
        System.out.flush();
        System.in.read();
        mapping.delete();
        mapping.close();
        System.out.println("DELETED");
    }
}
