package dev.ferry;

import dev.ferry.agent.AgentThreadFactory;
import dev.ferry.idle.AdaptiveIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Settings of a {@link Server}, from {@link Server#builder()}.
 *
 * <p>Not thread-safe: configure and start on one thread.
 */
public final class ServerBuilder
{
    Path directory;
    int service = -1;
    Handler handler;
    int batch = 64;
    Supplier<IdleStrategy> idleStrategy = AdaptiveIdleStrategy::new;
    AgentThreadFactory threadFactory = AgentThreadFactory.daemon();

    ServerBuilder()
    {
    }

    /**
     * @param name the kernel's name ({@code /dev/shm/ferry-<user>/<name>}).
     * @return this builder.
     */
    public ServerBuilder name(final String name)
    {
        this.directory = Mapping.defaultDirectory(name);
        return this;
    }

    /**
     * @param directory the kernel's directory, when it was built with one.
     * @return this builder.
     */
    public ServerBuilder directory(final Path directory)
    {
        this.directory = Objects.requireNonNull(directory, "directory");
        return this;
    }

    /**
     * @param id      the service to serve, from 0 to the kernel's services - 1.
     * @param handler its handler.
     * @return this builder.
     */
    public ServerBuilder service(final int id, final Handler handler)
    {
        this.service = id;
        this.handler = Objects.requireNonNull(handler, "handler");
        return this;
    }

    /**
     * @param batch most requests handled per pass before the server publishes progress.
     * @return this builder.
     */
    public ServerBuilder batch(final int batch)
    {
        if (batch < 1)
        {
            throw new IllegalArgumentException("batch " + batch + " must be at least 1");
        }
        this.batch = batch;
        return this;
    }

    /**
     * @param supplier the server's idle strategy.
     * @return this builder.
     */
    public ServerBuilder idleStrategy(final Supplier<IdleStrategy> supplier)
    {
        this.idleStrategy = Objects.requireNonNull(supplier, "supplier");
        return this;
    }

    /**
     * @param factory makes the server's agent thread, e.g. a pinning one.
     * @return this builder.
     */
    public ServerBuilder threadFactory(final AgentThreadFactory factory)
    {
        this.threadFactory = Objects.requireNonNull(factory, "factory");
        return this;
    }

    /**
     * Attaches to the kernel and starts serving.
     *
     * @return the running server.
     */
    public Server start()
    {
        AgronaAccess.check();
        if (directory == null)
        {
            throw new IllegalStateException("no name or directory; call name(\"...\") or directory(path)");
        }
        if (handler == null)
        {
            throw new IllegalStateException("no service; call service(id, handler)");
        }
        return new Server(Mapping.open(directory), service, handler, batch, idleStrategy.get(), threadFactory, null);
    }
}
