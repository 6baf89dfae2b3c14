package dev.ferry.affinity.topology;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

final class CpuSetTest
{
    @Test
    void parsesAndPrintsTheKernelListFormat()
    {
        final CpuSet set = CpuSet.parseList("0-3,8,10-11\n");
        assertArrayEquals(new int[]{ 0, 1, 2, 3, 8, 10, 11 }, set.toArray());
        assertEquals("0-3,8,10-11", set.toString());
        assertEquals(CpuSet.empty(), CpuSet.parseList(" "));
        assertEquals("none", CpuSet.empty().toString());
        assertEquals("", CpuSet.empty().toList());
    }

    @Test
    void parsesTheKernelMaskFormatMostSignificantWordFirst()
    {
        assertEquals(CpuSet.of(0, 8), CpuSet.parseMask("00000000,00000101"));
        assertEquals(CpuSet.of(32), CpuSet.parseMask("00000001,00000000"));
        assertEquals(CpuSet.range(12, 19), CpuSet.parseMask("0x000ff000"));
        assertEquals(CpuSet.range(0, 127), CpuSet.parseMask("0xffffffff,0xffffffff,0xffffffff,0xffffffff"));
    }

    @Test
    void refusesMalformedTextNamingIt()
    {
        final IllegalArgumentException list = assertThrows(IllegalArgumentException.class, () -> CpuSet.parseList("0-x"));
        assertTrue(list.getMessage().contains("'0-x'"), list.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CpuSet.parseList("3-1"));
        assertThrows(IllegalArgumentException.class, () -> CpuSet.parseMask("zz"));
        assertThrows(IllegalArgumentException.class, () -> CpuSet.of(-1));
    }

    @Test
    void setAlgebra()
    {
        final CpuSet a = CpuSet.of(0, 1, 2);
        final CpuSet b = CpuSet.of(2, 3);
        assertEquals(CpuSet.of(2), a.and(b));
        assertEquals(CpuSet.range(0, 3), a.or(b));
        assertEquals(CpuSet.of(0, 1), a.andNot(b));
        assertTrue(a.intersects(b));
        assertTrue(a.containsAll(CpuSet.of(0, 2)));
        assertFalse(a.containsAll(b));
        assertEquals(0, a.first());
        assertEquals(2, a.last());
        assertEquals(-1, CpuSet.empty().first());
        assertEquals(3, a.toBitSet().cardinality());
    }
}
