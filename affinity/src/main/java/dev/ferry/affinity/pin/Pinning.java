package dev.ferry.affinity.pin;

import java.util.BitSet;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.ferry.affinity.topology.CpuSet;
import dev.ferry.affinity.topology.Topology;
import net.openhft.affinity.Affinity;
import net.openhft.affinity.IAffinity;
import net.openhft.affinity.impl.NullAffinity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pins the calling thread to one CPU through OpenHFT Affinity's {@code Affinity.setAffinity(BitSet)} (which,
 * unlike {@code AffinityLock.acquireLock(0)}, does pin to CPU 0), verifies it by reading the mask back, and
 * restores the previous mask on release.
 *
 * <p>Thread-safe: every method acts on the calling thread only. Whether native affinity is available is
 * probed once per JVM.
 */
public final class Pinning
{
    private static final Logger LOG = LoggerFactory.getLogger(Pinning.class);
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    private static volatile String unavailableReason;
    private static volatile boolean probed;

    private Pinning()
    {
    }

    /**
     * @return whether this JVM can read and set thread affinity (OpenHFT Affinity's native binding loaded
     *         and answered).
     */
    public static boolean isAvailable()
    {
        return unavailableReason() == null;
    }

    /**
     * @return why native affinity is unavailable, or {@code null} if it is available.
     */
    public static String unavailableReason()
    {
        if (!probed)
        {
            synchronized (Pinning.class)
            {
                if (!probed)
                {
                    unavailableReason = probe();
                    probed = true;
                }
            }
        }
        return unavailableReason;
    }

    /**
     * Logs, once per JVM, that threads will run unpinned because native affinity is unavailable.
     */
    public static void warnUnavailableOnce()
    {
        final String reason = unavailableReason();
        if (reason != null && WARNED.compareAndSet(false, true))
        {
            LOG.warn("Ferry cannot pin threads ({}): agents run unpinned", reason);
        }
    }

    /**
     * @return the calling thread's current affinity mask.
     * @throws PinningException if native affinity is unavailable.
     */
    public static CpuSet currentAffinity()
    {
        requireAvailable();
        return CpuSet.of(Affinity.getAffinity());
    }

    /**
     * Pins the calling thread to a CPU this process may use on the live machine.
     *
     * @param cpu the operating-system CPU index, 0 included.
     * @return the pin; close it on this thread to restore the previous affinity.
     * @throws IllegalArgumentException if the CPU is not online and allowed; the message names the allowed set.
     * @throws PinningException         if native affinity is unavailable or the kernel did not apply the mask.
     */
    public static Pin pinCurrentThread(final int cpu)
    {
        requireAvailable();
        Topology.live().requireUsable(cpu);
        return pin(cpu);
    }

    /**
     * Pins the calling thread to a CPU of a set already known to be usable (e.g. a placement's topology).
     *
     * @param cpu    the operating-system CPU index, 0 included.
     * @param usable the CPUs this process may use.
     * @return the pin; close it on this thread to restore the previous affinity.
     * @throws IllegalArgumentException if the CPU is not in {@code usable}; the message names the set.
     * @throws PinningException         if native affinity is unavailable or the kernel did not apply the mask.
     */
    public static Pin pinCurrentThread(final int cpu, final CpuSet usable)
    {
        if (!usable.contains(cpu))
        {
            throw new IllegalArgumentException("CPU " + cpu + " is not in this process's allowed set " + usable);
        }
        requireAvailable();
        return pin(cpu);
    }

    private static Pin pin(final int cpu)
    {
        final Thread thread = Thread.currentThread();
        final CpuSet previous = CpuSet.of(Affinity.getAffinity());
        final BitSet mask = new BitSet();
        mask.set(cpu);
        Affinity.setAffinity(mask);
        final CpuSet readBack = CpuSet.of(Affinity.getAffinity());
        if (!readBack.equals(CpuSet.of(cpu)))
        {
            Affinity.setAffinity(previous.toBitSet());
            throw new PinningException("pinning thread " + thread.getName() + " to CPU " + cpu +
                " did not take: its affinity reads back as " + readBack + " (previous " + previous +
                "); check that the CPU is online and in this process's cpuset");
        }
        return new Pin(thread, cpu, previous);
    }

    private static void requireAvailable()
    {
        final String reason = unavailableReason();
        if (reason != null)
        {
            throw new PinningException("cannot pin threads: " + reason);
        }
    }

    private static String probe()
    {
        try
        {
            final IAffinity impl = Affinity.getAffinityImpl();
            if (impl instanceof NullAffinity)
            {
                return "OpenHFT Affinity found no native binding for " + System.getProperty("os.name") + "/" +
                    System.getProperty("os.arch") + " (JNA missing or unsupported OS)";
            }
            final BitSet mask = impl.getAffinity();
            if (mask == null || mask.isEmpty())
            {
                return "OpenHFT Affinity (" + impl.getClass().getSimpleName() + ") cannot read this thread's affinity";
            }
            return null;
        }
        catch (final RuntimeException | LinkageError ex)
        {
            return "OpenHFT Affinity failed to load: " + ex;
        }
    }
}
