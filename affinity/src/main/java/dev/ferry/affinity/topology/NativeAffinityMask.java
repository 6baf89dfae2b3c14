package dev.ferry.affinity.topology;

import java.util.BitSet;

import net.openhft.affinity.Affinity;
import net.openhft.affinity.impl.NullAffinity;

/**
 * Reads the calling thread's scheduler affinity through OpenHFT Affinity, when its native binding works.
 *
 * <p>Stateless; safe to call from any thread.
 */
final class NativeAffinityMask
{
    private NativeAffinityMask()
    {
    }

    /**
     * @return the calling thread's affinity, or {@code null} where native affinity is unavailable.
     */
    static CpuSet currentThread()
    {
        try
        {
            if (Affinity.getAffinityImpl() instanceof NullAffinity)
            {
                return null;
            }
            final BitSet bits = Affinity.getAffinity();
            return bits == null || bits.isEmpty() ? null : CpuSet.of(bits);
        }
        catch (final RuntimeException | LinkageError ex)
        {
            return null;
        }
    }
}
