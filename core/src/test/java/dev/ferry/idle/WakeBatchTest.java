package dev.ferry.idle;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A producer's batch of owed wakes: one per consumer, after the batch, and a parked consumer really wakes. */
class WakeBatchTest
{
    @Test
    void repeatsOfTheLastSignalAreOwedOnceAndAFullBatchWakesEarly()
    {
        final WakeBatch batch = new WakeBatch(2);
        final WakeSignal a = new WakeSignal();
        final WakeSignal b = new WakeSignal();
        final WakeSignal c = new WakeSignal();
        batch.add(a);
        batch.add(a);
        assertEquals(1, batch.pending());
        batch.add(b);
        assertEquals(2, batch.pending());
        batch.add(c);
        assertEquals(1, batch.pending(), "a full batch wakes what it holds before taking more");
        batch.wakeAll();
        assertEquals(0, batch.pending());
        assertThrows(IllegalArgumentException.class, () -> new WakeBatch(0));
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void anAnnouncedParkIsWokenAtTheEndOfTheBatch() throws Exception
    {
        final WakeSignal signal = new WakeSignal();
        final CountDownLatch announced = new CountDownLatch(1);
        final long[] slept = new long[1];
        final Thread poller = new Thread(() ->
        {
            signal.sleeping();
            announced.countDown();
            final long start = System.nanoTime();
            // Parks until unparked; the 20 s cap only keeps a broken wake from hanging the test.
            while (System.nanoTime() - start < 20_000_000_000L && signal.isSleeping())
            {
                LockSupport.parkNanos(20_000_000_000L);
                if (Thread.interrupted())
                {
                    break;
                }
                signal.awake();
            }
            slept[0] = System.nanoTime() - start;
        });
        poller.start();
        assertTrue(announced.await(10, TimeUnit.SECONDS));
        final WakeBatch batch = new WakeBatch(4);
        batch.add(signal);
        assertTrue(signal.isSleeping() || !poller.isAlive());
        batch.wakeAll();
        poller.join(15_000);
        assertFalse(poller.isAlive(), "the poller was never woken");
        assertTrue(slept[0] < 15_000_000_000L, "woken by the batch, not by its park's timeout: " + slept[0] + " ns");
        assertFalse(signal.wake(), "an awake poller is not woken");
    }
}
