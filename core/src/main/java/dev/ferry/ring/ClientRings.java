package dev.ferry.ring;

import org.jctools.queues.MpscArrayQueue;

import dev.ferry.idle.WakeSignal;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * What the kernel's agents see of one client: its submission ring (read by its mover), its completion ring (written
 * by servers or its mover), its owning thread (unparked in BLOCKING mode) and its pool of slots.
 *
 * <p>Threading: the fields are final. The submission ring has the client's thread as its producer; the completion
 * ring is multi-producer and its one consumer is the client's thread. The slots live in one cache-line-aligned
 * block of direct memory, freed with the client. Internal to Ferry.
 */
public final class ClientRings
{
    private final int clientId;
    private final int moverIndex;
    private final Thread owner;
    private final SubmissionRing submissions;
    private final MpscArrayQueue<Slot> completions;
    private final Slot[] slots;
    private final UnsafeBuffer memory;
    private final WakeSignal wakeSignal = new WakeSignal();

    /**
     * @param clientId   the client's id within its kernel.
     * @param moverIndex which mover owns the client (MOVER mode), else 0.
     * @param owner      the only thread that may use the client.
     * @param capacity   slots in the pool, entries in each ring; a power of two, at least 2.
     * @param slotBytes  payload bytes per slot.
     */
    public ClientRings(final int clientId, final int moverIndex, final Thread owner, final int capacity, final int slotBytes)
    {
        this.clientId = clientId;
        this.moverIndex = moverIndex;
        this.owner = owner;
        this.submissions = new SubmissionRing(capacity);
        // Every slot in flight fits at once, so posting a completion never fails.
        this.completions = new MpscArrayQueue<>(capacity);
        this.slots = new Slot[capacity];
        final int stride = Slot.stride(slotBytes);
        this.memory = new UnsafeBuffer(BufferUtil.allocateDirectAligned(stride * capacity, Slot.ALIGNMENT));
        for (int i = 0; i < capacity; i++)
        {
            slots[i] = new Slot(this, i, memory, i * stride, slotBytes);
        }
    }

    /**
     * @return the client's id within its kernel.
     */
    public int clientId()
    {
        return clientId;
    }

    /**
     * @return the index of the mover that owns this client.
     */
    public int moverIndex()
    {
        return moverIndex;
    }

    /**
     * @return the client's owning thread.
     */
    public Thread owner()
    {
        return owner;
    }

    /**
     * @return the submission ring.
     */
    public SubmissionRing submissions()
    {
        return submissions;
    }

    /**
     * @return the signal on which the client's thread announces that it parks while awaiting completions.
     */
    public WakeSignal wakeSignal()
    {
        return wakeSignal;
    }

    /**
     * @return the completion ring.
     */
    public MpscArrayQueue<Slot> completions()
    {
        return completions;
    }

    /**
     * @return the pool of slots; the array is the client's, not to be modified.
     */
    public Slot[] slots()
    {
        return slots;
    }

    /**
     * Posts a completed slot to this client's completion ring. Any thread.
     *
     * @param slot a slot of this client's, its outcome recorded.
     */
    public void complete(final Slot slot)
    {
        if (!completions.offer(slot))
        {
            // Cannot happen: the ring holds as many entries as the client has slots.
            throw new IllegalStateException("completion ring of client " + clientId + " is full; " + slot);
        }
    }
}
