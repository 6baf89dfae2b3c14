package dev.ferry.samples.sessions;

import dev.ferry.Client;
import dev.ferry.Completion;
import dev.ferry.CompletionHandler;
import dev.ferry.Kernel;
import dev.ferry.KernelBuilder;
import dev.ferry.Mode;
import dev.ferry.Status;
import dev.ferry.agent.AgentThreadFactory;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Sessions as state inside a few Ferry servers: session {@code s} lives on server {@code s % servers}, as one
 * counter in that server's table; a request carries the session id and its issue time, the reply the time and the
 * session's new count. One client (the driver's thread) multiplexes every session's requests in DIRECT mode.
 *
 * <p>Threading: the driver thread owns the client; each server's table is touched only by its server thread until
 * {@link #close()}, after which {@link #wrongCounts} reads it.
 */
final class FerrySessions implements SessionHost
{
    private final int servers;
    private final AgentThreadFactory threadFactory;
    private final String placementNote;
    private Kernel kernel;
    private Client client;
    private long[][] tables;
    private int sessions;

    FerrySessions(final int servers, final AgentThreadFactory threadFactory, final String placementNote)
    {
        this.servers = servers;
        this.threadFactory = threadFactory;
        this.placementNote = placementNote;
    }

    @Override
    public String name()
    {
        return "ferry (" + servers + " server" + (servers == 1 ? "" : "s") + ", " + placementNote + ")";
    }

    @Override
    public void open(final int sessions)
    {
        open(sessions, 256);
    }

    void open(final int sessions, final int window)
    {
        this.sessions = sessions;
        this.tables = new long[servers][(sessions + servers - 1) / servers];
        final KernelBuilder b = Kernel.builder().mode(Mode.DIRECT).slotBytes(16).threadFactory(threadFactory)
            .maxInFlight(capacity(window));
        for (int i = 0; i < servers; i++)
        {
            final long[] table = tables[i];
            b.service(i, (msg, len) ->
            {
                final int session = msg.getInt(0);
                final long issuedNs = msg.getLong(8);
                msg.putLong(0, issuedNs);
                msg.putLong(8, ++table[session / servers]);
                return 16;
            });
        }
        kernel = b.build().start();
        client = kernel.newClient();
    }

    @Override
    public int drive(final int perSession, final int window, final long deadlineNs, final long[] latencies)
    {
        final UnsafeBuffer req = new UnsafeBuffer(new byte[16]);
        final long total = (long)sessions * perSession;
        final int inFlightMax = Math.min(window, client.freeSlots());
        final Recorder recorder = new Recorder(latencies);
        long issued = 0;
        while ((issued < total || client.inFlight() > 0))
        {
            if (System.nanoTime() - deadlineNs > 0)
            {
                break;
            }
            while (issued < total && client.inFlight() < inFlightMax)
            {
                final int session = (int)(issued % sessions);
                req.putInt(0, session);
                req.putLong(8, System.nanoTime());
                if (client.submit(session % servers, req, 0, 16) == Client.BACK_PRESSURE)
                {
                    break;
                }
                issued++;
            }
            client.await(recorder, inFlightMax);
        }
        while (client.inFlight() > 0)
        {
            client.await(recorder, inFlightMax);
        }
        return recorder.count;
    }

    @Override
    public int wrongCounts(final int perSession)
    {
        close();
        int wrong = 0;
        for (int s = 0; s < sessions; s++)
        {
            if (tables[s % servers][s / servers] != perSession)
            {
                wrong++;
            }
        }
        return wrong;
    }

    @Override
    public void close()
    {
        if (kernel != null)
        {
            if (client != null && client.inFlight() == 0)
            {
                client.close();
            }
            kernel.close();
        }
    }

    static int capacity(final int window)
    {
        return Math.max(2, Integer.highestOneBit(Math.max(1, window - 1)) << 1);
    }

    private static final class Recorder implements CompletionHandler
    {
        private final long[] latencies;
        private int count;

        Recorder(final long[] latencies)
        {
            this.latencies = latencies;
        }

        @Override
        public void onCompletion(final Completion c)
        {
            if (c.status() != Status.OK)
            {
                throw new IllegalStateException("session request failed: " + c.status(), c.failure());
            }
            final long rtt = System.nanoTime() - c.buffer().getLong(0);
            if (count < latencies.length)
            {
                latencies[count] = rtt;
            }
            count++;
        }
    }
}
