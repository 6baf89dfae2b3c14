package dev.ferry.bench.jmh;

import dev.ferry.Client;
import dev.ferry.CompletionHandler;
import dev.ferry.Kernel;
import dev.ferry.Mode;
import dev.ferry.Server;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import io.aeron.logbuffer.FragmentHandler;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The CPU one shared-memory round trip costs, with no cache line crossing cores: client and server (Ferry), or
 * publisher and subscriber of both directions (Aeron IPC), polled in turn on the benchmark's one thread, 32-byte
 * messages. Across processes a round trip costs two cache-line transfers plus this work on its critical path, so
 * where the transfers are cheap (the host's fast state: about 150-250 ns a round trip) this is what separates Ferry
 * from Aeron; {@code ipc-bench} measures the round trip itself.
 *
 * <p>Ferry's server is attached as usual but its agent thread is not run: the benchmark runs the server's pass over its
 * request lanes (private, reached through a method handle), as the agent's loop does. Aeron runs an embedded
 * SHARED driver with a backoff idle strategy (its conductor thread is needed for publication limits), as in
 * {@code ipc-bench}.
 *
 * <p>Threading: everything is polled on the JMH thread; setup and teardown run on it too (an IPC client belongs to the
 * thread that attached it).
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@BenchmarkMode(org.openjdk.jmh.annotations.Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class IpcCpuBenchmark
{
    private static final int MESSAGE = 32;
    private static final long SPIN_LIMIT = 100_000_000L;

    private final UnsafeBuffer message = new UnsafeBuffer(new byte[MESSAGE]);
    private final int[] received = new int[1];
    private final CompletionHandler ferryHandler = c -> received[0]++;
    private final FragmentHandler countHandler = (buffer, offset, length, header) -> received[0]++;

    private Path dir;
    private Kernel kernel;
    private Server server;
    private Client client;
    private MethodHandle pass;

    private MediaDriver driver;
    private Aeron aeron;
    private ExclusivePublication ping;
    private Subscription pingSub;
    private ExclusivePublication pong;
    private Subscription pongSub;
    private FragmentHandler echo;

    /**
     * Starts a kernel, a server whose agent thread is not run, a client, and Aeron's driver and streams.
     *
     * @throws Exception if a part cannot start.
     */
    @Setup(Level.Trial)
    public void setUp() throws Exception
    {
        dir = Files.createTempDirectory("ferry-ipc-cpu");
        kernel = Kernel.builder().directory(dir.resolve("kernel")).mode(Mode.DIRECT).slotBytes(1024)
            .maxClients(2).maxInFlight(64).build().start();
        server = Server.builder().directory(kernel.directory()).service(0, (msg, len) -> len)
            .threadFactory((role, index, body) -> new Thread(() -> { })).start();
        pass = MethodHandles.privateLookupIn(Server.class, MethodHandles.lookup())
            .findVirtual(Server.class, "pass", MethodType.methodType(int.class));
        client = Client.attach(kernel.directory(), new BusySpinIdleStrategy());

        driver = MediaDriver.launchEmbedded(new MediaDriver.Context()
            .aeronDirectoryName(dir.resolve("aeron").toString()).threadingMode(ThreadingMode.SHARED).sharedIdleStrategy(new BackoffIdleStrategy())
            .dirDeleteOnStart(true).dirDeleteOnShutdown(true));
        aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName())
            .preTouchMappedMemory(true));
        ping = aeron.addExclusivePublication("aeron:ipc", 1001);
        pingSub = aeron.addSubscription("aeron:ipc", 1001);
        pong = aeron.addExclusivePublication("aeron:ipc", 1002);
        pongSub = aeron.addSubscription("aeron:ipc", 1002);
        long spins = 0;
        while (!ping.isConnected() || !pong.isConnected())
        {
            checkSpins(++spins, "Aeron streams to connect");
            Thread.onSpinWait();
        }
        echo = (buffer, offset, length, header) ->
        {
            long tries = 0;
            while (pong.offer(buffer, offset, length) < 0)
            {
                checkSpins(++tries, "Aeron's pong publication to take a message");
                Thread.onSpinWait();
            }
        };
    }

    private static void checkSpins(final long spins, final String what)
    {
        if (spins > SPIN_LIMIT)
        {
            throw new IllegalStateException("gave up waiting for " + what);
        }
    }

    /** Closes everything and deletes the directories. */
    @TearDown(Level.Trial)
    public void tearDown()
    {
        client.close();
        server.close();
        kernel.close();
        pongSub.close();
        pong.close();
        pingSub.close();
        ping.close();
        aeron.close();
        driver.close();
        dir.resolve("kernel").toFile().delete();
        dir.toFile().delete();
    }

    /** One pass of the server's agent loop: a cheap look at each client's request lane, a read where a record is. */
    private int serverPass() throws Throwable
    {
        return (int)pass.invokeExact(server);
    }

    /**
     * One Ferry round trip: submit, flush, the server's pass, the client's poll.
     *
     * @return completions received (1).
     * @throws Throwable if the server's reader fails.
     */
    @Benchmark
    public int ferry() throws Throwable
    {
        client.submit(0, message, 0, MESSAGE);
        client.flush();
        received[0] = 0;
        long spins = 0;
        while (received[0] == 0)
        {
            // A request behind the padding at the ring's end needs a second pass, as in the agent's loop.
            serverPass();
            client.poll(ferryHandler, 64);
            checkSpins(++spins, "a Ferry reply");
        }
        return received[0];
    }

    /**
     * One Aeron round trip: offer a ping, echo it as a pong, poll the pong.
     *
     * @return fragments received (1).
     */
    @Benchmark
    public int aeron()
    {
        long spins = 0;
        while (ping.offer(message, 0, MESSAGE) < 0)
        {
            checkSpins(++spins, "Aeron's ping publication to take a message");
            Thread.onSpinWait();
        }
        received[0] = 0;
        while (received[0] == 0)
        {
            pingSub.poll(echo, 16);
            pongSub.poll(countHandler, 64);
            checkSpins(++spins, "an Aeron pong");
        }
        return received[0];
    }
}
