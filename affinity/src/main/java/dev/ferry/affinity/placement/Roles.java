package dev.ferry.affinity.placement;

/**
 * How many agents of each role a placement must seat: servers, movers and client threads (clients are
 * pinned by whoever runs them, e.g. a benchmark; the kernel pins servers and movers).
 *
 * <p>Immutable; safe to share between threads.
 */
public final class Roles
{
    private final int servers;
    private final int movers;
    private final int clients;

    private Roles(final int servers, final int movers, final int clients)
    {
        this.servers = servers;
        this.movers = movers;
        this.clients = clients;
    }

    /**
     * @param servers server agents, at least 0.
     * @param movers  mover agents, at least 0.
     * @param clients client threads to seat, at least 0.
     * @return the roles.
     * @throws IllegalArgumentException if a count is negative.
     */
    public static Roles of(final int servers, final int movers, final int clients)
    {
        if (servers < 0 || movers < 0 || clients < 0)
        {
            throw new IllegalArgumentException("role counts must be at least 0: servers=" + servers +
                ", movers=" + movers + ", clients=" + clients);
        }
        return new Roles(servers, movers, clients);
    }

    /**
     * @return how many servers.
     */
    public int servers()
    {
        return servers;
    }

    /**
     * @return how many movers.
     */
    public int movers()
    {
        return movers;
    }

    /**
     * @return how many clients.
     */
    public int clients()
    {
        return clients;
    }

    @Override
    public String toString()
    {
        return servers + " server(s), " + movers + " mover(s), " + clients + " client(s)";
    }
}
