package dev.ferry.samples;

import dev.ferry.samples.ipc.IpcClientSample;
import dev.ferry.samples.ipc.IpcServerSample;
import dev.ferry.samples.microkernel.Microkernel;
import dev.ferry.samples.placement.PlacementSample;
import dev.ferry.samples.quickstart.QuickStart;
import dev.ferry.samples.sessions.Sessions;
import dev.ferry.samples.sessions.Sessions;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/**
 * The samples' entry point: {@code java -jar samples/target/ferry-samples.jar <name> [args]} runs one sample;
 * without arguments it lists them.
 *
 * <p>To add a sample, add one {@link Sample} line to {@link #SAMPLES}: its name, what it shows, and its main method.
 *
 * <p>Threading: {@link #main} runs on the launching thread; each sample starts and ends its own threads.
 */
public final class Samples
{
    /** Every sample, in the order they are listed. Add yours here. */
    static final List<Sample> SAMPLES = List.of(
        new Sample("quickstart", "one service, one client, DIRECT mode: one call and one batch", QuickStart::main),
        new Sample("microkernel", "file-system and block-device servers: open/read/write/close as INLINE, BLOCKING"
            + " and batched MOVER calls; calls/s, CPU ns and context switches per call", Microkernel::main),
        new Sample("sessions", "100 to 100,000 sessions multiplexed over a few Ferry servers vs a thread per session"
            + " (platform, and virtual on JDK 21+); where each gives out", Sessions::main),
        new Sample("placement", "the mover where the hardware model advises and where it advises against; predicted"
            + " against measured", PlacementSample::main),
        new Sample("ipc-server", "first terminal: a Ferry IPC kernel named 'demo' in /dev/shm and a server for its"
            + " service 0", IpcServerSample::main),
        new Sample("ipc-client", "second terminal: a client process calling ipc-server's service over shared memory",
            IpcClientSample::main));

    private Samples()
    {
    }

    /**
     * Runs the named sample, or lists the samples.
     *
     * @param args the sample's name, then its own arguments.
     * @throws Exception whatever the sample throws.
     */
    public static void main(final String[] args) throws Exception
    {
        if (args.length == 0 || "-h".equals(args[0]) || "--help".equals(args[0]))
        {
            list(System.out);
            return;
        }
        final Sample sample = find(args[0]);
        if (sample == null)
        {
            System.err.println("no sample named '" + args[0] + "'.");
            list(System.err);
            System.exit(2);
            return;
        }
        sample.main().run(Arrays.copyOfRange(args, 1, args.length));
    }

    static Sample find(final String name)
    {
        for (final Sample s : SAMPLES)
        {
            if (s.name().equals(name))
            {
                return s;
            }
        }
        return null;
    }

    static void list(final PrintStream out)
    {
        out.println("usage: java -jar samples/target/ferry-samples.jar <sample> [args]   (--help after a sample's name"
            + " lists its arguments)");
        out.println("samples:");
        for (final Sample s : SAMPLES)
        {
            out.printf("  %-12s %s%n", s.name(), s.description());
        }
    }

    /**
     * A sample's main method.
     *
     * <p>Threading: called once, on the launching thread.
     */
    @FunctionalInterface
    public interface Main
    {
        /**
         * @param args the sample's arguments.
         * @throws Exception whatever the sample throws.
         */
        void run(String[] args) throws Exception;
    }

    /**
     * One entry of the registry.
     *
     * <p>Immutable; safe to share between threads.
     *
     * @param name        what to type after the jar.
     * @param description one line on what it shows.
     * @param main        what runs it.
     */
    public record Sample(String name, String description, Main main)
    {
    }
}
