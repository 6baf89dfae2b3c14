package dev.ferry.idle;

import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.locks.LockSupport;

/**
 * Blocks an idle agent until another thread unparks it: the classic blocking hand-off of
 * {@link dev.ferry.Mode#BLOCKING}, where every call pays for waking the server and then the caller.
 *
 * <p>Whoever hands work to the owning thread must call {@link LockSupport#unpark(Thread)} on it afterwards; the park
 * permit makes an unpark that comes before the park a no-op wait, so no wake-up is lost. Parks are timed
 * ({@link #MAX_PARK_NS}) all the same.
 *
 * <p>Threading: stateless; {@link #idle(int)} must only be called by the thread that others unpark.
 */
public final class ParkingIdleStrategy implements IdleStrategy
{
    /**
     * The longest park: a parked agent or caller looks again this often even if nobody unparks it, so that a
     * deadline or a peer's death is noticed without a wake-up.
     */
    public static final long MAX_PARK_NS = 10_000_000L;

    /** The one instance: the strategy holds no state. */
    public static final ParkingIdleStrategy INSTANCE = new ParkingIdleStrategy();

    private ParkingIdleStrategy()
    {
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public void idle(final int workCount)
    {
        if (workCount <= 0)
        {
            LockSupport.parkNanos(this, MAX_PARK_NS);
        }
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public void idle()
    {
        LockSupport.parkNanos(this, MAX_PARK_NS);
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public void reset()
    {
    }

    /**
     * {@inheritDoc}
     */
    @Override
    public String alias()
    {
        return "park";
    }
}
