package dev.ferry.idle;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of {@link WakeSignal}'s handshake, the one a poller and a producer go through whenever the poller is
 * about to park: the producer publishes work with a release store (as a ring publishes an entry) and calls
 * {@link WakeSignal#wake()}; the poller announces its park with {@link WakeSignal#sleeping()} and polls once more.
 *
 * <p>Result: (the producer found the poller announced and woke it, the poller's last poll saw the work). Forbidden:
 * (0, 0), the lost wake-up: the poller would park with work waiting and nobody to wake it. Without the full fence in
 * {@code wake()} this is Dekker's store-buffer reordering, seen on x86.
 */
@JCStressTest
@Description("WakeSignal: publish then wake() against sleeping() then poll once more")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "The producer saw the announcement and woke the poller.")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "The poller's last poll saw the work; it will not park.")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "Both: a spare wake.")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "Lost wake-up: work waits while the poller parks unwoken.")
@State
public class WakeSignalHandshakeStressTest
{
    private static final VarHandle WORK;

    static
    {
        try
        {
            WORK = MethodHandles.lookup().findVarHandle(WakeSignalHandshakeStressTest.class, "work", int.class);
        }
        catch (final ReflectiveOperationException ex)
        {
            throw new ExceptionInInitializerError(ex);
        }
    }

    private final WakeSignal signal = new WakeSignal();
    @SuppressWarnings("unused")
    private int work;

    @Actor
    public void producer(final II_Result r)
    {
        WORK.setRelease(this, 1);
        r.r1 = signal.wake() ? 1 : 0;
    }

    @Actor
    public void poller(final II_Result r)
    {
        signal.sleeping();
        r.r2 = (int)WORK.getAcquire(this);
    }
}
