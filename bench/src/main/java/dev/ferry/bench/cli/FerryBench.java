package dev.ferry.bench.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code ferry-bench} command line: the executable jar's main class. Each job is a subcommand; to add
 * one, write a {@code @Command} class in this package and list it in {@code subcommands} below.
 *
 * <p>Not thread-safe: picocli builds and runs one instance on the main thread.
 */
@Command(
    name = "ferry-bench",
    mixinStandardHelpOptions = true,
    version = "ferry-bench 0.1.0-SNAPSHOT",
    description = "Ferry's measurements and tools: the polling-against-blocking report, JMH suites, the machine's "
        + "topology, its latency map and cost model, and the IPC comparison.",
    subcommands = {
        TopologyCommand.class,
        JmhCommand.class,
        ReportCommand.class,
        JmhChartCommand.class,
        LatencyMapCommand.class,
        ModelCommand.class,
        IpcBenchCommand.class,
        CommandLine.HelpCommand.class,
    })
public final class FerryBench implements Runnable
{
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    /**
     * Runs the command line and exits with its status.
     *
     * @param args the arguments, e.g. {@code topology --json}.
     */
    public static void main(final String[] args)
    {
        System.exit(commandLine().execute(args));
    }

    /**
     * Builds the command line with Ferry's error handling: a failing command prints its message, not a
     * stack trace, and exits with status 1; a usage error prints the usage and exits with status 2.
     *
     * @return a fresh command line; its output and error writers may be replaced before {@code execute}.
     */
    public static CommandLine commandLine()
    {
        final CommandLine cli = new CommandLine(new FerryBench());
        cli.setExecutionExceptionHandler((ex, commandLine, parseResult) ->
        {
            commandLine.getErr().println("ferry-bench " + commandLine.getCommandName() + ": " +
                (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            commandLine.getErr().flush();
            return 1;
        });
        return cli;
    }

    /**
     * Without a subcommand, says which there are.
     */
    @Override
    public void run()
    {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
