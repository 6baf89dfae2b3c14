package dev.ferry.affinity.topology;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * lstopo's console output of a topology (hwloc's {@code .console} test files), parsed into its tree.
 */
final class HwlocConsole
{
    private static final Pattern OBJECT = Pattern.compile("^( *)(\\S+) L#(\\d+)(?: \\((.*)\\))?$");
    private static final Pattern OS_INDEX = Pattern.compile("^P#(\\d+)");
    private static final Pattern KIND = Pattern.compile("^CPU kind #(\\d+) efficiency \\d+ cpuset (\\S+)$");

    static final class Obj
    {
        final String type;
        final int logical;
        final int os;
        final Obj parent;
        final int depth;
        final List<Obj> children = new ArrayList<>();

        Obj(final String type, final int logical, final int os, final Obj parent, final int depth)
        {
            this.type = type;
            this.logical = logical;
            this.os = os;
            this.parent = parent;
            this.depth = depth;
        }

        Obj ancestor(final String ofType)
        {
            for (Obj o = parent; o != null; o = o.parent)
            {
                if (o.type.equals(ofType))
                {
                    return o;
                }
            }
            return null;
        }

        CpuSet pus()
        {
            final List<Integer> ids = new ArrayList<>();
            collect(this, ids);
            return CpuSet.of(ids.stream().mapToInt(Integer::intValue).toArray());
        }

        private static void collect(final Obj o, final List<Integer> ids)
        {
            if (o.type.equals("PU"))
            {
                ids.add(o.os);
            }
            o.children.forEach(c -> collect(c, ids));
        }

        @Override
        public String toString()
        {
            return type + " L#" + logical + " P#" + os;
        }
    }

    final Obj machine = new Obj("Machine", 0, 0, null, 0);
    final List<Obj> objects = new ArrayList<>();
    final List<CpuSet> kinds = new ArrayList<>();

    static HwlocConsole parse(final Path file) throws IOException
    {
        final HwlocConsole console = new HwlocConsole();
        final List<Obj> stack = new ArrayList<>();
        stack.add(console.machine);
        for (final String line : Files.readAllLines(file, StandardCharsets.UTF_8))
        {
            final Matcher kind = KIND.matcher(line);
            if (kind.matches())
            {
                console.kinds.add(CpuSet.parseMask(kind.group(2)));
                continue;
            }
            final Matcher m = OBJECT.matcher(line);
            if (!m.matches())
            {
                continue;
            }
            final int depth = m.group(1).length() / 2;
            int os = -1;
            if (m.group(4) != null)
            {
                final Matcher p = OS_INDEX.matcher(m.group(4));
                if (p.find())
                {
                    os = Integer.parseInt(p.group(1));
                }
            }
            while (stack.size() > depth)
            {
                stack.remove(stack.size() - 1);
            }
            final Obj parent = stack.get(stack.size() - 1);
            final Obj obj = new Obj(m.group(2), Integer.parseInt(m.group(3)), os, parent, depth);
            parent.children.add(obj);
            console.objects.add(obj);
            stack.add(obj);
        }
        return console;
    }

    List<Obj> ofType(final String type)
    {
        final List<Obj> result = new ArrayList<>();
        for (final Obj o : objects)
        {
            if (o.type.equals(type))
            {
                result.add(o);
            }
        }
        return result;
    }

    CpuSet pus()
    {
        return machine.pus();
    }

    /**
     * @return how many objects of the type hold at least one PU.
     */
    int countWithPus(final String type)
    {
        return (int)ofType(type).stream().filter(o -> !o.pus().isEmpty()).count();
    }
}
