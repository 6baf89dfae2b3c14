package dev.ferry.ring;

/**
 * Checks ring capacities and sizes, with messages that say what to change.
 *
 * <p>Stateless; thread-safe.
 */
public final class Capacity
{
    private Capacity()
    {
    }

    /**
     * @param what     what the number sizes, for the message.
     * @param capacity the proposed capacity.
     * @param minimum  the smallest allowed.
     * @return {@code capacity}.
     * @throws IllegalArgumentException if it is below the minimum or not a power of two.
     */
    public static int check(final String what, final int capacity, final int minimum)
    {
        if (capacity < minimum)
        {
            throw new IllegalArgumentException(what + " is " + capacity + "; it must be at least " + minimum);
        }
        if (Integer.bitCount(capacity) != 1)
        {
            throw new IllegalArgumentException(what + " is " + capacity + "; it must be a power of two, such as "
                + Integer.highestOneBit(capacity) + " or " + (Integer.highestOneBit(capacity) << 1));
        }
        return capacity;
    }
}
