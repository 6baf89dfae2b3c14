package dev.ferry;

import java.time.Duration;

/**
 * Liveness settings of a Ferry kernel, written into its mapping so every process uses the same: how often each
 * process stamps its heartbeat, and how long a silent client, server or kernel is given before it counts as dead.
 *
 * @param heartbeatIntervalNs how often heartbeats are stamped.
 * @param clientTimeoutNs     silence after which the kernel reclaims a client's rings.
 * @param serverTimeoutNs     silence after which a server's callers get error completions (1 s by default).
 * @param kernelTimeoutNs     silence after which clients and servers treat the kernel as dead.
 *
 * <p>Immutable; safe to share between threads.
 */
public record Timeouts(long heartbeatIntervalNs, long clientTimeoutNs, long serverTimeoutNs, long kernelTimeoutNs)
{
    /** The defaults: heartbeats every 100 ms, and 1 s of silence for clients, servers and the kernel. */
    public static final Timeouts DEFAULTS = of(Duration.ofSeconds(1));

    /**
     * Checks the settings.
     */
    public Timeouts
    {
        if (heartbeatIntervalNs < 1_000_000L)
        {
            throw new IllegalArgumentException("heartbeat interval of " + heartbeatIntervalNs
                + " ns is below 1 ms; heartbeats are stamped by a sleeping thread, give it at least 1 ms");
        }
        if (clientTimeoutNs < 2 * heartbeatIntervalNs || serverTimeoutNs < 2 * heartbeatIntervalNs
            || kernelTimeoutNs < 2 * heartbeatIntervalNs)
        {
            throw new IllegalArgumentException("timeouts (client " + clientTimeoutNs + ", server " + serverTimeoutNs
                + ", kernel " + kernelTimeoutNs + " ns) must be at least twice the heartbeat interval ("
                + heartbeatIntervalNs + " ns), or a live process could be declared dead");
        }
    }

    /**
     * The same timeout for clients, servers and the kernel, with heartbeats ten times as often.
     *
     * @param timeout how long a silent process is given, at least 20 ms.
     * @return the settings.
     */
    public static Timeouts of(final Duration timeout)
    {
        final long ns = timeout.toNanos();
        return new Timeouts(Math.max(1_000_000L, ns / 10), ns, ns, ns);
    }
}
