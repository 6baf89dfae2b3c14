package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;

import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The protocol of the client and server table entries of an IPC mapping (docs/ipc-layout.md, "Client and server
 * table entries"), in one place: who may move an entry from which state to which, and with what memory order. Static
 * methods over the mapping's buffer and an entry's offset in it ({@link IpcLayout#clientEntry(int)},
 * {@link IpcLayout#serverEntry(int)}); the layout is version 3's, unchanged.
 *
 * <p><b>The state word.</b> An entry's state (int at 0) and generation (int at 4) are adjacent and 8-aligned (entries
 * are 128 bytes from a page-aligned table), so they are read as one 64-bit <em>word</em> and every transition is one
 * 64-bit compare-and-swap of the word the mover read. A transition therefore fails if anyone else moved the entry
 * meanwhile, even back to the same state: the generation, incremented by each new occupant, tells a new occupancy
 * from an old one (no ABA). Names say the memory order, as in JCTools: {@code lv} load volatile (acquire),
 * {@code lp} load plain, {@code sv} store volatile, {@code so} store ordered (release), {@code sp} store plain,
 * {@code cas} compare-and-swap (volatile).
 *
 * <p><b>Heartbeat before state.</b> A claimant stamps the entry's heartbeat <em>before</em> its CAS publishes the new
 * state, and everyone who judges an entry reads its word first (acquire) and its heartbeat after. So whoever sees a
 * new occupant's state also sees its fresh heartbeat, and cannot take a claim in progress for a dead occupant. Read
 * the other way round (heartbeat, then word), a second server could pair an old, stale heartbeat with the first
 * server's new ATTACHING word and take the entry from it.
 *
 * <p><b>Transitions.</b>
 * <ul>
 *     <li>Client: FREE → ATTACHING ({@link #claimByClient}) → ATTACHED ({@link #publish}) → DETACHED
 *     ({@link #detach}).</li>
 *     <li>Server: FREE, DETACHED, QUARANTINED, a state no Ferry writes, or an ATTACHING or ATTACHED entry whose
 *     heartbeat is older than the server timeout → ATTACHING ({@link #claimByServer}) → ATTACHED ({@link #publish})
 *     → DETACHED ({@link #detach}).</li>
 *     <li>Kernel, client entries only: DETACHED, ATTACHING or ATTACHED older than the client timeout, or a state no
 *     Ferry writes → QUARANTINED ({@link #quarantine}) → FREE ({@link #release}), the latter only once every live
 *     server has ended a pass since the quarantine ({@link #passedSince}).</li>
 * </ul>
 * Each claim increments the generation (wrapping from {@link Integer#MAX_VALUE} to 1: a generation is never 0 or
 * negative); the other transitions keep it.
 *
 * <p><b>The pass barrier.</b> A server touches a client's lanes only within a pass of its loop that found the client
 * ATTACHED: it reads the client's word with {@link #lvWordInPass} (a full fence, then acquire) when it starts to
 * serve the client's lane in a pass, and stores its pass counter with {@link #soPass} (release) after each pass. The
 * kernel quarantines (a CAS: a full fence) and then records each server's pass counter ({@link #lvPass}); it releases
 * the client's block only when every live server's counter has moved since. The fence before the server's read
 * closes the store-buffer window: without it the server's release store of pass {@code k} could still be in flight
 * while its next pass reads the client ATTACHED, the kernel would record {@code k - 1}, see {@code k} land, and zero
 * the block under the writes of pass {@code k + 1}.
 *
 * <p>Threading: stateless; every method may be called from any thread of any process mapping the table. Each entry
 * has at most one occupant at a time, and only the kernel's housekeeping thread quarantines and releases.
 */
final class EntryTable
{
    /** {@link #claimByClient}: the entry was not FREE. */
    static final int NOT_FREE = -1;
    /** A claim lost its compare-and-swap: another party moved the entry between the claimant's read and its CAS. */
    static final int LOST_RACE = -2;
    /** {@link #claimByServer}: the entry is ATTACHING or ATTACHED and its heartbeat is fresh. */
    static final int LIVE_OCCUPANT = -3;

    /** {@link #quarantine}: the entry was left as it was. */
    static final int KEPT = 0;
    /** {@link #quarantine}: a DETACHED entry was quarantined. */
    static final int QUARANTINED_DETACHED = 1;
    /** {@link #quarantine}: an ATTACHING or ATTACHED entry older than the client timeout was quarantined. */
    static final int QUARANTINED_STALE = 2;
    /** {@link #quarantine}: an entry in a state no Ferry writes (the table was overwritten) was quarantined. */
    static final int QUARANTINED_CORRUPT = 3;

    /** How many times {@link #claimByServer} retries after an old occupant's detach beat its CAS. */
    private static final int SERVER_CLAIM_TRIES = 3;
    /** Where the state lies in the word: offset 0 is the word's low half on a little-endian machine. */
    private static final int STATE_SHIFT = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? 0 : 32;
    private static final int GENERATION_SHIFT = 32 - STATE_SHIFT;
    private static final long MASK = 0xFFFF_FFFFL;

    private EntryTable()
    {
    }

    // --- the word ---------------------------------------------------------------------------------------------------

    /** @return the state word of {@code (state, generation)}, as it lies at offset 0 of an entry. */
    static long word(final int state, final int generation)
    {
        return (state & MASK) << STATE_SHIFT | (generation & MASK) << GENERATION_SHIFT;
    }

    /** @return the state of a word. */
    static int state(final long word)
    {
        return (int)(word >>> STATE_SHIFT);
    }

    /** @return the generation of a word. */
    static int generation(final long word)
    {
        return (int)(word >>> GENERATION_SHIFT);
    }

    /** @return the generation a new occupant takes after {@code generation}: the next one, never 0 or negative. */
    static int nextGeneration(final int generation)
    {
        return generation >= 1 && generation < Integer.MAX_VALUE ? generation + 1 : 1;
    }

    // --- single fields, memory order in the name -------------------------------------------------------------------

    /** Acquire: the state and generation, read together. */
    static long lvWord(final UnsafeBuffer table, final int entry)
    {
        return table.getLongVolatile(entry + IpcLayout.ENTRY_STATE_OFFSET);
    }

    /**
     * The server's read of a client's word when it starts to serve the client's lane in a pass: a full fence (so
     * that the store of its previous pass's counter is visible before this read, see the class comment), then
     * acquire. Serve the lane only if the word is {@code (ATTACHED, g)} with the generation the lane is bound to.
     */
    static long lvWordInPass(final UnsafeBuffer table, final int clientEntry)
    {
        VarHandle.fullFence();
        return table.getLongVolatile(clientEntry + IpcLayout.ENTRY_STATE_OFFSET);
    }

    /** Volatile compare-and-swap of the whole word: a full fence either way. */
    static boolean casWord(final UnsafeBuffer table, final int entry, final long expected, final long update)
    {
        return table.compareAndSetLong(entry + IpcLayout.ENTRY_STATE_OFFSET, expected, update);
    }

    /** Acquire. */
    static long lvHeartbeat(final UnsafeBuffer table, final int entry)
    {
        return table.getLongVolatile(entry + IpcLayout.ENTRY_HEARTBEAT_OFFSET);
    }

    /** Release: a heartbeat stamp (the process's stamper, {@link Heartbeats}, stamps the same way). */
    static void soHeartbeat(final UnsafeBuffer table, final int entry, final long nanoTime)
    {
        table.putLongOrdered(entry + IpcLayout.ENTRY_HEARTBEAT_OFFSET, nanoTime);
    }

    /** Plain: the occupant's process id (informational: only error messages read it). */
    static long lpPid(final UnsafeBuffer table, final int entry)
    {
        return table.getLong(entry + IpcLayout.ENTRY_PID_OFFSET);
    }

    /** Acquire: a server entry's pass counter. */
    static long lvPass(final UnsafeBuffer table, final int serverEntry)
    {
        return table.getLongVolatile(serverEntry + IpcLayout.ENTRY_PASS_OFFSET);
    }

    /**
     * Release, by the server after each pass of its loop (and after its takeover walk at attach, which touches client
     * lanes too): every write of the pass lands before the kernel can see the new count. Counts only grow; a new
     * occupant continues from the entry's count ({@link #lvPass}).
     */
    static void soPass(final UnsafeBuffer table, final int serverEntry, final long pass)
    {
        table.putLongOrdered(serverEntry + IpcLayout.ENTRY_PASS_OFFSET, pass);
    }

    /** @return true if a heartbeat read at {@code now} is older than {@code timeoutNs} (one from the future is not). */
    static boolean stale(final long heartbeat, final long now, final long timeoutNs)
    {
        return now - heartbeat > timeoutNs;
    }

    // --- occupants --------------------------------------------------------------------------------------------------

    /**
     * A client's claim of a FREE entry: stamps the heartbeat (before the CAS, so that whoever sees the claim sees a
     * fresh heartbeat), then CAS {@code (FREE, g)} → {@code (ATTACHING, g + 1)}, then writes the pid.
     *
     * <p>The caller, on success: registers the entry's heartbeat with {@link Heartbeats} at once (zeroing a large
     * block can outlast the client timeout), zeroes its whole block of rings (nobody touches them while the entry is
     * ATTACHING), then {@link #publish}es, then adds 1 to the header's attach count. On a refusal it tries the next
     * entry.
     *
     * @return the claimed generation (at least 1), or {@link #NOT_FREE} or {@link #LOST_RACE}.
     */
    static int claimByClient(final UnsafeBuffer table, final int entry, final long pid, final long now)
    {
        final long seen = lvWord(table, entry);
        if (state(seen) != IpcLayout.FREE)
        {
            return NOT_FREE;
        }
        return claim(table, entry, seen, pid, now);
    }

    /**
     * A server's claim of its service's entry: allowed unless the entry is ATTACHING or ATTACHED with a heartbeat no
     * older than {@code serverTimeoutNs} (read after the word: see the class comment). Stamps the heartbeat, then CAS
     * {@code (state, g)} → {@code (ATTACHING, g + 1)}, then writes the pid. If the CAS fails because the old occupant
     * detached meanwhile, it tries again; if it fails because another server claimed, it is refused.
     *
     * <p>The caller, on success: registers the entry's heartbeat with {@link Heartbeats} at once, continues its pass
     * counter from {@link #lvPass}, takes over every ATTACHED client's lanes (reading each client's word with
     * {@link #lvWordInPass}), stores its pass counter + 1 ({@link #soPass}), then {@link #publish}es. On a refusal it
     * throws, with {@link #serverRefusal} as the message.
     *
     * @return the claimed generation (at least 1), or {@link #LIVE_OCCUPANT} or {@link #LOST_RACE}.
     */
    static int claimByServer(
        final UnsafeBuffer table, final int entry, final long pid, final long now, final long serverTimeoutNs)
    {
        boolean lost = false;
        for (int i = 0; i < SERVER_CLAIM_TRIES; i++)
        {
            final long seen = lvWord(table, entry);
            final int state = state(seen);
            if ((state == IpcLayout.ATTACHING || state == IpcLayout.ATTACHED)
                && !stale(lvHeartbeat(table, entry), now, serverTimeoutNs))
            {
                return lost ? LOST_RACE : LIVE_OCCUPANT;
            }
            final int generation = claim(table, entry, seen, pid, now);
            if (generation != LOST_RACE)
            {
                return generation;
            }
            lost = true;
        }
        return LOST_RACE;
    }

    private static int claim(final UnsafeBuffer table, final int entry, final long seen, final long pid, final long now)
    {
        final int generation = nextGeneration(generation(seen));
        // The heartbeat first: the CAS below (a full fence) publishes it with the new state.
        soHeartbeat(table, entry, now);
        if (!casWord(table, entry, seen, word(IpcLayout.ATTACHING, generation)))
        {
            return LOST_RACE;
        }
        table.putLong(entry + IpcLayout.ENTRY_PID_OFFSET, pid);
        return generation;
    }

    /**
     * The occupant's last step of attaching: CAS {@code (ATTACHING, g)} → {@code (ATTACHED, g)}, publishing every
     * write of the attach (the pid, a client's zeroed block, a server's takeover). Fails if the entry was taken from
     * the claimant meanwhile (its heartbeat went stale: quarantined by the kernel, or claimed by another server); the
     * caller then must not use the entry: unregister its heartbeat and report that attaching took longer than the
     * timeout. A client adds 1 to the header's attach count after a success.
     *
     * @return true if the entry is now ATTACHED with {@code generation}.
     */
    static boolean publish(final UnsafeBuffer table, final int entry, final int generation)
    {
        return casWord(table, entry, word(IpcLayout.ATTACHING, generation), word(IpcLayout.ATTACHED, generation));
    }

    /**
     * The occupant's detach: CAS {@code (ATTACHED or ATTACHING, g)} → {@code (DETACHED, g)}. Never touches an entry
     * that a newer generation owns (the caller was reclaimed or replaced meanwhile) or that the kernel quarantined.
     * Call after the occupant's last touch of shared lanes (a server: after its thread stopped), then unregister the
     * heartbeat.
     *
     * @return true if this call detached the entry; false if the occupant no longer held it.
     */
    static boolean detach(final UnsafeBuffer table, final int entry, final int generation)
    {
        final long seen = lvWord(table, entry);
        final int state = state(seen);
        return generation(seen) == generation && (state == IpcLayout.ATTACHED || state == IpcLayout.ATTACHING)
            && casWord(table, entry, seen, word(IpcLayout.DETACHED, generation));
    }

    /** @return true if {@code word} is {@code (ATTACHED, generation)}: the occupant still holds the entry. */
    static boolean holds(final long word, final int generation)
    {
        return state(word) == IpcLayout.ATTACHED && generation(word) == generation;
    }

    /**
     * The message for a refused {@link #claimByServer}; the caller adds where the kernel lives.
     */
    static String serverRefusal(final UnsafeBuffer table, final int entry, final int refusal, final int service)
    {
        if (refusal == LOST_RACE)
        {
            return "another server attached to service " + service + " at the same time";
        }
        final long seen = lvWord(table, entry);
        return "service " + service + " already has a live server (pid " + lpPid(table, entry) + ", "
            + (state(seen) == IpcLayout.ATTACHING ? "attaching" : "attached") + ", generation " + generation(seen)
            + ")";
    }

    // --- the kernel's housekeeping of client entries ----------------------------------------------------------------

    /**
     * The kernel's look at a client entry: quarantines it, CAS from the word it read to {@code (QUARANTINED, g)}, if
     * it is DETACHED, or ATTACHING or ATTACHED with a heartbeat (read after the word) older than the client timeout,
     * or in a state no Ferry writes. A claim or detach that moves the entry first makes the CAS fail: the entry is
     * kept, and looked at again next time.
     *
     * <p>The caller, on a quarantine: records every server's pass counter ({@link #lvPass}) after this call (the CAS
     * orders the quarantine before those reads), for {@link #passedSince}; counts a stale or corrupt entry.
     * Kernel's housekeeping thread only.
     *
     * @return {@link #KEPT}, {@link #QUARANTINED_DETACHED}, {@link #QUARANTINED_STALE} or
     * {@link #QUARANTINED_CORRUPT}.
     */
    static int quarantine(final UnsafeBuffer table, final int entry, final long now, final long clientTimeoutNs)
    {
        final long seen = lvWord(table, entry);
        final int state = state(seen);
        final int why;
        switch (state)
        {
            case IpcLayout.FREE:
            case IpcLayout.QUARANTINED:
                return KEPT;
            case IpcLayout.DETACHED:
                why = QUARANTINED_DETACHED;
                break;
            case IpcLayout.ATTACHING:
            case IpcLayout.ATTACHED:
                if (!stale(lvHeartbeat(table, entry), now, clientTimeoutNs))
                {
                    return KEPT;
                }
                why = QUARANTINED_STALE;
                break;
            default:
                why = QUARANTINED_CORRUPT;
                break;
        }
        return casWord(table, entry, seen, word(IpcLayout.QUARANTINED, generation(seen))) ? why : KEPT;
    }

    /**
     * The barrier's test for one server, by the kernel, for a client it quarantined: true if the server has ended a
     * pass since (its counter is no longer the one recorded after the quarantine), or is not live (neither ATTACHING
     * nor ATTACHED with a heartbeat within the server timeout: an ATTACHING server's takeover touches client lanes,
     * so it counts). Release the client only when this holds for every service.
     */
    static boolean passedSince(
        final UnsafeBuffer table, final int serverEntry, final long recordedPass, final long now,
        final long serverTimeoutNs)
    {
        final int state = state(lvWord(table, serverEntry));
        final boolean live = (state == IpcLayout.ATTACHING || state == IpcLayout.ATTACHED)
            && !stale(lvHeartbeat(table, serverEntry), now, serverTimeoutNs);
        return !live || lvPass(table, serverEntry) != recordedPass;
    }

    /**
     * The kernel's release of a QUARANTINED client entry once {@link #passedSince} held for every server: zeroes the
     * client's block of rings ({@code blockLength} bytes at {@code blockOffset} of the same buffer) and the pid, then
     * CAS {@code (QUARANTINED, g)} → {@code (FREE, g)} (a full fence: a claimant that sees FREE sees the block zero).
     * Kernel's housekeeping thread only.
     *
     * @return true if released; false if the entry was not QUARANTINED (nothing is zeroed then).
     */
    static boolean release(final UnsafeBuffer table, final int entry, final int blockOffset, final int blockLength)
    {
        final long seen = lvWord(table, entry);
        if (state(seen) != IpcLayout.QUARANTINED)
        {
            return false;
        }
        table.setMemory(blockOffset, blockLength, (byte)0);
        table.putLong(entry + IpcLayout.ENTRY_PID_OFFSET, 0);
        return casWord(table, entry, seen, word(IpcLayout.FREE, generation(seen)));
    }

    /**
     * Claims the first free client entry of the table.
     *
     * @return the entry's index in the high 32 bits and its new generation in the low.
     * @throws IllegalStateException, the view closed, when every entry is taken.
     */
    static long claimClient(final Mapping mapping)
    {
        final UnsafeBuffer header = mapping.buffer;
        final IpcLayout layout = mapping.layout;
        final long pid = ProcessHandle.current().pid();
        for (int c = 0; c < layout.maxClients; c++)
        {
            final int generation = claimByClient(header, layout.clientEntry(c), pid, System.nanoTime());
            if (generation > 0)
            {
                return (long)c << 32 | generation;
            }
        }
        mapping.close();
        throw new IllegalStateException("all " + layout.maxClients + " client slots of the kernel at "
            + mapping.directory + " are taken; close some clients (a dead client's slot is reclaimed within the "
            + "client timeout) or build the kernel with a larger maxClients");
    }

    /**
     * Ends a client's attach: zeroes its block of rings (while the entry is ATTACHING no server nor mover touches
     * them), publishes the entry, and moves the attach count, at which servers rebuild their lists of lanes.
     *
     * @throws IllegalStateException, the heartbeat stopped and the view closed, if the entry was reclaimed meanwhile.
     */
    static void publishClient(final Mapping mapping, final int client, final int generation, final Object heartbeat)
    {
        final UnsafeBuffer header = mapping.buffer;
        final IpcLayout layout = mapping.layout;
        header.setMemory((int)layout.sqOffset(client), (int)layout.clientBlock(), (byte)0);
        if (!publish(header, layout.clientEntry(client), generation))
        {
            Heartbeats.unregister(heartbeat);
            mapping.close();
            throw new IllegalStateException("client entry " + client + " of the kernel at " + mapping.directory
                + " was reclaimed while this client attached (attaching took longer than the client timeout: was "
                + "this process suspended?); attach again");
        }
        header.getAndAddLong(IpcLayout.ATTACH_COUNT_OFFSET, 1);
    }
}
