package dev.ferry.samples.sessions;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * A thread per session, blocking on its own queue: the driver puts each request's issue time on the session's
 * queue; the session's thread takes it, counts it, and puts the reply on the driver's queue. With platform threads
 * this is the thread-per-connection server; with virtual threads, the same code on JDK 21's lightweight threads.
 * A cap on the number of threads keeps the platform variant from exhausting the machine.
 *
 * <p>Threading: the driver thread calls every method; each session's counter is written by its own thread and
 * read by the driver only after that thread has ended ({@link #wrongCounts} joins them).
 */
final class ThreadSessions implements SessionHost
{
    private static final long STOP = Long.MIN_VALUE;

    private final String name;
    private final ThreadFactory factory;
    private final int cap;
    private final LinkedBlockingQueue<long[]> replies = new LinkedBlockingQueue<>();
    private final List<Thread> threads = new ArrayList<>();
    private List<LinkedBlockingQueue<Long>> queues;
    private long[] counts;
    private boolean stopped;

    /**
     * @param name    for the table.
     * @param factory makes each session's thread.
     * @param cap     most threads it may start; more sessions than that is where it gives out.
     */
    ThreadSessions(final String name, final ThreadFactory factory, final int cap)
    {
        this.name = name;
        this.factory = factory;
        this.cap = cap;
    }

    @Override
    public String name()
    {
        return name;
    }

    @Override
    public void open(final int sessions) throws GaveOut
    {
        if (sessions > cap)
        {
            throw new GaveOut("thread cap " + cap + " reached (raise it with --thread-cap, at your machine's risk)");
        }
        queues = new ArrayList<>(sessions);
        counts = new long[sessions];
        for (int s = 0; s < sessions; s++)
        {
            final LinkedBlockingQueue<Long> queue = new LinkedBlockingQueue<>();
            queues.add(queue);
            final int session = s;
            final Thread t = factory.newThread(() -> serve(session, queue));
            if (t == null)
            {
                throw new GaveOut("the thread factory made no thread for session " + s);
            }
            t.setDaemon(true);
            try
            {
                t.start();
            }
            catch (final OutOfMemoryError ex)
            {
                close();
                throw new GaveOut("could not start thread " + (s + 1) + ": " + ex.getMessage());
            }
            threads.add(t);
        }
    }

    private void serve(final int session, final LinkedBlockingQueue<Long> queue)
    {
        long count = 0;
        try
        {
            while (true)
            {
                final long issuedNs = queue.take();
                if (issuedNs == STOP)
                {
                    break;
                }
                replies.put(new long[]{issuedNs, ++count});
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        counts[session] = count;
    }

    @Override
    public int drive(final int perSession, final int window, final long deadlineNs, final long[] latencies)
    {
        final int sessions = queues.size();
        final long total = (long)sessions * perSession;
        long issued = 0;
        int received = 0;
        int inFlight = 0;
        try
        {
            while (issued < total || inFlight > 0)
            {
                while (issued < total && inFlight < window && System.nanoTime() - deadlineNs < 0)
                {
                    queues.get((int)(issued % sessions)).put(System.nanoTime());
                    issued++;
                    inFlight++;
                }
                final long[] reply = replies.poll(Math.max(1, (deadlineNs - System.nanoTime()) / 1_000_000L) + 1000,
                    TimeUnit.MILLISECONDS);
                if (reply == null)
                {
                    break;
                }
                final long rtt = System.nanoTime() - reply[0];
                if (received < latencies.length)
                {
                    latencies[received] = rtt;
                }
                received++;
                inFlight--;
                if (System.nanoTime() - deadlineNs > 0 && issued < total)
                {
                    // Out of time: stop issuing, take what is in flight.
                    issued = total;
                }
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        return received;
    }

    @Override
    public int wrongCounts(final int perSession)
    {
        close();
        int wrong = 0;
        for (final long c : counts)
        {
            if (c != perSession)
            {
                wrong++;
            }
        }
        return wrong;
    }

    @Override
    public void close()
    {
        if (stopped || queues == null)
        {
            return;
        }
        stopped = true;
        for (final LinkedBlockingQueue<Long> q : queues)
        {
            q.add(STOP);
        }
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (final Thread t : threads)
        {
            try
            {
                t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000L));
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                return;
            }
            if (t.isAlive())
            {
                t.interrupt();
            }
        }
    }

    /**
     * @return a factory of virtual threads when this JVM has them (JDK 21 or later), else null. Looked up by
     * reflection, since Ferry compiles for Java 17.
     */
    static ThreadFactory virtualThreadFactory()
    {
        try
        {
            final Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
            final Class<?> builderType = Class.forName("java.lang.Thread$Builder");
            return (ThreadFactory)builderType.getMethod("factory").invoke(builder);
        }
        catch (final ReflectiveOperationException | RuntimeException ex)
        {
            return null;
        }
    }
}
