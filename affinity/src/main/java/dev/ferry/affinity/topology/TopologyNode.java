package dev.ferry.affinity.topology;

import java.util.List;

/**
 * One object of a {@link Topology} tree, in hwloc's terms: the machine, a package, a die, a NUMA node, a
 * cache, a cluster, a core or a processing unit, with the CPUs it covers and the objects nested in it.
 *
 * <p>Immutable; safe to share between threads.
 */
public final class TopologyNode
{
    private final ObjectType type;
    private final int logicalIndex;
    private final int osIndex;
    private final CpuSet cpus;
    private final String attributes;
    private final List<TopologyNode> children;

    TopologyNode(
        final ObjectType type,
        final int logicalIndex,
        final int osIndex,
        final CpuSet cpus,
        final String attributes,
        final List<TopologyNode> children)
    {
        this.type = type;
        this.logicalIndex = logicalIndex;
        this.osIndex = osIndex;
        this.cpus = cpus;
        this.attributes = attributes;
        this.children = List.copyOf(children);
    }

    /**
     * @return what kind of object this is.
     */
    public ObjectType type()
    {
        return type;
    }

    /**
     * @return the index among objects of this type in depth-first order, from 0 (hwloc's {@code L#}).
     */
    public int logicalIndex()
    {
        return logicalIndex;
    }

    /**
     * @return the operating system's index (hwloc's {@code P#}), or -1 where the OS gives none (caches).
     */
    public int osIndex()
    {
        return osIndex;
    }

    /**
     * @return the online CPUs this object covers, allowed or not.
     */
    public CpuSet cpus()
    {
        return cpus;
    }

    /**
     * @return extra facts printed after the indexes, e.g. {@code cpukind=1} or {@code disallowed}; may be empty.
     */
    public String attributes()
    {
        return attributes;
    }

    /**
     * @return the objects nested directly in this one: NUMA nodes first, then the rest by lowest CPU.
     */
    public List<TopologyNode> children()
    {
        return children;
    }

    /**
     * @return one line in lstopo's style, e.g. {@code Core L#1 (P#4 cpukind=1)}.
     */
    public String label()
    {
        final StringBuilder sb = new StringBuilder(type.hwlocName());
        if (type != ObjectType.MACHINE)
        {
            sb.append(" L#").append(logicalIndex);
        }
        final StringBuilder inner = new StringBuilder();
        if (osIndex >= 0)
        {
            inner.append("P#").append(osIndex);
        }
        if (!attributes.isEmpty())
        {
            if (inner.length() > 0)
            {
                inner.append(' ');
            }
            inner.append(attributes);
        }
        if (inner.length() > 0)
        {
            sb.append(" (").append(inner).append(')');
        }
        return sb.toString();
    }

    /**
     * Appends this object and everything nested in it, one object per line, two spaces of indent per level,
     * as lstopo prints a topology on a console.
     *
     * @param out   where to append.
     * @param depth the indent level of this object.
     */
    public void appendTree(final StringBuilder out, final int depth)
    {
        out.append("  ".repeat(depth)).append(label()).append('\n');
        for (final TopologyNode child : children)
        {
            child.appendTree(out, depth + 1);
        }
    }

    @Override
    public String toString()
    {
        return label() + " cpus=" + cpus;
    }
}
