package dev.ferry;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The future of {@link Client#callAsync}. Completions reach a client only when its owning thread polls, so waiting
 * on this future from that thread polls the client until the future is done instead of blocking forever; from any
 * other thread it waits as any future does. Its call has the client's call timeout: the future fails with
 * {@link CallFailedException} ({@link Status#TIMED_OUT}) once it has passed, so waiting on the owning thread ends.
 * Waiting on the owning thread throws {@link IllegalStateException} when it would wait for itself (a handler waiting
 * for its own service).
 */
final class CallFuture extends CompletableFuture<Reply>
{
    private final Client client;
    private final int serviceId;

    CallFuture(final Client client, final int serviceId)
    {
        this.client = client;
        this.serviceId = serviceId;
    }

    int serviceId()
    {
        return serviceId;
    }

    @Override
    public Reply get() throws InterruptedException, ExecutionException
    {
        pumpIfOwner(Long.MAX_VALUE);
        return super.get();
    }

    @Override
    public Reply get(final long timeout, final TimeUnit unit)
        throws InterruptedException, ExecutionException, TimeoutException
    {
        final long deadline = System.nanoTime() + unit.toNanos(timeout);
        pumpIfOwner(deadline);
        if (client.isOwner() && !isDone())
        {
            throw new TimeoutException("call not completed within " + timeout + " " + unit);
        }
        return super.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    @Override
    public Reply join()
    {
        pumpIfOwner(Long.MAX_VALUE);
        return super.join();
    }

    private void pumpIfOwner(final long deadlineNs)
    {
        if (!isDone() && client.isOwner())
        {
            client.pumpUntil(this, deadlineNs);
        }
    }
}
