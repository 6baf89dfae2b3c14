package dev.ferry.bench.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

import dev.ferry.affinity.topology.Cpu;
import dev.ferry.affinity.topology.CpuSet;
import dev.ferry.affinity.topology.ObjectType;
import dev.ferry.affinity.topology.Topology;
import dev.ferry.bench.report.JsonWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ferry-bench topology}: prints the machine's topology as hwloc sees it, as a tree in lstopo's
 * style or, with {@code --json}, as one JSON object with a {@code cpus} array and a {@code summary}.
 *
 * <p>Not thread-safe: picocli builds and runs one instance on one thread.
 */
@Command(
    name = "topology",
    mixinStandardHelpOptions = true,
    description = {
        "Prints the machine's CPU topology in hwloc's terms: packages, NUMA nodes, L3 and L2 caches, cores and",
        "their hardware threads (PUs), which CPUs are online and which this process may use.",
    })
public final class TopologyCommand implements Callable<Integer>
{
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Option(
        names = "--fsroot",
        paramLabel = "DIR",
        defaultValue = "/",
        description = "Read sys/ and proc/ under DIR instead of / (like hwloc's HWLOC_FSROOT). Default: ${DEFAULT-VALUE}")
    private Path fsroot;

    @Option(names = "--json", description = "Print one JSON object: a cpus array and a summary.")
    private boolean json;

    @Override
    public Integer call()
    {
        final Topology topology = Topology.load(fsroot);
        final PrintWriter out = spec.commandLine().getOut();
        out.print(json ? toJson(topology) : toText(topology));
        out.flush();
        return 0;
    }

    /**
     * @param t a topology.
     * @return the tree, then which CPUs are present, online and allowed, the counts, and what is unknown.
     */
    static String toText(final Topology t)
    {
        final StringBuilder sb = new StringBuilder(t.toTreeString());
        sb.append('\n');
        sb.append("CPUs: present ").append(t.present())
            .append(", online ").append(t.online())
            .append(", allowed ").append(t.allowed())
            .append(", usable (online and allowed) ").append(t.usable()).append('\n');
        final CpuSet offline = t.present().andNot(t.online());
        if (!offline.isEmpty())
        {
            sb.append("Offline (not in the tree): ").append(offline).append('\n');
        }
        final CpuSet disallowed = t.online().andNot(t.allowed());
        if (!disallowed.isEmpty())
        {
            sb.append("Disallowed (in the tree, marked): ").append(disallowed).append('\n');
        }
        sb.append("Allowed set from: ").append(t.allowedSource()).append('\n');
        sb.append("Counts: ")
            .append(t.count(ObjectType.PACKAGE)).append(" package(s), ")
            .append(t.count(ObjectType.NUMA_NODE)).append(" NUMA node(s), ")
            .append(t.cachesKnown() ? t.count(ObjectType.L3_CACHE) + " L3, " : "L3 unknown, ")
            .append(t.cachesKnown() ? t.count(ObjectType.L2_CACHE) + " L2, " : "L2 unknown, ")
            .append(t.count(ObjectType.CORE)).append(" core(s), ")
            .append(t.online().size()).append(" PU(s); usable: ")
            .append(t.usableCores().size()).append(" core(s), ")
            .append(t.usable().size()).append(" PU(s)\n");
        final List<CpuSet> kinds = t.kinds();
        if (kinds.size() > 1)
        {
            sb.append("Core kinds (least powerful first):");
            for (int k = 0; k < kinds.size(); k++)
            {
                sb.append(" #").append(k).append(' ').append(kinds.get(k));
            }
            sb.append('\n');
        }
        if (!t.unknowns().isEmpty())
        {
            sb.append("Unknown:\n");
            for (final String unknown : t.unknowns())
            {
                sb.append("  - ").append(unknown).append('\n');
            }
        }
        return sb.toString();
    }

    /**
     * @param t a topology.
     * @return one JSON object: {@code fsroot}, {@code cpus} (one entry per CPU present), {@code summary}
     *         (counts; -1 where unknown), {@code allowedSource} and {@code unknowns}.
     */
    static String toJson(final Topology t)
    {
        final JsonWriter json = new JsonWriter().beginObject();
        json.field("fsroot", t.root().toString());
        json.name("cpus").beginArray();
        for (final Cpu cpu : t.cpus())
        {
            json.beginObject()
                .field("cpu", cpu.id())
                .field("online", cpu.online())
                .field("allowed", cpu.allowed())
                .field("package", cpu.packageId())
                .field("core", cpu.core())
                .field("l3", cpu.l3())
                .field("numa", cpu.numaNode())
                .field("kind", cpu.kind())
                .endObject();
        }
        json.endArray();
        json.name("summary").beginObject()
            .field("cpus", t.present().size())
            .field("online", t.online().size())
            .field("allowed", t.allowed().size())
            .field("usable", t.usable().size())
            .field("packages", t.count(ObjectType.PACKAGE))
            .field("numaNodes", t.count(ObjectType.NUMA_NODE))
            .field("l3Caches", t.cachesKnown() ? t.count(ObjectType.L3_CACHE) : -1)
            .field("l2Caches", t.cachesKnown() ? t.count(ObjectType.L2_CACHE) : -1)
            .field("cores", t.count(ObjectType.CORE))
            .field("usableCores", t.usableCores().size())
            .field("kinds", t.kinds().size())
            .endObject();
        json.field("allowedSource", t.allowedSource());
        json.name("unknowns").beginArray();
        for (final String unknown : t.unknowns())
        {
            json.value(unknown);
        }
        json.endArray();
        return json.endObject() + "\n";
    }
}
