package dev.ferry.bench.cli;

import dev.ferry.bench.report.Charts;
import dev.ferry.bench.report.Report;
import dev.ferry.bench.report.ReportFiles;
import dev.ferry.bench.report.ReportRunner;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/**
 * {@code ferry-bench report}: measures polling against blocking on the machine at hand (the modes, a batch sweep,
 * the idle strategies under open-loop load), writes {@code report.md}, {@code report.json} and PNG charts into
 * {@code --out}, prints a summary table (or, with {@code --json}, the JSON) and reports progress on standard error.
 *
 * <p>Not thread-safe: picocli runs one instance on the main thread; the measurements run on that thread too.
 */
@Command(
    name = "report",
    mixinStandardHelpOptions = true,
    description = {
        "Measures Ferry's modes (INLINE, DIRECT, MOVER, BLOCKING), a batch-size sweep and the idle-strategy "
            + "trade-off on this machine; writes report.md, report.json and charts into --out.",
        "Full run: about 4 minutes; --quick: under a minute."})
public final class ReportCommand implements Callable<Integer>
{
    private static final long QUICK_BUDGET_MS = 42_000;
    private static final long FULL_BUDGET_MS = 240_000;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(names = "--quick", description = "A shorter run (under a minute) with fewer load points.")
    private boolean quick;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "ferry-report",
        description = "Directory for report.md, report.json and the charts (default: ${DEFAULT-VALUE}).")
    private Path out;

    @Option(names = "--json", description = "Print report.json on standard output instead of the summary table.")
    private boolean json;

    @Option(names = "--no-charts", description = "Skip the PNG charts.")
    private boolean noCharts;

    @Option(names = "--sections", hidden = true, split = ",", defaultValue = "modes,batch,idle",
        description = "Which sections to run: modes, batch, idle (for tuning).")
    private java.util.Set<String> sections;

    @Option(names = "--budget-ms", hidden = true, description = "Time budget of the measurements, ms (for tests).")
    private Long budgetMs;

    @Override
    public Integer call() throws IOException
    {
        final long budget = budgetMs != null ? budgetMs : quick ? QUICK_BUDGET_MS : FULL_BUDGET_MS;
        Files.createDirectories(out);
        final PrintWriter err = spec.commandLine().getErr();
        final PrintStream progress = new PrintStream(new WriterOutputStream(err), true, StandardCharsets.UTF_8);
        progress.printf("ferry-bench report: measuring for about %d s, results into %s%n", budget / 1000,
            out.toAbsolutePath());
        final Report report = new ReportRunner(budget, quick || budgetMs != null
            ? ReportRunner.QUICK_LOADS : ReportRunner.FULL_LOADS, progress, sections).run();
        final String[] charts = noCharts ? new String[0] : Charts.write(report, out);
        final String jsonText = ReportFiles.json(report);
        Files.writeString(out.resolve("report.json"), jsonText + "\n", StandardCharsets.UTF_8);
        Files.writeString(out.resolve("report.md"), ReportFiles.markdown(report, charts), StandardCharsets.UTF_8);
        final PrintWriter stdout = spec.commandLine().getOut();
        if (json)
        {
            stdout.println(jsonText);
        }
        else
        {
            stdout.print(ReportFiles.summary(report));
            stdout.println("Wrote " + out.resolve("report.md") + ", report.json"
                + (charts.length > 0 ? " and " + String.join(", ", charts) : ""));
        }
        stdout.flush();
        return 0;
    }

    /** Adapts picocli's error writer to the progress stream. */
    private static final class WriterOutputStream extends java.io.OutputStream
    {
        private final PrintWriter writer;
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

        WriterOutputStream(final PrintWriter writer)
        {
            this.writer = writer;
        }

        @Override
        public void write(final int b)
        {
            line.write(b);
            if (b == '\n')
            {
                flush();
            }
        }

        @Override
        public void flush()
        {
            writer.print(line.toString(StandardCharsets.UTF_8));
            writer.flush();
            line.reset();
        }
    }
}
