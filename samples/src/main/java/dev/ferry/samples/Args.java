package dev.ferry.samples;

import java.util.HashMap;
import java.util.Map;

/**
 * A sample's {@code --name value} arguments, each with a default.
 *
 * <p>Threading: confined to the thread that parses them.
 */
public final class Args
{
    private final String sample;
    private final Map<String, String> values = new HashMap<>();
    private final StringBuilder usage = new StringBuilder();
    private final boolean help;

    /**
     * @param sample the sample's name, for messages.
     * @param args   {@code --name value} pairs, or {@code --help}.
     */
    public Args(final String sample, final String[] args)
    {
        this.sample = sample;
        boolean h = false;
        for (int i = 0; i < args.length; i++)
        {
            final String a = args[i];
            if ("--help".equals(a) || "-h".equals(a))
            {
                h = true;
            }
            else if (a.startsWith("--") && i + 1 < args.length)
            {
                values.put(a.substring(2), args[++i]);
            }
            else
            {
                throw new IllegalArgumentException(sample + ": unexpected argument '" + a + "'; arguments are"
                    + " --name value pairs; run '" + sample + " --help' to list them");
            }
        }
        this.help = h;
    }

    /**
     * @param name        the argument's name, without dashes.
     * @param defaultValue its value when not given.
     * @param description what it sets.
     * @return its value.
     */
    public int intArg(final String name, final int defaultValue, final String description)
    {
        usage.append(String.format("  --%-14s %s (default %d)%n", name + " N", description, defaultValue));
        final String v = values.remove(name);
        if (v == null)
        {
            return defaultValue;
        }
        try
        {
            return Integer.parseInt(v.replace("_", ""));
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException(sample + ": --" + name + " must be a whole number, not '" + v + "'");
        }
    }

    /**
     * Prints the usage and returns true when {@code --help} was given; throws when an argument is unknown.
     *
     * @return true when the sample should only print its usage.
     */
    public boolean helpOrCheck()
    {
        if (help)
        {
            System.out.print("usage: " + sample + " [--name value]...\n" + usage);
            return true;
        }
        if (!values.isEmpty())
        {
            throw new IllegalArgumentException(sample + ": unknown argument(s) " + values.keySet() + "; known:\n"
                + usage);
        }
        return false;
    }
}
