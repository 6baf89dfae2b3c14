package dev.ferry.samples.quickstart;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

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
}
