package dev.ferry;

import java.util.Arrays;

/**
 * The servers running in this process, for the one check that needs them: a handler that calls, awaits or joins its
 * own service from its server thread would wait for itself, and is refused at once.
 *
 * <p>Threading: registration and removal are serialised (they are rare: a server's attach and close) and publish a
 * new array, copied on write; the check reads it from any thread without a lock.
 */
final class ServerRegistry
{
    private static final Object LOCK = new Object();
    private static volatile Server[] servers = new Server[0];

    private ServerRegistry()
    {
    }

    static void register(final Server server)
    {
        synchronized (LOCK)
        {
            final Server[] old = servers;
            final Server[] grown = Arrays.copyOf(old, old.length + 1);
            grown[old.length] = server;
            servers = grown;
        }
    }

    static void deregister(final Server server)
    {
        synchronized (LOCK)
        {
            servers = Arrays.stream(servers).filter(s -> s != server).toArray(Server[]::new);
        }
    }

    /**
     * @throws IllegalStateException if the calling thread is the agent thread of a server of this process serving
     *                               {@code serviceId} of the kernel whose memory {@code mapping} views.
     */
    static void refuseReentrant(final Mapping mapping, final int serviceId)
    {
        if (servesOnThisThread(mapping, serviceId))
        {
            throw new IllegalStateException("re-entrant call: the handler of service " + serviceId + " called "
                + "service " + serviceId + " of its own kernel (" + mapping.directory + ") from its server thread; "
                + "it would wait for itself. Call another service, submit without waiting, or hand the work to "
                + "another thread");
        }
    }

    /**
     * @return true when the calling thread is the agent thread of a server of this process serving {@code service}
     * of the kernel whose memory {@code mapping} views (the same memory in-process, the same directory for a file).
     */
    static boolean servesOnThisThread(final Mapping mapping, final int service)
    {
        final Server[] all = servers;
        if (all.length == 0)
        {
            return false;
        }
        final Thread current = Thread.currentThread();
        for (final Server s : all)
        {
            if (s.thread() == current && s.serviceId() == service && (s.mapping() == mapping || !mapping.inProcess()
                && s.mapping().directory.toAbsolutePath().normalize()
                .equals(mapping.directory.toAbsolutePath().normalize())))
            {
                return true;
            }
        }
        return false;
    }
}
