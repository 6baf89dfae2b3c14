package dev.ferry.affinity.placement;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.ferry.affinity.pin.Pinning;
import dev.ferry.affinity.pin.PinningThreadFactory;
import dev.ferry.affinity.topology.CpuSet;
import dev.ferry.affinity.topology.HwlocFixtures;
import dev.ferry.affinity.topology.Topology;
import dev.ferry.agent.AgentRole;
import net.openhft.affinity.Affinity;
import org.junit.jupiter.api.Test;

/**
 * Placements on hwloc's machines: 16em64t-4s2c2t (4 packages x 2 cores x 2 threads, siblings n and n+8),
 * 2arm-2c (2 cores, no SMT, like this 2-vCPU VM) and 16amd64-8n2c-cpusets (a cpuset allowing 0-6,12-15).
 */
final class PlacementTest
{
    private static final Topology SMT = Topology.load(HwlocFixtures.root("16em64t-4s2c2t"));
    private static final Topology TWO_CORES = Topology.load(HwlocFixtures.root("2arm-2c"));
    private static final Topology CPUSET = Topology.load(HwlocFixtures.root("16amd64-8n2c-cpusets"));

    @Test
    void serversOnDistinctCoresMoversOnTheirSiblings()
    {
        final Placement p = Placement.plan(SMT, Roles.of(2, 2, 1), PlacementPolicy.defaults());
        final int[] servers = p.servers();
        assertFalse(SMT.smtSiblings(servers[0]).contains(servers[1]), "servers share no core: " + p);
        assertEquals(SMT.smtSiblings(servers[0]).andNot(CpuSet.of(servers[0])).first(), p.movers()[0]);
        assertEquals(SMT.smtSiblings(servers[1]).andNot(CpuSet.of(servers[1])).first(), p.movers()[1]);
        assertFalse(p.oversubscribed());
        assertTrue(p.notes().isEmpty());
        assertEquals(servers[1], p.cpuFor(AgentRole.SERVER, 1));
        assertEquals(p.movers()[0], p.cpuFor(AgentRole.MOVER, 0));
        for (final int cpu : new int[]{ servers[0], servers[1], p.movers()[0], p.movers()[1], p.clientCpu(0) })
        {
            assertTrue(SMT.usable().contains(cpu));
        }
    }

    @Test
    void moversOnCoresOfTheirOwn()
    {
        final Placement p = Placement.plan(SMT, Roles.of(2, 1, 0), PlacementPolicy.defaults().withMovers(MoverPlacement.OWN_CORE));
        final int mover = p.movers()[0];
        for (final int server : p.servers())
        {
            assertFalse(SMT.smtSiblings(server).contains(mover), p.toString());
        }
    }

    @Test
    void refusesWhatDoesNotFitNamingNeedAndAllowed()
    {
        final PlacementException ex = assertThrows(PlacementException.class, () ->
            Placement.plan(TWO_CORES, Roles.of(2, 2, 1), PlacementPolicy.defaults().withMovers(MoverPlacement.OWN_CORE)));
        assertTrue(ex.getMessage().startsWith("needs 5 physical cores (2 server(s), 2 mover(s) on cores of their own, " +
            "1 client(s)); allowed: 0-1 (2 physical core(s))"), ex.getMessage());
    }

    @Test
    void aMoverOnASiblingNeedsSmt()
    {
        final PlacementException ex = assertThrows(PlacementException.class, () ->
            Placement.plan(TWO_CORES, Roles.of(1, 1, 0), PlacementPolicy.defaults().withMovers(MoverPlacement.SMT_SIBLING)));
        assertTrue(ex.getMessage().contains("needs a second usable hardware thread"), ex.getMessage());
        assertTrue(ex.getMessage().contains("allowed: 0-1"), ex.getMessage());

        final Placement fallback = Placement.plan(TWO_CORES, Roles.of(1, 1, 0), PlacementPolicy.defaults());
        assertArrayEquals(new int[]{ 0 }, fallback.servers());
        assertArrayEquals(new int[]{ 1 }, fallback.movers(), "no sibling: the mover gets the other core");
    }

    @Test
    void avoidsCpu0()
    {
        final Placement p = Placement.plan(TWO_CORES, Roles.of(1, 0, 0), PlacementPolicy.defaults().withAvoidCpu0(true));
        assertArrayEquals(new int[]{ 1 }, p.servers());
        final PlacementException ex = assertThrows(PlacementException.class, () ->
            Placement.plan(TWO_CORES, Roles.of(2, 0, 0), PlacementPolicy.defaults().withAvoidCpu0(true)));
        assertTrue(ex.getMessage().contains("needs 2 physical cores"), ex.getMessage());
        assertTrue(ex.getMessage().contains("allowed: 0-1 avoiding CPU 0's core (1 physical core(s))"), ex.getMessage());
    }

    @Test
    void oversubscriptionSharesCpusAndSaysSo()
    {
        final Placement p = Placement.plan(TWO_CORES, Roles.of(2, 1, 1),
            PlacementPolicy.defaults().withOversubscribe(true));
        assertTrue(p.oversubscribed());
        assertArrayEquals(new int[]{ 0, 1 }, p.servers());
        assertEquals(Map.of(0, List.of("server 0", "mover 0"), 1, List.of("server 1", "client 0")), p.sharedCpus());
        assertTrue(p.notes().get(0).startsWith("oversubscribed: 4 agents need cores of their own but only 2"), p.notes().toString());
        assertTrue(p.notes().get(1).contains("CPU 0 runs server 0 and mover 0"), p.notes().toString());
    }

    @Test
    void onlyAllowedCpusAreUsed()
    {
        final Placement p = Placement.plan(CPUSET, Roles.of(4, 0, 6), PlacementPolicy.defaults());
        for (final int cpu : p.servers())
        {
            assertTrue(CPUSET.usable().contains(cpu));
        }
        for (final int cpu : p.clients())
        {
            assertTrue(CPUSET.usable().contains(cpu));
        }
        final PlacementException ex = assertThrows(PlacementException.class, () ->
            Placement.plan(CPUSET, Roles.of(11, 0, 0), PlacementPolicy.defaults()));
        assertTrue(ex.getMessage().startsWith("needs 11 physical cores (11 server(s)); allowed: 0-3,5-6,12-15 (10 physical core(s))"),
            ex.getMessage());
    }

    @Test
    void explicitListsAreCheckedAgainstTheAllowedSet()
    {
        final Placement p = Placement.plan(CPUSET, Roles.of(2, 1, 0),
            PlacementPolicy.defaults().withExplicitCpus(new int[]{ 2, 3 }, new int[]{ 12 }, new int[0]));
        assertArrayEquals(new int[]{ 2, 3 }, p.servers());
        assertEquals(12, p.cpuFor(AgentRole.MOVER, 0));

        final PlacementException notAllowed = assertThrows(PlacementException.class, () ->
            Placement.plan(CPUSET, Roles.of(1, 0, 0), PlacementPolicy.defaults().withExplicitCpus(new int[]{ 8 }, new int[0], new int[0])));
        assertEquals("server 0 on CPU 8: CPU 8 is not in this process's allowed set 0-3,5-6,12-15", notAllowed.getMessage());

        final PlacementException shared = assertThrows(PlacementException.class, () ->
            Placement.plan(CPUSET, Roles.of(1, 1, 0), PlacementPolicy.defaults().withExplicitCpus(new int[]{ 2 }, new int[]{ 2 }, new int[0])));
        assertTrue(shared.getMessage().contains("server 0 and mover 0 on CPU 2"), shared.getMessage());

        final PlacementException sameCore = assertThrows(PlacementException.class, () ->
            Placement.plan(SMT, Roles.of(2, 0, 0), PlacementPolicy.defaults().withExplicitCpus(new int[]{ 0, 8 }, new int[0], new int[0])));
        assertTrue(sameCore.getMessage().contains("on one physical core (CPUs 0,8)"), sameCore.getMessage());

        final Placement allowedToShare = Placement.plan(SMT, Roles.of(2, 0, 0),
            PlacementPolicy.defaults().withOversubscribe(true).withExplicitCpus(new int[]{ 0, 0 }, new int[0], new int[0]));
        assertTrue(allowedToShare.oversubscribed());
    }

    @Test
    void aMissingAgentIsNamed()
    {
        final Placement p = Placement.plan(TWO_CORES, Roles.of(1, 0, 0), PlacementPolicy.defaults());
        final IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> p.cpuFor(AgentRole.MOVER, 0));
        assertEquals("the placement has no CPU for mover 0: it places 0 mover(s)", ex.getMessage());
    }

    @Test
    void theThreadFactoryNamesThreadsByAgentAndCpu()
    {
        final Placement p = Placement.plan(TWO_CORES, Roles.of(1, 1, 0), PlacementPolicy.defaults());
        final Thread server = p.threadFactory().newThread(AgentRole.SERVER, 0, () -> { });
        final Thread mover = p.threadFactory().newThread(AgentRole.MOVER, 0, () -> { });
        assertEquals("ferry-server-0@cpu0", server.getName());
        assertEquals("ferry-mover-0@cpu1", mover.getName());
        assertEquals(Thread.State.NEW, server.getState());
    }

    @Test
    void onTheLiveMachineAPlacementPinsTheKernelsAgents() throws InterruptedException
    {
        assumeTrue(Pinning.isAvailable(), () -> "native affinity unavailable here: " + Pinning.unavailableReason());
        final Topology live = Topology.live();
        final Placement p = Placement.plan(live, Roles.of(1, 1, 0), PlacementPolicy.defaults().withOversubscribe(true));
        final PinningThreadFactory factory = p.threadFactory();
        final Map<AgentRole, CpuSet> seen = new ConcurrentHashMap<>();
        final Thread server = factory.newThread(AgentRole.SERVER, 0, () -> seen.put(AgentRole.SERVER, CpuSet.of(Affinity.getAffinity())));
        final Thread mover = factory.newThread(AgentRole.MOVER, 0, () -> seen.put(AgentRole.MOVER, CpuSet.of(Affinity.getAffinity())));
        server.start();
        mover.start();
        server.join(10_000);
        mover.join(10_000);
        assertEquals(CpuSet.of(p.servers()[0]), seen.get(AgentRole.SERVER), p.toString());
        assertEquals(CpuSet.of(p.movers()[0]), seen.get(AgentRole.MOVER), p.toString());
    }
}
