package dev.ferry.agent;

import dev.ferry.idle.AdaptiveIdleStrategy;
import dev.ferry.idle.WakeSignal;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs one Agrona {@link Agent} on its own thread: {@code doWork()} then {@code idle(workCount)}, until stopped.
 * Unlike Agrona's {@code AgentRunner} it wakes a parked agent when asked to stop and gives up waiting for a thread
 * that will not end, so closing a kernel is bounded in time.
 *
 * <p>Threading: {@link #start}, {@link #stop()} and {@link #awaitTermination} are called by the kernel's lifecycle
 * thread; the loop itself runs on the thread the factory made. An exception that escapes {@code doWork()} is counted,
 * reported once to standard error, and the loop goes on.
 */
public final class AgentLoop implements Runnable
{
    private final Agent agent;
    private final IdleStrategy idleStrategy;
    private final AtomicLong errors = new AtomicLong();
    private volatile boolean running = true;
    private volatile Throwable firstError;
    private Thread thread;

    /**
     * @param agent        the agent to run.
     * @param idleStrategy how it idles when a duty cycle found no work.
     */
    public AgentLoop(final Agent agent, final IdleStrategy idleStrategy)
    {
        this.agent = agent;
        this.idleStrategy = idleStrategy;
    }

    /**
     * Creates the agent's thread with the factory and starts it.
     *
     * @param factory makes (and may pin) the thread.
     * @param role    the agent's role, for the factory.
     * @param index   the agent's index within its role.
     * @return the started thread.
     */
    public Thread start(final AgentThreadFactory factory, final AgentRole role, final int index)
    {
        final Thread t = factory.newThread(role, index, this);
        if (t == null)
        {
            throw new IllegalStateException("the AgentThreadFactory returned null for " + role + " " + index);
        }
        thread = t;
        t.start();
        return t;
    }

    /**
     * @return the agent's thread, once started.
     */
    public Thread thread()
    {
        return thread;
    }

    @Override
    public void run()
    {
        try
        {
            agent.onStart();
            final IdleStrategy idle = this.idleStrategy;
            final AdaptiveIdleStrategy adaptive = idle instanceof AdaptiveIdleStrategy
                && ((AdaptiveIdleStrategy)idle).wakeSignal() != null ? (AdaptiveIdleStrategy)idle : null;
            while (running)
            {
                int work = duty();
                if (work == 0 && adaptive != null && adaptive.parksNext())
                {
                    // Announce the park, then look once more: a producer that published before seeing the
                    // announcement is caught here instead of being slept through.
                    final WakeSignal signal = adaptive.wakeSignal();
                    signal.sleeping();
                    work = duty();
                    if (work > 0)
                    {
                        signal.awake();
                    }
                }
                idle.idle(work);
            }
        }
        finally
        {
            agent.onClose();
        }
    }

    private int duty()
    {
        try
        {
            return agent.doWork();
        }
        catch (final Throwable t)
        {
            if (errors.getAndIncrement() == 0)
            {
                firstError = t;
                System.err.println("ferry: agent " + agent.roleName() + " failed in doWork (first of possibly "
                    + "several; it keeps running): " + t);
                t.printStackTrace();
            }
            return 0;
        }
    }

    /** Asks the loop to end after its current duty cycle, waking it if it is parked. */
    public void stop()
    {
        running = false;
        final Thread t = thread;
        if (t != null)
        {
            LockSupport.unpark(t);
        }
    }

    /**
     * Waits for the thread to end, interrupting it halfway through the wait if it has not.
     *
     * @param timeout how long to wait in all.
     * @param unit    its unit.
     * @return true if the thread has ended.
     * @throws InterruptedException if the waiting thread is interrupted.
     */
    public boolean awaitTermination(final long timeout, final TimeUnit unit) throws InterruptedException
    {
        final Thread t = thread;
        if (t == null)
        {
            return true;
        }
        final long halfMs = Math.max(1, unit.toMillis(timeout) / 2);
        t.join(halfMs);
        if (t.isAlive())
        {
            t.interrupt();
            t.join(halfMs);
        }
        return !t.isAlive();
    }

    /**
     * @return exceptions that escaped {@code doWork()} so far.
     */
    public long errors()
    {
        return errors.get();
    }

    /**
     * @return the first exception that escaped {@code doWork()}, or null.
     */
    public Throwable firstError()
    {
        return firstError;
    }

    /**
     * @return the agent this loop runs.
     */
    public Agent agent()
    {
        return agent;
    }
}
