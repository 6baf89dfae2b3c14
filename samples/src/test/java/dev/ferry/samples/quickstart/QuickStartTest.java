package dev.ferry.samples.quickstart;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class QuickStartTest
{
    @Test
    void printsTheCallsReplyAndTheBatchsSum()
    {
        final PrintStream original = System.out;
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try
        {
            QuickStart.main(new String[0]);
        }
        finally
        {
            System.setOut(original);
        }
        final String out = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(out.matches("(?s).*call: 7 squared\\s+49\\s.*"), out);
        assertTrue(out.matches("(?s).*batch: sum 1\\.\\.10 sq\\.\\s+385\\s.*"), out);
    }

    @Test
    void theReadmesQuickStartIsThisSample() throws IOException
    {
        final Path readme = Paths.get("..", "README.md");
        final Path source = Paths.get("src/main/java/dev/ferry/samples/quickstart/QuickStart.java");
        final List<String> readmeLines = Files.readAllLines(readme, StandardCharsets.UTF_8);
        final int section = readmeLines.indexOf("## Quick start");
        assertTrue(section >= 0, "README.md has no '## Quick start' section");
        final int open = readmeLines.subList(section, readmeLines.size()).indexOf("```java") + section + 1;
        final int close = readmeLines.subList(open, readmeLines.size()).indexOf("```") + open;
        final String snippet = String.join("\n", readmeLines.subList(open, close));

        final List<String> sourceLines = Files.readAllLines(source, StandardCharsets.UTF_8);
        int start = 0;
        while (!sourceLines.get(start).trim().startsWith("try (Kernel kernel"))
        {
            start++;
        }
        int end = start;
        while (!sourceLines.get(end).equals("        }"))
        {
            end++;
        }
        final StringBuilder body = new StringBuilder();
        for (int i = start; i <= end; i++)
        {
            final String line = sourceLines.get(i);
            body.append(line.startsWith("        ") ? line.substring(8) : line).append(i < end ? "\n" : "");
        }
        assertEquals(body.toString(), snippet, "README.md's quick start differs from QuickStart.main; copy it over");
        assertTrue(close - open < 40, "the quick start should stay under 40 lines; it has " + (close - open));
    }
}
