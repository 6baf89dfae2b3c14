package dev.ferry.affinity.placement;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.ferry.affinity.pin.AgentCpus;
import dev.ferry.affinity.pin.PinningThreadFactory;
import dev.ferry.affinity.topology.CpuSet;
import dev.ferry.affinity.topology.Topology;
import dev.ferry.agent.AgentRole;

/**
 * Which CPU runs which agent: servers on physical cores of their own, movers where the policy says, client
 * threads after them. Made by {@link #plan}, which refuses a placement that does not fit the allowed CPUs
 * with a message naming what was needed and what is allowed, unless the policy allows oversubscription, in
 * which case agents share CPUs and {@link #oversubscribed()} and {@link #notes()} say which.
 *
 * <p>The core runtime pins its agents through {@link #threadFactory()}:
 * <pre>{@code
 * Placement placement = Placement.plan(Topology.live(), Roles.of(2, 1, 0), PlacementPolicy.defaults());
 * AgentThreadFactory threads = placement.threadFactory();   // pins server i / mover i where placed
 * }</pre>
 *
 * <p>Immutable; safe to share between threads.
 */
public final class Placement implements AgentCpus
{
    private final Roles roles;
    private final PlacementPolicy policy;
    private final CpuSet usable;
    private final int[] servers;
    private final int[] movers;
    private final int[] clients;
    private final boolean oversubscribed;
    private final List<String> notes;

    private Placement(
        final Roles roles,
        final PlacementPolicy policy,
        final CpuSet usable,
        final int[] servers,
        final int[] movers,
        final int[] clients,
        final List<String> notes)
    {
        this.roles = roles;
        this.policy = policy;
        this.usable = usable;
        this.servers = servers;
        this.movers = movers;
        this.clients = clients;
        this.oversubscribed = computeShared().values().stream().anyMatch(agents -> agents.size() > 1);
        final List<String> all = new ArrayList<>(notes);
        if (oversubscribed)
        {
            final StringBuilder sb = new StringBuilder("shared CPUs:");
            sharedCpus().forEach((cpu, agents) -> sb.append(" CPU ").append(cpu).append(" runs ")
                .append(String.join(" and ", agents)).append(';'));
            sb.setLength(sb.length() - 1);
            all.add(sb.toString());
        }
        this.notes = List.copyOf(all);
    }

    /**
     * Places the roles on the topology's usable CPUs by the policy.
     *
     * @param topology the machine.
     * @param roles    how many servers, movers and clients.
     * @param policy   the rules.
     * @return the placement.
     * @throws PlacementException if it does not fit; the message names what was needed and what is allowed.
     */
    public static Placement plan(final Topology topology, final Roles roles, final PlacementPolicy policy)
    {
        final List<String> notes = new ArrayList<>();
        CpuSet candidates = topology.usable();
        String allowedText = topology.usable().toString();
        if (policy.restrictTo() != null)
        {
            candidates = candidates.and(policy.restrictTo());
            allowedText += " restricted to " + policy.restrictTo();
        }
        if (policy.avoidCpu0() && candidates.contains(0))
        {
            candidates = candidates.andNot(topology.smtSiblings(0).isEmpty() ? CpuSet.of(0) : topology.smtSiblings(0));
            allowedText += " avoiding CPU 0's core";
        }

        if (policy.explicit())
        {
            return explicit(topology, roles, policy, candidates, allowedText, notes);
        }

        final List<CpuSet> cores = new ArrayList<>();
        for (final CpuSet core : topology.usableCores())
        {
            final CpuSet mine = core.and(candidates);
            if (!mine.isEmpty())
            {
                cores.add(mine);
            }
        }
        if (roles.servers() + roles.movers() + roles.clients() > 0 && cores.isEmpty())
        {
            throw new PlacementException("no CPU to place " + roles + " on; allowed: " + allowedText);
        }

        final int[] servers = new int[roles.servers()];
        final int[] movers = new int[roles.movers()];
        final int[] clients = new int[roles.clients()];
        final boolean[] moverOnSibling = new boolean[roles.movers()];
        int moversOnOwnCores = 0;
        for (int m = 0; m < movers.length; m++)
        {
            final boolean hasSibling = m < servers.length && m < cores.size() && cores.get(m).size() > 1;
            switch (policy.movers())
            {
                case SMT_SIBLING:
                    if (!hasSibling && !policy.oversubscribe())
                    {
                        throw new PlacementException(siblingRefusal(m, servers.length, cores, allowedText));
                    }
                    moverOnSibling[m] = true;
                    break;
                case SIBLING_OR_OWN_CORE:
                    moverOnSibling[m] = hasSibling;
                    break;
                default:
                    moverOnSibling[m] = false;
                    break;
            }
            if (!moverOnSibling[m])
            {
                moversOnOwnCores++;
            }
        }

        final int needed = servers.length + moversOnOwnCores + clients.length;
        if (needed > cores.size() && !policy.oversubscribe())
        {
            throw new PlacementException("needs " + needed + " physical cores (" + servers.length + " server(s)" +
                (moversOnOwnCores > 0 ? ", " + moversOnOwnCores + " mover(s) on cores of their own" : "") +
                (movers.length > moversOnOwnCores ? ", " + (movers.length - moversOnOwnCores) + " mover(s) on SMT siblings" : "") +
                (clients.length > 0 ? ", " + clients.length + " client(s)" : "") + "); allowed: " + allowedText +
                " (" + cores.size() + " physical core(s)). Use fewer agents, or allow oversubscription to share CPUs");
        }

        // Slots: the first thread of every core, then the second threads, and so on; wrapping around shares CPUs.
        final List<Integer> slots = new ArrayList<>();
        for (int thread = 0; slots.size() < candidates.size(); thread++)
        {
            for (final CpuSet core : cores)
            {
                final int[] cpus = core.toArray();
                if (thread < cpus.length)
                {
                    slots.add(cpus[thread]);
                }
            }
        }
        int next = 0;
        for (int s = 0; s < servers.length; s++)
        {
            servers[s] = next < cores.size() ? cores.get(next).first() : slots.get(next % slots.size());
            next++;
        }
        for (int m = 0; m < movers.length; m++)
        {
            if (moverOnSibling[m])
            {
                final CpuSet core = m < servers.length ? coreOf(cores, servers[m]) : CpuSet.empty();
                movers[m] = core.size() > 1 ? core.toArray()[1] : (m < servers.length ? servers[m] : slots.get(0));
            }
            else
            {
                movers[m] = next < cores.size() ? cores.get(next).first() : slots.get(next % slots.size());
                next++;
            }
        }
        for (int c = 0; c < clients.length; c++)
        {
            clients[c] = next < cores.size() ? cores.get(next).first() : slots.get(next % slots.size());
            next++;
        }
        if (needed > cores.size())
        {
            notes.add("oversubscribed: " + needed + " agents need cores of their own but only " + cores.size() +
                " physical core(s) are allowed (" + allowedText + "); agents share CPUs");
        }
        return new Placement(roles, policy, topology.usable(), servers, movers, clients, notes);
    }

    private static Placement explicit(
        final Topology topology,
        final Roles roles,
        final PlacementPolicy policy,
        final CpuSet candidates,
        final String allowedText,
        final List<String> notes)
    {
        final int[] servers = policy.explicitServers();
        final int[] movers = policy.explicitMovers();
        final int[] clients = policy.explicitClients();
        if (servers.length != roles.servers() || movers.length != roles.movers() || clients.length != roles.clients())
        {
            throw new PlacementException("explicit CPU lists give " + servers.length + " server(s), " + movers.length +
                " mover(s), " + clients.length + " client(s), but the roles are " + roles);
        }
        checkAllowed("server", servers, candidates, allowedText);
        checkAllowed("mover", movers, candidates, allowedText);
        checkAllowed("client", clients, candidates, allowedText);
        final Placement placement = new Placement(roles, policy, topology.usable(), servers.clone(), movers.clone(), clients.clone(), notes);
        if (!policy.oversubscribe())
        {
            for (final Map.Entry<Integer, List<String>> e : placement.computeShared().entrySet())
            {
                if (e.getValue().size() > 1)
                {
                    throw new PlacementException("explicit CPU lists put " + String.join(" and ", e.getValue()) +
                        " on CPU " + e.getKey() + "; give each agent its own CPU, or allow oversubscription");
                }
            }
            for (int a = 0; a < servers.length; a++)
            {
                for (int b = a + 1; b < servers.length; b++)
                {
                    if (topology.smtSiblings(servers[a]).contains(servers[b]))
                    {
                        throw new PlacementException("explicit CPU lists put server " + a + " (CPU " + servers[a] +
                            ") and server " + b + " (CPU " + servers[b] + ") on one physical core (CPUs " +
                            topology.smtSiblings(servers[a]) + "); each server needs a core of its own, or allow oversubscription");
                    }
                }
            }
        }
        return placement;
    }

    private static void checkAllowed(final String role, final int[] cpus, final CpuSet candidates, final String allowedText)
    {
        for (int i = 0; i < cpus.length; i++)
        {
            if (!candidates.contains(cpus[i]))
            {
                throw new PlacementException(role + " " + i + " on CPU " + cpus[i] + ": CPU " + cpus[i] +
                    " is not in this process's allowed set " + allowedText);
            }
        }
    }

    private static String siblingRefusal(final int mover, final int servers, final List<CpuSet> cores, final String allowedText)
    {
        if (mover >= servers)
        {
            return "mover " + mover + " on an SMT sibling of server " + mover + " needs at least " + (mover + 1) +
                " server(s), but there are " + servers + "; use movers on cores of their own";
        }
        if (mover >= cores.size())
        {
            return "server " + mover + " has no core; allowed: " + allowedText;
        }
        return "mover " + mover + " on an SMT sibling of server " + mover + " needs a second usable hardware thread on " +
            "its core, but that core offers only CPU " + cores.get(mover) + " (no SMT, or siblings not allowed); allowed: " +
            allowedText + ". Use movers on cores of their own";
    }

    private static CpuSet coreOf(final List<CpuSet> cores, final int cpu)
    {
        for (final CpuSet core : cores)
        {
            if (core.contains(cpu))
            {
                return core;
            }
        }
        return CpuSet.of(cpu);
    }

    private Map<Integer, List<String>> computeShared()
    {
        final Map<Integer, List<String>> byCpu = new LinkedHashMap<>();
        for (int i = 0; i < servers.length; i++)
        {
            byCpu.computeIfAbsent(servers[i], k -> new ArrayList<>()).add("server " + i);
        }
        for (int i = 0; i < movers.length; i++)
        {
            byCpu.computeIfAbsent(movers[i], k -> new ArrayList<>()).add("mover " + i);
        }
        for (int i = 0; i < clients.length; i++)
        {
            byCpu.computeIfAbsent(clients[i], k -> new ArrayList<>()).add("client " + i);
        }
        return byCpu;
    }

    /**
     * @param role  server or mover.
     * @param index the agent's index within its role.
     * @return the CPU that agent runs on.
     * @throws IllegalArgumentException if the placement has no such agent.
     */
    @Override
    public int cpuFor(final AgentRole role, final int index)
    {
        final int[] cpus = role == AgentRole.SERVER ? servers : movers;
        if (index < 0 || index >= cpus.length)
        {
            throw new IllegalArgumentException("the placement has no CPU for " + role.name().toLowerCase(java.util.Locale.ROOT) +
                " " + index + ": it places " + cpus.length + " " + role.name().toLowerCase(java.util.Locale.ROOT) + "(s)");
        }
        return cpus[index];
    }

    /**
     * @param index a client's index.
     * @return the CPU that client thread should be pinned to.
     * @throws IllegalArgumentException if the placement has no such client.
     */
    public int clientCpu(final int index)
    {
        if (index < 0 || index >= clients.length)
        {
            throw new IllegalArgumentException("the placement has no CPU for client " + index + ": it places " + clients.length + " client(s)");
        }
        return clients[index];
    }

    /**
     * @return the servers' CPUs, server {@code i} at index {@code i}.
     */
    public int[] servers()
    {
        return servers.clone();
    }

    /**
     * @return the movers' CPUs, mover {@code i} at index {@code i}.
     */
    public int[] movers()
    {
        return movers.clone();
    }

    /**
     * @return the clients' CPUs, client {@code i} at index {@code i}.
     */
    public int[] clients()
    {
        return clients.clone();
    }

    /**
     * @return whether some CPU runs more than one agent.
     */
    public boolean oversubscribed()
    {
        return oversubscribed;
    }

    /**
     * @return for each CPU given to more than one agent, those agents (e.g. {@code 0 -> [server 0, client 0]}).
     */
    public Map<Integer, List<String>> sharedCpus()
    {
        final Map<Integer, List<String>> shared = new LinkedHashMap<>();
        computeShared().forEach((cpu, agents) ->
        {
            if (agents.size() > 1)
            {
                shared.put(cpu, List.copyOf(agents));
            }
        });
        return shared;
    }

    /**
     * @return remarks on the placement, such as oversubscription; empty when there is nothing to say.
     */
    public List<String> notes()
    {
        return notes;
    }

    /**
     * @return the roles placed.
     */
    public Roles roles()
    {
        return roles;
    }

    /**
     * @return the policy followed.
     */
    public PlacementPolicy policy()
    {
        return policy;
    }

    /**
     * @return a thread factory for a Ferry kernel that pins server {@code i} and mover {@code i} to the CPUs
     *         this placement chose (unpinned, with one warning, where native affinity is unavailable).
     */
    public PinningThreadFactory threadFactory()
    {
        return new PinningThreadFactory(this, usable);
    }

    @Override
    public String toString()
    {
        final StringBuilder sb = new StringBuilder("Placement{servers=").append(Arrays.toString(servers))
            .append(", movers=").append(Arrays.toString(movers))
            .append(", clients=").append(Arrays.toString(clients));
        if (oversubscribed)
        {
            sb.append(", oversubscribed ").append(sharedCpus());
        }
        return sb.append('}').toString();
    }
}
