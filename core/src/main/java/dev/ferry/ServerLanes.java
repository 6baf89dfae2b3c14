package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * The protocol half of a {@link Server}: how it reads the calls of each attached client and where it answers them.
 * Two kinds, one per protocol, chosen once when the server attaches: {@link DirectServing} (DIRECT and BLOCKING:
 * each client's call lane, answered in place) and {@link MoverServing} (MOVER: the request lanes the mover fills,
 * answered in reply lanes). Both run the service's handler through one {@link Invocation}.
 *
 * <p>Threading: the server's agent thread only (and the thread that attaches the server, before it starts).
 */
abstract class ServerLanes
{
    final Server server;
    final IpcLayout layout;
    final UnsafeBuffer header;
    final int service;
    final Invocation invocation;

    ServerLanes(final Server server, final IpcLayout layout, final UnsafeBuffer header, final Handler handler)
    {
        this.server = server;
        this.layout = layout;
        this.header = header;
        this.service = server.serviceId();
        this.invocation = new Invocation(handler, service);
    }

    /**
     * At attach, for each attached client: takes its lane over from a previous server that died or was replaced.
     *
     * @return what that server left: calls answered FAILED, or bytes of requests discarded.
     */
    abstract long takeOver(int client, int clientGeneration);

    /**
     * One look at a client's lane: serves up to {@code batch} calls if it shows one and the client is attached.
     *
     * @return calls served.
     */
    abstract int serve(int client, int batch);

    /** @return true when every call in the client's lane was answered. */
    abstract boolean drained(int client);

    /** The state and generation word of a client's entry, read with acquire: the one read a lane's use needs. */
    final long clientWord(final int client)
    {
        return RawMemory.getLongVolatile(header, layout.clientEntry(client));
    }
}
