package dev.ferry.agent;

/**
 * Makes the thread that runs one agent of a kernel: the hook through which the affinity module pins
 * servers and movers to the CPUs a placement chose.
 *
 * <p>The kernel calls {@link #newThread} from the thread that starts it, once per agent, with a role and
 * the agent's index within that role (server {@code i} serves the {@code i}-th registered service; mover
 * {@code i} owns the {@code i}-th shard of clients). The returned thread must not be started: the kernel
 * starts it. Implementations need not be thread-safe unless shared between kernels started concurrently.
 */
@FunctionalInterface
public interface AgentThreadFactory
{
    /**
     * Creates, but does not start, the thread for one agent.
     *
     * @param role  what the agent does.
     * @param index the agent's index within its role, from 0.
     * @param body  what the thread must run.
     * @return an unstarted thread that runs {@code body}.
     */
    Thread newThread(AgentRole role, int index, Runnable body);

    /**
     * The default: plain daemon threads named {@code ferry-server-0}, {@code ferry-mover-0} and so on.
     *
     * @return a factory of unpinned daemon threads.
     */
    static AgentThreadFactory daemon()
    {
        return (role, index, body) ->
        {
            final Thread t = new Thread(body, "ferry-" + role.name().toLowerCase(java.util.Locale.ROOT) + "-" + index);
            t.setDaemon(true);
            return t;
        };
    }
}
