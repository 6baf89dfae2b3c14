package dev.ferry.affinity.topology;

import java.util.BitSet;
import java.util.stream.IntStream;

/**
 * An immutable set of CPUs named by their operating-system index (hwloc's {@code P#}), read from and printed
 * in the kernel's list format ({@code "0-3,8,10-11"}).
 *
 * <p>Immutable; safe to share between threads.
 */
public final class CpuSet implements Comparable<CpuSet>
{
    private static final CpuSet EMPTY = new CpuSet(new BitSet());

    private final BitSet bits;

    private CpuSet(final BitSet bits)
    {
        this.bits = bits;
    }

    /**
     * @return the set with no CPU.
     */
    public static CpuSet empty()
    {
        return EMPTY;
    }

    /**
     * @param cpus operating-system CPU indexes, each at least 0.
     * @return the set of those CPUs.
     */
    public static CpuSet of(final int... cpus)
    {
        final BitSet bits = new BitSet();
        for (final int cpu : cpus)
        {
            if (cpu < 0)
            {
                throw new IllegalArgumentException("CPU index must be at least 0, got " + cpu);
            }
            bits.set(cpu);
        }
        return new CpuSet(bits);
    }

    /**
     * @param bits CPUs as set bits; copied.
     * @return the set of those CPUs.
     */
    public static CpuSet of(final BitSet bits)
    {
        return new CpuSet((BitSet)bits.clone());
    }

    /**
     * @param first the lowest CPU, at least 0.
     * @param last  the highest CPU, at least {@code first}.
     * @return the CPUs {@code first..last}, both included.
     */
    public static CpuSet range(final int first, final int last)
    {
        if (first < 0 || last < first)
        {
            throw new IllegalArgumentException("bad CPU range " + first + "-" + last);
        }
        final BitSet bits = new BitSet(last + 1);
        bits.set(first, last + 1);
        return new CpuSet(bits);
    }

    /**
     * Parses the kernel's list format, as in {@code cpulist}, {@code shared_cpu_list} or
     * {@code Cpus_allowed_list}: comma-separated CPUs and inclusive ranges, e.g. {@code "0-3,8,10-11"}.
     * An empty or blank string is the empty set.
     *
     * @param list the text.
     * @return the set.
     * @throws IllegalArgumentException if the text is not in list format.
     */
    public static CpuSet parseList(final String list)
    {
        final String text = list.trim();
        final BitSet bits = new BitSet();
        if (text.isEmpty())
        {
            return new CpuSet(bits);
        }
        for (final String part : text.split(","))
        {
            final String item = part.trim();
            try
            {
                final int dash = item.indexOf('-');
                if (dash < 0)
                {
                    bits.set(Integer.parseInt(item));
                }
                else
                {
                    final int first = Integer.parseInt(item.substring(0, dash));
                    final int last = Integer.parseInt(item.substring(dash + 1));
                    if (first < 0 || last < first)
                    {
                        throw new IllegalArgumentException("bad range");
                    }
                    bits.set(first, last + 1);
                }
            }
            catch (final RuntimeException ex)
            {
                throw new IllegalArgumentException(
                    "not a CPU list: '" + list + "' (expected e.g. 0-3,8,10-11; bad item '" + item + "')", ex);
            }
        }
        return new CpuSet(bits);
    }

    /**
     * Parses the kernel's mask format, as in {@code shared_cpu_map} or {@code thread_siblings}: comma-separated
     * 32-bit hexadecimal words, most significant first, e.g. {@code "00000000,00000101"} for CPUs 0 and 8.
     * Words may carry a {@code 0x} prefix, as hwloc prints them.
     *
     * @param mask the text.
     * @return the set.
     * @throws IllegalArgumentException if the text is not a mask.
     */
    public static CpuSet parseMask(final String mask)
    {
        final String text = mask.trim();
        final BitSet bits = new BitSet();
        if (text.isEmpty())
        {
            return new CpuSet(bits);
        }
        final String[] words = text.split(",");
        for (int w = 0; w < words.length; w++)
        {
            String word = words[words.length - 1 - w].trim();
            if (word.startsWith("0x") || word.startsWith("0X"))
            {
                word = word.substring(2);
            }
            final long value;
            try
            {
                value = word.isEmpty() ? 0 : Long.parseLong(word, 16);
            }
            catch (final NumberFormatException ex)
            {
                throw new IllegalArgumentException(
                    "not a CPU mask: '" + mask + "' (expected hex words such as 00000000,00000101)", ex);
            }
            if (value < 0 || value > 0xFFFF_FFFFL)
            {
                throw new IllegalArgumentException("not a CPU mask: '" + mask + "' (word '" + word + "' is not 32 bits)");
            }
            for (int b = 0; b < 32; b++)
            {
                if ((value & (1L << b)) != 0)
                {
                    bits.set(w * 32 + b);
                }
            }
        }
        return new CpuSet(bits);
    }

    /**
     * @param cpu an operating-system CPU index.
     * @return whether the set holds it.
     */
    public boolean contains(final int cpu)
    {
        return cpu >= 0 && bits.get(cpu);
    }

    /**
     * @param other another set.
     * @return whether every CPU of {@code other} is in this set.
     */
    public boolean containsAll(final CpuSet other)
    {
        final BitSet rest = (BitSet)other.bits.clone();
        rest.andNot(bits);
        return rest.isEmpty();
    }

    /**
     * @param other another set.
     * @return whether the sets share a CPU.
     */
    public boolean intersects(final CpuSet other)
    {
        return bits.intersects(other.bits);
    }

    /**
     * @return how many CPUs the set holds.
     */
    public int size()
    {
        return bits.cardinality();
    }

    /**
     * @return whether the set holds no CPU.
     */
    public boolean isEmpty()
    {
        return bits.isEmpty();
    }

    /**
     * @return the lowest CPU, or -1 if the set is empty.
     */
    public int first()
    {
        return bits.nextSetBit(0);
    }

    /**
     * @return the highest CPU, or -1 if the set is empty.
     */
    public int last()
    {
        return bits.length() - 1;
    }

    /**
     * @param other another set.
     * @return the CPUs in both sets.
     */
    public CpuSet and(final CpuSet other)
    {
        final BitSet result = (BitSet)bits.clone();
        result.and(other.bits);
        return new CpuSet(result);
    }

    /**
     * @param other another set.
     * @return the CPUs in either set.
     */
    public CpuSet or(final CpuSet other)
    {
        final BitSet result = (BitSet)bits.clone();
        result.or(other.bits);
        return new CpuSet(result);
    }

    /**
     * @param other another set.
     * @return the CPUs in this set and not in {@code other}.
     */
    public CpuSet andNot(final CpuSet other)
    {
        final BitSet result = (BitSet)bits.clone();
        result.andNot(other.bits);
        return new CpuSet(result);
    }

    /**
     * @return the CPUs in ascending order.
     */
    public IntStream stream()
    {
        return bits.stream();
    }

    /**
     * @return the CPUs in ascending order.
     */
    public int[] toArray()
    {
        return bits.stream().toArray();
    }

    /**
     * @return a fresh {@link BitSet} with one bit set per CPU, as OpenHFT Affinity takes it.
     */
    public BitSet toBitSet()
    {
        return (BitSet)bits.clone();
    }

    /**
     * @return the kernel's list format, e.g. {@code "0-3,8"}; the empty set is {@code ""}.
     */
    public String toList()
    {
        final StringBuilder sb = new StringBuilder();
        int start = bits.nextSetBit(0);
        while (start >= 0)
        {
            final int end = bits.nextClearBit(start) - 1;
            if (sb.length() > 0)
            {
                sb.append(',');
            }
            sb.append(start);
            if (end > start)
            {
                sb.append('-').append(end);
            }
            start = bits.nextSetBit(end + 1);
        }
        return sb.toString();
    }

    /**
     * Orders sets by their lowest CPU, then by size, then by list: the order in which hwloc numbers the
     * objects of one type.
     */
    @Override
    public int compareTo(final CpuSet other)
    {
        final int byFirst = Integer.compare(first(), other.first());
        if (byFirst != 0)
        {
            return byFirst;
        }
        final int bySize = Integer.compare(size(), other.size());
        return bySize != 0 ? bySize : toList().compareTo(other.toList());
    }

    @Override
    public boolean equals(final Object o)
    {
        return o instanceof CpuSet && bits.equals(((CpuSet)o).bits);
    }

    @Override
    public int hashCode()
    {
        return bits.hashCode();
    }

    /**
     * @return the list format, or {@code "none"} for the empty set.
     */
    @Override
    public String toString()
    {
        return isEmpty() ? "none" : toList();
    }
}
