package dev.ferry.bench.cli;

import dev.ferry.bench.report.JmhCharts;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code ferry-bench jmh-chart RESULTS.json}: turns a JMH result file ({@code -rf json}) into PNG charts of
 * throughput, sample-time percentiles and allocation per operation, and prints the results as a table.
 *
 * <p>Not thread-safe: picocli runs one instance on the main thread.
 */
@Command(
    name = "jmh-chart",
    mixinStandardHelpOptions = true,
    description = "Charts a JMH result file (-rf json): throughput, sample-time p50/p99/p99.9 and B/op (-prof gc).")
public final class JmhChartCommand implements Callable<Integer>
{
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "RESULTS.json", description = "JMH's result file, written with -rf json.")
    private Path results;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "jmh-charts",
        description = "Directory for the PNG charts (default: ${DEFAULT-VALUE}).")
    private Path out;

    @Override
    public Integer call() throws IOException
    {
        if (!Files.isRegularFile(results))
        {
            throw new IllegalArgumentException("no JMH result file at " + results.toAbsolutePath()
                + "; run JMH with -rf json -rff " + results + " first");
        }
        final List<JmhCharts.Result> parsed = JmhCharts.parse(Files.readString(results, StandardCharsets.UTF_8));
        if (parsed.isEmpty())
        {
            throw new IllegalArgumentException(results + " holds no results; did the JMH run fail?");
        }
        Files.createDirectories(out);
        final List<String> written = JmhCharts.write(parsed, out);
        spec.commandLine().getOut().print(JmhCharts.table(parsed));
        spec.commandLine().getOut().println("Wrote " + String.join(", ", written) + " into " + out);
        spec.commandLine().getOut().flush();
        return 0;
    }
}
