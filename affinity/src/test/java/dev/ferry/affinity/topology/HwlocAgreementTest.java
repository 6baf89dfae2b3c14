package dev.ferry.affinity.topology;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every hwloc fixture machine, read by Ferry, must agree with hwloc's own view of it (lstopo's .console):
 * for each PU hwloc lists, the same core, L3 and package; the same counts; the same logical numbering.
 */
final class HwlocAgreementTest
{
    static Stream<String> fixtures()
    {
        return HwlocFixtures.names().stream();
    }

    @Test
    void everyFixtureIsThere()
    {
        assertEquals(7, HwlocFixtures.names().size(), "hwloc fixtures: " + HwlocFixtures.names());
        assertTrue(HwlocFixtures.resourceDir().resolve("COPYING.hwloc").toFile().isFile());
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void usablePusAreHwlocsPus(final String name) throws IOException
    {
        final HwlocConsole hwloc = HwlocConsole.parse(HwlocFixtures.console(name));
        final Topology ferry = Topology.load(HwlocFixtures.root(name));
        assertEquals(hwloc.pus(), ferry.usable(), name + ": hwloc shows exactly the online, allowed CPUs");
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void eachPuHasHwlocsCoreL3AndPackage(final String name) throws IOException
    {
        final HwlocConsole hwloc = HwlocConsole.parse(HwlocFixtures.console(name));
        final Topology ferry = Topology.load(HwlocFixtures.root(name));
        final CpuSet visible = hwloc.pus();
        for (final HwlocConsole.Obj pu : hwloc.ofType("PU"))
        {
            final int cpu = pu.os;
            final String where = name + " PU P#" + cpu;

            final HwlocConsole.Obj core = pu.ancestor("Core");
            assertEquals(core.pus(), ferry.smtSiblings(cpu).and(visible), where + ": SMT siblings");
            assertEquals(core.os, ferry.cpu(cpu).coreId(), where + ": core P#");

            final HwlocConsole.Obj l3 = pu.ancestor("L3Cache");
            if (l3 == null)
            {
                assertTrue(ferry.sharingL3(cpu).isEmpty(), where + ": hwloc shows no L3, Ferry " + ferry.sharingL3(cpu));
                assertEquals(-1, ferry.cpu(cpu).l3(), where + ": l3 index");
            }
            else
            {
                assertEquals(l3.pus(), ferry.sharingL3(cpu).and(visible), where + ": CPUs sharing its L3");
                if (ferry.usable().equals(ferry.online()))
                {
                    assertEquals(l3.logical, ferry.cpu(cpu).l3(), where + ": L3 L#");
                }
            }

            final HwlocConsole.Obj l2 = pu.ancestor("L2Cache");
            if (l2 != null)
            {
                assertEquals(l2.pus(), ferry.sharingL2(cpu).and(visible), where + ": CPUs sharing its L2");
            }

            final HwlocConsole.Obj pkg = pu.ancestor("Package");
            assertEquals(pkg.pus(), ferry.samePackage(cpu).and(visible), where + ": package");
            assertEquals(pkg.os, ferry.cpu(cpu).packageId(), where + ": package P#");

            if (ferry.usable().equals(ferry.online()))
            {
                // hwloc numbers only what this process may use; Ferry numbers disallowed CPUs too.
                assertEquals(core.logical, ferry.cpu(cpu).core(), where + ": core L#");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void countsAgree(final String name) throws IOException
    {
        final HwlocConsole hwloc = HwlocConsole.parse(HwlocFixtures.console(name));
        final Topology ferry = Topology.load(HwlocFixtures.root(name));
        assertEquals(hwloc.countWithPus("Package"), ferry.usableCount(ObjectType.PACKAGE), name + ": packages");
        assertEquals(hwloc.countWithPus("Core"), ferry.usableCount(ObjectType.CORE), name + ": cores");
        assertEquals(hwloc.countWithPus("L3Cache"), ferry.usableCount(ObjectType.L3_CACHE), name + ": L3 caches");
        assertEquals(hwloc.countWithPus("L2Cache"), ferry.usableCount(ObjectType.L2_CACHE), name + ": L2 caches");
        assertEquals(hwloc.ofType("PU").size(), ferry.usable().size(), name + ": PUs");
        assertEquals(hwloc.ofType("Core").size(), ferry.usableCores().size(), name + ": usable cores");
        assertEquals(hwloc.ofType("Core").size(), ferry.onePerCore().size(), name + ": one CPU per core");
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void treeMatchesLstopo(final String name) throws IOException
    {
        final Topology ferry = Topology.load(HwlocFixtures.root(name));
        final HwlocConsole hwloc = HwlocConsole.parse(HwlocFixtures.console(name));
        final List<String> expected = new ArrayList<>();
        for (final HwlocConsole.Obj o : hwloc.objects)
        {
            if (List.of("Package", "L3Cache", "L2Cache", "Core", "PU").contains(o.type) && !o.pus().isEmpty())
            {
                expected.add(o.type + " L#" + o.logical + (o.type.equals("Package") || o.type.equals("PU") ? " P#" + o.os : ""));
            }
        }
        final List<String> actual = new ArrayList<>();
        collect(ferry.tree(), ferry.usable(), actual);
        if (!ferry.usable().equals(ferry.online()))
        {
            // hwloc numbers only what this process may use (and keeps CPU-less packages that hold memory),
            // Ferry every online CPU: compare the order of the objects both show.
            renumberDensely(expected);
            renumberDensely(actual);
        }
        assertEquals(expected, actual, name + ": objects in lstopo's order");
    }

    /**
     * Renumbers the objects of each type 0, 1, 2... in the order met.
     */
    private static void renumberDensely(final List<String> labels)
    {
        final java.util.Map<String, Integer> next = new java.util.HashMap<>();
        for (int i = 0; i < labels.size(); i++)
        {
            final String label = labels.get(i);
            final String type = label.substring(0, label.indexOf(" L#"));
            final int n = next.merge(type, 1, Integer::sum) - 1;
            labels.set(i, label.replaceFirst(" L#\\d+", " L#" + n));
        }
    }

    private static void collect(final TopologyNode node, final CpuSet usable, final List<String> out)
    {
        final String type = node.type().hwlocName();
        if (List.of("Package", "L3Cache", "L2Cache", "Core", "PU").contains(type) && node.cpus().intersects(usable))
        {
            out.add(type + " L#" + node.logicalIndex() + (type.equals("Package") || type.equals("PU") ? " P#" + node.osIndex() : ""));
        }
        node.children().forEach(c -> collect(c, usable, out));
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void everyPresentCpuIsListedNoneDropped(final String name)
    {
        final Topology ferry = Topology.load(HwlocFixtures.root(name));
        assertEquals(ferry.present().size(), ferry.cpus().size(), name);
        for (final Cpu cpu : ferry.cpus())
        {
            if (!cpu.online())
            {
                assertEquals(-1, cpu.core(), name + ": an offline CPU's core is unknown");
                assertFalse(ferry.usable().contains(cpu.id()));
            }
        }
    }
}
