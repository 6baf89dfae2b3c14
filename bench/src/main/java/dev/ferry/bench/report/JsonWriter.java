package dev.ferry.bench.report;

import java.util.Locale;

/**
 * A small JSON writer for the report and the other commands' {@code --json} output: objects, arrays, strings, numbers and booleans, commas placed for the caller.
 * Non-finite doubles are written as {@code null}, since JSON has no NaN.
 *
 * <p>Not thread-safe: one writer builds one document on one thread.
 */
public final class JsonWriter
{
    private final StringBuilder out = new StringBuilder();
    private boolean needComma;

    /**
     * @return this writer, after opening an object.
     */
    public JsonWriter beginObject()
    {
        comma();
        out.append('{');
        needComma = false;
        return this;
    }

    /**
     * @return this writer, after closing an object.
     */
    public JsonWriter endObject()
    {
        out.append('}');
        needComma = true;
        return this;
    }

    /**
     * @return this writer, after opening an array.
     */
    public JsonWriter beginArray()
    {
        comma();
        out.append('[');
        needComma = false;
        return this;
    }

    /**
     * @return this writer, after closing an array.
     */
    public JsonWriter endArray()
    {
        out.append(']');
        needComma = true;
        return this;
    }

    /**
     * @param name a member name; the value must follow.
     * @return this writer.
     */
    public JsonWriter name(final String name)
    {
        comma();
        string(name);
        out.append(':');
        needComma = false;
        return this;
    }

    /**
     * @param value a string value, or null.
     * @return this writer.
     */
    public JsonWriter value(final String value)
    {
        comma();
        if (value == null)
        {
            out.append("null");
        }
        else
        {
            string(value);
        }
        needComma = true;
        return this;
    }

    /**
     * @param value an integer value.
     * @return this writer.
     */
    public JsonWriter value(final long value)
    {
        comma();
        out.append(value);
        needComma = true;
        return this;
    }

    /**
     * @param value a number; NaN and infinities become null.
     * @return this writer.
     */
    public JsonWriter value(final double value)
    {
        comma();
        if (Double.isFinite(value))
        {
            if (value == Math.rint(value) && Math.abs(value) < 1e15)
            {
                out.append((long)value);
            }
            else
            {
                out.append(Double.toString(value));
            }
        }
        else
        {
            out.append("null");
        }
        needComma = true;
        return this;
    }

    /**
     * @param value a boolean value.
     * @return this writer.
     */
    public JsonWriter value(final boolean value)
    {
        comma();
        out.append(value);
        needComma = true;
        return this;
    }

    /**
     * @param name  a member name.
     * @param value its string value, or null.
     * @return this writer.
     */
    public JsonWriter field(final String name, final String value)
    {
        return name(name).value(value);
    }

    /**
     * @param name  a member name.
     * @param value its integer value.
     * @return this writer.
     */
    public JsonWriter field(final String name, final long value)
    {
        return name(name).value(value);
    }

    /**
     * @param name  a member name.
     * @param value its number value; NaN and infinities become null.
     * @return this writer.
     */
    public JsonWriter field(final String name, final double value)
    {
        return name(name).value(value);
    }

    /**
     * @param name  a member name.
     * @param value its boolean value.
     * @return this writer.
     */
    public JsonWriter field(final String name, final boolean value)
    {
        return name(name).value(value);
    }

    private void comma()
    {
        if (needComma)
        {
            out.append(',');
            needComma = false;
        }
    }

    private void string(final String s)
    {
        out.append('"');
        for (int i = 0; i < s.length(); i++)
        {
            final char c = s.charAt(i);
            switch (c)
            {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default ->
                {
                    if (c < 0x20)
                    {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int)c));
                    }
                    else
                    {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    @Override
    public String toString()
    {
        return out.toString();
    }
}
