package dev.ferry.affinity.model;

/**
 * Where the threads of one call path run, for the cost model: the client's, the server's and (in MOVER mode)
 * the mover's CPU.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class ModelPlacement
{
    private final int client;
    private final int server;
    private final int mover;

    private ModelPlacement(final int client, final int server, final int mover)
    {
        this.client = client;
        this.server = server;
        this.mover = mover;
    }

    /**
     * @param client the client's CPU.
     * @param server the server's CPU.
     * @return a placement without a mover (INLINE, BLOCKING, DIRECT).
     */
    public static ModelPlacement of(final int client, final int server)
    {
        return new ModelPlacement(client, server, -1);
    }

    /**
     * @param client the client's CPU.
     * @param server the server's CPU.
     * @param mover  the mover's CPU (may be the client's or the server's: then two threads share it).
     * @return a placement with a mover.
     */
    public static ModelPlacement withMover(final int client, final int server, final int mover)
    {
        if (mover < 0)
        {
            throw new IllegalArgumentException("the mover's CPU is " + mover + "; pass a CPU index");
        }
        return new ModelPlacement(client, server, mover);
    }

    /**
     * @return the client's CPU.
     */
    public int client()
    {
        return client;
    }

    /**
     * @return the server's CPU.
     */
    public int server()
    {
        return server;
    }

    /**
     * @return the mover's CPU, or -1 if none.
     */
    public int mover()
    {
        return mover;
    }

    /**
     * @return whether the placement has a mover.
     */
    public boolean hasMover()
    {
        return mover >= 0;
    }

    @Override
    public String toString()
    {
        return "client@" + client + " server@" + server + (hasMover() ? " mover@" + mover : "");
    }
}
