package dev.ferry.bench.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code ferry-bench jmh [JMH options]}: runs the JMH benchmarks packed in this jar, passing every argument to
 * JMH's own command line ({@code -f}, {@code -wi}, {@code -prof gc}, {@code -rf json}, a benchmark regex, ...).
 *
 * <p>Not thread-safe: run once by picocli on the main thread.
 */
@Command(
    name = "jmh",
    description = {
        "Runs Ferry's JMH benchmarks; every argument goes to JMH (try: jmh -h, jmh -l).",
        "Example: jmh 'ModesBenchmark|SpinPingPongBenchmark|JcToolsEchoBenchmark' -prof gc -rf json -rff jmh.json"})
public final class JmhCommand implements Callable<Integer>
{
    @Unmatched
    private List<String> jmhArgs = new ArrayList<>();

    @Override
    public Integer call() throws Exception
    {
        org.openjdk.jmh.Main.main(jmhArgs.toArray(new String[0]));
        return 0;
    }
}
