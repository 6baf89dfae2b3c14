package dev.ferry.bench.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON parser for reading JMH's result files and Ferry's own report back: objects become
 * {@code Map<String, Object>} (in order), arrays {@code List<Object>}, numbers {@code Double}, and strings,
 * booleans and null as themselves.
 *
 * <p>Stateless and thread-safe: each {@link #parse} call works on its own input.
 */
public final class JsonReader
{
    private final String s;
    private int i;

    private JsonReader(final String s)
    {
        this.s = s;
    }

    /**
     * @param json a JSON document.
     * @return its value.
     * @throws IllegalArgumentException naming the offset where the document is malformed.
     */
    public static Object parse(final String json)
    {
        final JsonReader r = new JsonReader(json);
        final Object v = r.value();
        r.ws();
        if (r.i != json.length())
        {
            throw r.error("trailing characters after the JSON value");
        }
        return v;
    }

    private Object value()
    {
        ws();
        if (i >= s.length())
        {
            throw error("unexpected end of input");
        }
        final char c = s.charAt(i);
        switch (c)
        {
            case '{':
                return object();
            case '[':
                return array();
            case '"':
                return string();
            case 't':
                return literal("true", Boolean.TRUE);
            case 'f':
                return literal("false", Boolean.FALSE);
            case 'n':
                return literal("null", null);
            default:
                return number();
        }
    }

    private Map<String, Object> object()
    {
        final Map<String, Object> map = new LinkedHashMap<>();
        i++;
        ws();
        if (peek() == '}')
        {
            i++;
            return map;
        }
        while (true)
        {
            ws();
            if (peek() != '"')
            {
                throw error("expected a member name in quotes");
            }
            final String name = string();
            ws();
            expect(':');
            map.put(name, value());
            ws();
            final char c = next();
            if (c == '}')
            {
                return map;
            }
            if (c != ',')
            {
                throw error("expected ',' or '}' in an object");
            }
        }
    }

    private List<Object> array()
    {
        final List<Object> list = new ArrayList<>();
        i++;
        ws();
        if (peek() == ']')
        {
            i++;
            return list;
        }
        while (true)
        {
            list.add(value());
            ws();
            final char c = next();
            if (c == ']')
            {
                return list;
            }
            if (c != ',')
            {
                throw error("expected ',' or ']' in an array");
            }
        }
    }

    private String string()
    {
        i++;
        final StringBuilder b = new StringBuilder();
        while (true)
        {
            final char c = next();
            if (c == '"')
            {
                return b.toString();
            }
            if (c == '\\')
            {
                final char e = next();
                switch (e)
                {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'r' -> b.append('\r');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'u' ->
                    {
                        if (i + 4 > s.length())
                        {
                            throw error("truncated \\u escape");
                        }
                        b.append((char)Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> b.append(e);
                }
            }
            else
            {
                b.append(c);
            }
        }
    }

    private Object literal(final String word, final Object value)
    {
        if (!s.startsWith(word, i))
        {
            throw error("expected " + word);
        }
        i += word.length();
        return value;
    }

    private Double number()
    {
        final int start = i;
        while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0)
        {
            i++;
        }
        if (start == i)
        {
            throw error("unexpected character '" + s.charAt(i) + "'");
        }
        final String text = s.substring(start, i);
        if ("NaN".equals(text))
        {
            return Double.NaN;
        }
        try
        {
            return Double.valueOf(text);
        }
        catch (final NumberFormatException ex)
        {
            throw error("malformed number '" + text + "'");
        }
    }

    private void ws()
    {
        while (i < s.length() && Character.isWhitespace(s.charAt(i)))
        {
            i++;
        }
    }

    private char peek()
    {
        if (i >= s.length())
        {
            throw error("unexpected end of input");
        }
        return s.charAt(i);
    }

    private char next()
    {
        final char c = peek();
        i++;
        return c;
    }

    private void expect(final char c)
    {
        if (next() != c)
        {
            throw error("expected '" + c + "'");
        }
    }

    private IllegalArgumentException error(final String what)
    {
        return new IllegalArgumentException("malformed JSON at offset " + i + ": " + what);
    }
}
