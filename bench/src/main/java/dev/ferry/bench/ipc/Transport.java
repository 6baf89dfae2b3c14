package dev.ferry.bench.ipc;

/**
 * The measuring side of one transport in {@code ipc-bench}: sends a message to the echo peer, and polls for echoes.
 *
 * <p>Not thread-safe: one measuring thread.
 */
interface Transport extends AutoCloseable
{
    /** Sends one message of the configured size; returns false when the transport pushes back (try again). */
    boolean send() throws Exception;

    /** Consumes the echoes that have arrived, without waiting; returns how many. */
    int poll() throws Exception;

    @Override
    void close() throws Exception;
}
