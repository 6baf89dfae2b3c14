package dev.ferry;

import dev.ferry.agent.AgentThreadFactory;
import dev.ferry.idle.AdaptiveIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Settings of a {@link Kernel}, from {@link Kernel#builder()}: its memory (in-process, or a named mapping), its mode
 * and services, its capacities and its timeouts.
 *
 * <p>Not thread-safe: configure and build on one thread.
 */
public final class KernelBuilder
{
    private static final AtomicInteger NEXT_ID = new AtomicInteger();

    Path directory;
    Mode mode = Mode.DIRECT;
    int services = 1;
    Handler[] handlers = new Handler[0];
    int serverBatch = 64;
    Duration stopTimeout = Duration.ofSeconds(5);
    Duration callTimeout = Client.DEFAULT_CALL_TIMEOUT;
    int maxClients = 16;
    int slotBytes = 256;
    int maxInFlight = 64;
    int laneBytes;
    int moverBatch = 32;
    Duration drainTimeout = Duration.ofSeconds(1);
    Timeouts timeouts = Timeouts.DEFAULTS;
    Supplier<IdleStrategy> idleStrategy = AdaptiveIdleStrategy::new;
    AgentThreadFactory threadFactory = AgentThreadFactory.daemon();

    KernelBuilder()
    {
    }

    /**
     * @param name the kernel's name: its directory is {@code /dev/shm/ferry-<user>/<name>} (or under the base named
     *             by the system property {@code ferry.ipc.dir}).
     * @return this builder.
     */
    public KernelBuilder name(final String name)
    {
        this.directory = Mapping.defaultDirectory(name);
        return this;
    }

    /**
     * @param directory where to put the mapping instead, e.g. when {@code /dev/shm} is missing or too small;
     *                  its parent must exist. Servers and clients must attach to the same directory.
     * @return this builder.
     */
    public KernelBuilder directory(final Path directory)
    {
        this.directory = Objects.requireNonNull(directory, "directory");
        return this;
    }

    /**
     * @param mode how calls reach the handlers; DIRECT by default. INLINE and BLOCKING need an in-process kernel.
     * @return this builder.
     */
    public KernelBuilder mode(final Mode mode)
    {
        this.mode = Objects.requireNonNull(mode, "mode");
        return this;
    }

    /**
     * Serves a service in this kernel's process: a server agent (INLINE: the caller's thread) runs
     * {@code handler} for every call to {@code id}.
     *
     * @param id      the service id, from 0; the kernel has at least {@code id + 1} services.
     * @param handler its handler.
     * @return this builder.
     * @throws IllegalArgumentException for a negative id, or one given twice.
     */
    public KernelBuilder service(final int id, final Handler handler)
    {
        Objects.requireNonNull(handler, "handler");
        if (id < 0 || id >= IpcLayout.MAX_SERVICES_LIMIT)
        {
            throw new IllegalArgumentException("service id " + id + " is outside 0-"
                + (IpcLayout.MAX_SERVICES_LIMIT - 1));
        }
        if (id >= handlers.length)
        {
            handlers = java.util.Arrays.copyOf(handlers, id + 1);
        }
        if (handlers[id] != null)
        {
            throw new IllegalArgumentException("service " + id + " was given twice");
        }
        handlers[id] = handler;
        services = Math.max(services, id + 1);
        return this;
    }

    /**
     * @param services how many services (ids 0 to services - 1) servers may attach to; at least one more than the
     *                 highest id given to {@link #service}.
     * @return this builder.
     */
    public KernelBuilder services(final int services)
    {
        this.services = services;
        return this;
    }

    /**
     * @param batch most calls a server answers from one client's lane per pass before it looks at the next.
     * @return this builder.
     */
    public KernelBuilder serverBatch(final int batch)
    {
        if (batch < 1)
        {
            throw new IllegalArgumentException("server batch " + batch + " must be at least 1");
        }
        this.serverBatch = batch;
        return this;
    }

    /**
     * @param timeout how long {@link Kernel#close()} waits for each of its servers to stop (then interrupts it).
     * @return this builder.
     */
    public KernelBuilder stopTimeout(final Duration timeout)
    {
        this.stopTimeout = positive(timeout, "stop timeout");
        return this;
    }

    /**
     * @param timeout the deadline of every call of a client made by {@link Kernel#newClient()}, unless the
     *                client or the call says else; {@link Client#DEFAULT_CALL_TIMEOUT} by default.
     * @return this builder.
     */
    public KernelBuilder callTimeout(final Duration timeout)
    {
        this.callTimeout = positive(timeout, "call timeout");
        return this;
    }

    private static Duration positive(final Duration timeout, final String what)
    {
        Objects.requireNonNull(timeout, what);
        if (timeout.isNegative() || timeout.isZero())
        {
            throw new IllegalArgumentException(what + " " + timeout + " must be positive");
        }
        return timeout;
    }

    /**
     * @param maxClients how many clients may be attached at once.
     * @return this builder.
     */
    public KernelBuilder maxClients(final int maxClients)
    {
        this.maxClients = maxClients;
        return this;
    }

    /**
     * @param slotBytes the largest request or reply, in bytes.
     * @return this builder.
     */
    public KernelBuilder slotBytes(final int slotBytes)
    {
        this.slotBytes = slotBytes;
        return this;
    }

    /**
     * @param maxInFlight calls one client may have in flight before {@code submit} returns back-pressure.
     * @return this builder.
     */
    public KernelBuilder maxInFlight(final int maxInFlight)
    {
        this.maxInFlight = maxInFlight;
        return this;
    }

    /**
     * @param bytes capacity of each lane (the request ring and the reply ring of one client and one service), a
     *              power of two from 1024 holding at least eight records of the largest slot; 0 (the default)
     *              for one that holds a client's {@code maxInFlight} calls. A smaller lane holds calls back
     *              (staged, sent on as the server catches up) and makes the server wait for the client to read
     *              its replies.
     * @return this builder.
     */
    public KernelBuilder laneBytes(final int bytes)
    {
        this.laneBytes = bytes;
        return this;
    }

    /**
     * @param batch most requests the mover takes from one client per pass.
     * @return this builder.
     */
    public KernelBuilder moverBatch(final int batch)
    {
        if (batch < 1)
        {
            throw new IllegalArgumentException("mover batch " + batch + " must be at least 1");
        }
        this.moverBatch = batch;
        return this;
    }

    /**
     * @param timeout how long {@link Kernel#close()} lets calls in flight drain.
     * @return this builder.
     */
    public KernelBuilder drainTimeout(final Duration timeout)
    {
        Objects.requireNonNull(timeout, "drain timeout");
        if (timeout.isNegative())
        {
            throw new IllegalArgumentException("drain timeout " + timeout + " must not be negative");
        }
        this.drainTimeout = timeout;
        return this;
    }

    /**
     * @param timeouts heartbeat interval and liveness timeouts, written into the mapping for every process.
     * @return this builder.
     */
    public KernelBuilder timeouts(final Timeouts timeouts)
    {
        this.timeouts = Objects.requireNonNull(timeouts, "timeouts");
        return this;
    }

    /**
     * @param supplier the idle strategy of the mover (MOVER mode), of the servers this kernel runs, and of the
     *                 waits of the clients it makes; BLOCKING mode parks instead.
     * @return this builder.
     */
    public KernelBuilder idleStrategy(final Supplier<IdleStrategy> supplier)
    {
        this.idleStrategy = Objects.requireNonNull(supplier, "supplier");
        return this;
    }

    /**
     * @param factory makes the kernel's agent threads (the mover: role MOVER index 0; servers: SERVER and the
     *                service id), e.g. pinning ones.
     * @return this builder.
     */
    public KernelBuilder threadFactory(final AgentThreadFactory factory)
    {
        this.threadFactory = Objects.requireNonNull(factory, "factory");
        return this;
    }

    /**
     * Creates the kernel's memory: direct memory in-process, or the mapping in its directory (a mapping left by
     * a kernel that died is replaced; one whose kernel still heartbeats is refused).
     *
     * @return the kernel, not yet started.
     * @throws IllegalArgumentException naming the setting out of range.
     * @throws IllegalStateException    for INLINE or BLOCKING across processes, or a live kernel in the directory.
     */
    public Kernel build()
    {
        AgronaAccess.check();
        if (services < handlers.length)
        {
            throw new IllegalArgumentException("services(" + services + ") leaves out service "
                + (handlers.length - 1) + " given to service(); raise it or leave it out");
        }
        final IpcLayout layout = IpcLayout.of(
            mode == Mode.MOVER ? IpcLayout.MODE_MOVER : IpcLayout.MODE_DIRECT,
            maxClients, services, slotBytes, maxInFlight, laneBytes);
        if (directory == null)
        {
            return new Kernel(this, Mapping.inMemory("kernel-" + NEXT_ID.incrementAndGet(), layout, timeouts));
        }
        if (mode == Mode.INLINE || mode == Mode.BLOCKING)
        {
            throw new IllegalStateException("mode " + mode + " needs one JVM (it runs handlers on the caller's "
                + "thread, or unparks threads): leave out name() and directory() for an in-process kernel, or use "
                + "DIRECT or MOVER across processes");
        }
        final Path file = directory.resolve(IpcLayout.FILE_NAME);
        if (Files.exists(file))
        {
            refuseIfLive(file);
        }
        return new Kernel(this, Mapping.create(directory, layout, timeouts));
    }

    private void refuseIfLive(final Path file)
    {
        Mapping old = null;
        try
        {
            old = Mapping.open(directory);
            final UnsafeBuffer h = old.buffer;
            final long pid = h.getLong(IpcLayout.KERNEL_PID_OFFSET);
            final int state = h.getIntVolatile(IpcLayout.KERNEL_STATE_OFFSET);
            final long silence = System.nanoTime() - h.getLongVolatile(IpcLayout.KERNEL_HEARTBEAT_OFFSET);
            final long timeout = h.getLong(IpcLayout.KERNEL_TIMEOUT_OFFSET);
            if (state != IpcLayout.KERNEL_CLOSED && silence >= 0 && silence <= Math.max(timeout, 1_000_000L)
                && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
            {
                throw new IllegalStateException("a Ferry kernel (pid " + pid + ") is already running at "
                    + directory + "; close it first, or pick another name or directory");
            }
        }
        catch (final IllegalStateException ex)
        {
            if (ex.getMessage() != null && ex.getMessage().startsWith("a Ferry kernel"))
            {
                throw ex;
            }
            // Not a readable mapping: replaced below.
        }
        finally
        {
            if (old != null)
            {
                old.close();
            }
        }
    }
}
