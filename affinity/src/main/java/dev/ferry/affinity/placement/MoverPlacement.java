package dev.ferry.affinity.placement;

/**
 * Where a placement puts each mover.
 *
 * <p>Immutable; safe to share between threads.
 */
public enum MoverPlacement
{
    /** Mover {@code i} on an SMT sibling of server {@code i}'s CPU; refused where that core has no free sibling. */
    SMT_SIBLING,
    /** Each mover on a physical core of its own. */
    OWN_CORE,
    /** An SMT sibling of server {@code i} where there is one, else a core of its own. */
    SIBLING_OR_OWN_CORE
}
