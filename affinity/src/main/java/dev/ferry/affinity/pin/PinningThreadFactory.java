package dev.ferry.affinity.pin;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.ferry.affinity.topology.CpuSet;
import dev.ferry.agent.AgentRole;
import dev.ferry.agent.AgentThreadFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a kernel's agent threads and pins each, when it starts, to the CPU a placement chose for it
 * ({@link AgentCpus}); releases the pin when the agent's body returns. Threads are daemons named like
 * {@link AgentThreadFactory#daemon()}'s, with the CPU appended: {@code ferry-server-0@cpu2}.
 *
 * <p>Where native affinity is unavailable the threads run unpinned and one warning is logged per JVM; where
 * a pin does not take, that thread runs unpinned with a warning naming it. {@link #pinned()} tells which
 * threads were pinned where.
 *
 * <p>Thread-safe: {@link #newThread} may be called from any thread; each thread pins itself.
 */
public final class PinningThreadFactory implements AgentThreadFactory
{
    private static final Logger LOG = LoggerFactory.getLogger(PinningThreadFactory.class);

    private final AgentCpus cpus;
    private final CpuSet usable;
    private final Map<String, Integer> pinned = new ConcurrentHashMap<>();

    /**
     * @param cpus   which CPU runs each agent.
     * @param usable the CPUs this process may use; every CPU {@code cpus} gives must be among them.
     */
    public PinningThreadFactory(final AgentCpus cpus, final CpuSet usable)
    {
        this.cpus = cpus;
        this.usable = usable;
    }

    /**
     * @throws IllegalArgumentException if the placement has no CPU for the agent, or gives one outside the
     *                                  usable set; the message says which.
     */
    @Override
    public Thread newThread(final AgentRole role, final int index, final Runnable body)
    {
        final int cpu = cpus.cpuFor(role, index);
        if (!usable.contains(cpu))
        {
            throw new IllegalArgumentException(role.name().toLowerCase(Locale.ROOT) + " " + index + " is placed on CPU " +
                cpu + ", which is not in this process's allowed set " + usable);
        }
        final String name = "ferry-" + role.name().toLowerCase(Locale.ROOT) + "-" + index + "@cpu" + cpu;
        final Thread thread = new Thread(() -> runPinned(name, cpu, body), name);
        thread.setDaemon(true);
        return thread;
    }

    /**
     * @return for each thread that has started: the CPU it was pinned to, or -1 if it runs unpinned.
     */
    public Map<String, Integer> pinned()
    {
        return Map.copyOf(pinned);
    }

    private void runPinned(final String name, final int cpu, final Runnable body)
    {
        Pin pin = null;
        if (Pinning.isAvailable())
        {
            try
            {
                pin = Pinning.pinCurrentThread(cpu, usable);
            }
            catch (final RuntimeException ex)
            {
                LOG.warn("{} runs unpinned: {}", name, ex.getMessage());
            }
        }
        else
        {
            Pinning.warnUnavailableOnce();
        }
        pinned.put(name, pin == null ? -1 : cpu);
        try
        {
            body.run();
        }
        finally
        {
            if (pin != null)
            {
                pin.close();
            }
        }
    }
}
