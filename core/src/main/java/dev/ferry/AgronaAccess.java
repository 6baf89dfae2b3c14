package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * Fails early, with the fix in the message, when the JVM was started without the export Agrona 2 needs. Every
 * entry point that builds or attaches to a Ferry kernel, in process or across processes, calls {@link #check()}.
 *
 * <p>Stateless apart from a cached success; thread-safe.
 */
final class AgronaAccess
{
    /** The JVM flag Ferry needs. */
    static final String FLAG = "--add-exports java.base/jdk.internal.misc=ALL-UNNAMED";

    private static volatile boolean checked;

    private AgronaAccess()
    {
    }

    /**
     * Checks that Agrona's unsafe buffers work in this JVM.
     *
     * @throws IllegalStateException naming the missing flag when they do not.
     */
    static void check()
    {
        if (checked)
        {
            return;
        }
        try
        {
            final UnsafeBuffer probe = new UnsafeBuffer(new byte[8]);
            probe.putLong(0, 42L);
            if (probe.getLong(0) != 42L)
            {
                throw new IllegalStateException("Agrona's UnsafeBuffer misbehaves on this JVM");
            }
            checked = true;
        }
        catch (final LinkageError ex)
        {
            throw new IllegalStateException("Ferry uses Agrona 2, which needs the JVM flag " + FLAG
                + " (in an executable jar's manifest: 'Add-Exports: java.base/jdk.internal.misc'); add it to the "
                + "java command line and run again", ex);
        }
    }
}
