package dev.ferry.affinity.pin;

import dev.ferry.agent.AgentRole;

/**
 * Which CPU each agent of a kernel runs on: what a {@link PinningThreadFactory} needs from a placement.
 *
 * <p>Implementations must be safe to call from the thread that starts a kernel; the placement's own
 * implementation is immutable.
 */
@FunctionalInterface
public interface AgentCpus
{
    /**
     * @param role  the agent's role.
     * @param index the agent's index within its role, from 0.
     * @return the operating-system index of the CPU the agent must run on.
     * @throws IllegalArgumentException if there is no CPU for that agent; the message says how many agents
     *                                  of that role have one.
     */
    int cpuFor(AgentRole role, int index);
}
