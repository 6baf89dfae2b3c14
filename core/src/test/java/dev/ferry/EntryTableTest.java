package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link EntryTable}'s rules, one thread: every transition allowed and refused, the generations, the heartbeat's
 * staleness, the pass barrier. The concurrent rules are {@link EntryClaimStressTest}'s and
 * {@link QuarantineBarrierStressTest}'s.
 */
final class EntryTableTest
{
    private static final int CLIENT = 0;
    private static final int SERVER = IpcLayout.ENTRY_BYTES;
    private static final int BLOCK = 2 * IpcLayout.ENTRY_BYTES;
    private static final int BLOCK_BYTES = 256;
    private static final long TIMEOUT = 1_000;
    private static final long NOW = 1_000_000;
    private static final long PID = 4242;

    private final UnsafeBuffer table = new UnsafeBuffer(ByteBuffer.allocateDirect(BLOCK + BLOCK_BYTES));

    private void put(final int entry, final int state, final int generation, final long heartbeat)
    {
        table.putInt(entry + IpcLayout.ENTRY_STATE_OFFSET, state);
        table.putInt(entry + IpcLayout.ENTRY_GENERATION_OFFSET, generation);
        table.putLong(entry + IpcLayout.ENTRY_HEARTBEAT_OFFSET, heartbeat);
    }

    private int state(final int entry)
    {
        return table.getInt(entry + IpcLayout.ENTRY_STATE_OFFSET);
    }

    private int generation(final int entry)
    {
        return table.getInt(entry + IpcLayout.ENTRY_GENERATION_OFFSET);
    }

    @Test
    void theWordIsTheStateAtOffsetZeroAndTheGenerationAtFour()
    {
        put(CLIENT, IpcLayout.QUARANTINED, 7, 0);
        final long word = EntryTable.lvWord(table, CLIENT);
        assertEquals(EntryTable.word(IpcLayout.QUARANTINED, 7), word);
        assertEquals(IpcLayout.QUARANTINED, EntryTable.state(word));
        assertEquals(7, EntryTable.generation(word));
        assertEquals(-5, EntryTable.state(EntryTable.word(-5, -9)));
        assertEquals(-9, EntryTable.generation(EntryTable.word(-5, -9)));
    }

    @Test
    void generationsStartAtOneAndNeverReachZero()
    {
        assertEquals(1, EntryTable.nextGeneration(0));
        assertEquals(2, EntryTable.nextGeneration(1));
        assertEquals(1, EntryTable.nextGeneration(Integer.MAX_VALUE));
        assertEquals(1, EntryTable.nextGeneration(-3));
    }

    @Test
    void aClientClaimsOnlyAFreeEntryStampingItsHeartbeatAndTheNextGeneration()
    {
        put(CLIENT, IpcLayout.FREE, 4, 0);
        assertEquals(5, EntryTable.claimByClient(table, CLIENT, PID, NOW));
        assertEquals(IpcLayout.ATTACHING, state(CLIENT));
        assertEquals(5, generation(CLIENT));
        assertEquals(NOW, EntryTable.lvHeartbeat(table, CLIENT));
        assertEquals(PID, EntryTable.lpPid(table, CLIENT));

        for (final int state : new int[] {IpcLayout.ATTACHING, IpcLayout.ATTACHED, IpcLayout.DETACHED,
            IpcLayout.QUARANTINED, 99})
        {
            put(CLIENT, state, 4, 0);
            assertEquals(EntryTable.NOT_FREE, EntryTable.claimByClient(table, CLIENT, PID, NOW), "state " + state);
            assertEquals(state, state(CLIENT));
            assertEquals(4, generation(CLIENT));
        }
    }

    @Test
    void publishMovesOnlyTheClaimantsAttachingEntryToAttached()
    {
        put(CLIENT, IpcLayout.FREE, 0, 0);
        final int generation = EntryTable.claimByClient(table, CLIENT, PID, NOW);
        assertFalse(EntryTable.publish(table, CLIENT, generation + 1), "another generation's publish");
        assertTrue(EntryTable.publish(table, CLIENT, generation));
        assertTrue(EntryTable.holds(EntryTable.lvWord(table, CLIENT), generation));
        assertFalse(EntryTable.publish(table, CLIENT, generation), "published twice");

        // Quarantined while attaching (its heartbeat went stale): the claimant must not publish.
        put(CLIENT, IpcLayout.FREE, 0, 0);
        final int late = EntryTable.claimByClient(table, CLIENT, PID, NOW);
        assertEquals(EntryTable.QUARANTINED_STALE,
            EntryTable.quarantine(table, CLIENT, NOW + TIMEOUT + 1, TIMEOUT));
        assertFalse(EntryTable.publish(table, CLIENT, late));
        assertEquals(IpcLayout.QUARANTINED, state(CLIENT));
    }

    @Test
    void detachTouchesOnlyTheOccupantsOwnGeneration()
    {
        put(CLIENT, IpcLayout.ATTACHED, 3, NOW);
        assertFalse(EntryTable.detach(table, CLIENT, 2), "an older generation");
        assertEquals(IpcLayout.ATTACHED, state(CLIENT));
        assertTrue(EntryTable.detach(table, CLIENT, 3));
        assertEquals(IpcLayout.DETACHED, state(CLIENT));
        assertEquals(3, generation(CLIENT));
        assertFalse(EntryTable.detach(table, CLIENT, 3), "detached twice");

        put(CLIENT, IpcLayout.ATTACHING, 3, NOW);
        assertTrue(EntryTable.detach(table, CLIENT, 3), "an attach given up");

        for (final int state : new int[] {IpcLayout.FREE, IpcLayout.QUARANTINED})
        {
            put(CLIENT, state, 3, NOW);
            assertFalse(EntryTable.detach(table, CLIENT, 3), "state " + state);
            assertEquals(state, state(CLIENT));
        }
    }

    @Test
    void aServerClaimsAnyEntryButALiveOnesTakingANewGeneration()
    {
        for (final int state : new int[] {IpcLayout.FREE, IpcLayout.DETACHED, IpcLayout.QUARANTINED, 99})
        {
            put(SERVER, state, 6, NOW);
            assertEquals(7, EntryTable.claimByServer(table, SERVER, PID, NOW, TIMEOUT), "state " + state);
            assertEquals(IpcLayout.ATTACHING, state(SERVER));
            assertEquals(NOW, EntryTable.lvHeartbeat(table, SERVER));
        }
        for (final int state : new int[] {IpcLayout.ATTACHING, IpcLayout.ATTACHED})
        {
            // Stale: its occupant is dead.
            put(SERVER, state, 6, NOW - TIMEOUT - 1);
            assertEquals(7, EntryTable.claimByServer(table, SERVER, PID, NOW, TIMEOUT), "stale state " + state);
            assertEquals(IpcLayout.ATTACHING, state(SERVER));
            assertEquals(NOW, EntryTable.lvHeartbeat(table, SERVER));

            // Fresh, just within the timeout, or stamped by a process whose clock read came later.
            for (final long heartbeat : new long[] {NOW - TIMEOUT, NOW + 5})
            {
                put(SERVER, state, 6, heartbeat);
                table.putLong(SERVER + IpcLayout.ENTRY_PID_OFFSET, 77);
                assertEquals(EntryTable.LIVE_OCCUPANT, EntryTable.claimByServer(table, SERVER, PID, NOW, TIMEOUT));
                assertEquals(state, state(SERVER));
                assertEquals(6, generation(SERVER));
                assertEquals(heartbeat, EntryTable.lvHeartbeat(table, SERVER), "a refused claim stamps nothing");
                final String why = EntryTable.serverRefusal(table, SERVER, EntryTable.LIVE_OCCUPANT, 3);
                assertTrue(why.startsWith("service 3 already has a live server (pid 77"), why);
            }
        }
        assertEquals("another server attached to service 3 at the same time",
            EntryTable.serverRefusal(table, SERVER, EntryTable.LOST_RACE, 3));
    }

    @Test
    void aSecondServerFindsTheFirstsClaimLiveWhateverTheOldHeartbeat()
    {
        // The ABA of version 3's first attach code: ATTACHING with a stale heartbeat was taken again.
        put(SERVER, IpcLayout.ATTACHED, 6, 0);
        assertEquals(7, EntryTable.claimByServer(table, SERVER, PID, NOW, TIMEOUT));
        assertEquals(EntryTable.LIVE_OCCUPANT, EntryTable.claimByServer(table, SERVER, PID + 1, NOW, TIMEOUT));
        assertEquals(PID, EntryTable.lpPid(table, SERVER));
        assertTrue(EntryTable.publish(table, SERVER, 7));
        // Its own detach; a replaced server's detach leaves the replacement alone.
        put(SERVER, IpcLayout.ATTACHED, 7, 0);
        assertEquals(8, EntryTable.claimByServer(table, SERVER, PID + 1, NOW, TIMEOUT));
        assertFalse(EntryTable.detach(table, SERVER, 7));
        assertFalse(EntryTable.publish(table, SERVER, 7));
        assertEquals(EntryTable.word(IpcLayout.ATTACHING, 8), EntryTable.lvWord(table, SERVER));
    }

    @Test
    void theKernelQuarantinesDetachedStaleAndCorruptClientEntriesKeepingTheirGeneration()
    {
        put(CLIENT, IpcLayout.DETACHED, 3, NOW);
        assertEquals(EntryTable.QUARANTINED_DETACHED, EntryTable.quarantine(table, CLIENT, NOW, TIMEOUT));
        assertEquals(EntryTable.word(IpcLayout.QUARANTINED, 3), EntryTable.lvWord(table, CLIENT));

        for (final int state : new int[] {IpcLayout.ATTACHING, IpcLayout.ATTACHED})
        {
            put(CLIENT, state, 3, NOW - TIMEOUT);
            assertEquals(EntryTable.KEPT, EntryTable.quarantine(table, CLIENT, NOW, TIMEOUT), "fresh " + state);
            assertEquals(state, state(CLIENT));
            put(CLIENT, state, 3, NOW - TIMEOUT - 1);
            assertEquals(EntryTable.QUARANTINED_STALE, EntryTable.quarantine(table, CLIENT, NOW, TIMEOUT));
            assertEquals(EntryTable.word(IpcLayout.QUARANTINED, 3), EntryTable.lvWord(table, CLIENT));
        }

        put(CLIENT, -7, 3, NOW);
        assertEquals(EntryTable.QUARANTINED_CORRUPT, EntryTable.quarantine(table, CLIENT, NOW, TIMEOUT));
        assertEquals(EntryTable.word(IpcLayout.QUARANTINED, 3), EntryTable.lvWord(table, CLIENT));

        for (final int state : new int[] {IpcLayout.FREE, IpcLayout.QUARANTINED})
        {
            put(CLIENT, state, 3, 0);
            assertEquals(EntryTable.KEPT, EntryTable.quarantine(table, CLIENT, NOW, TIMEOUT));
            assertEquals(EntryTable.word(state, 3), EntryTable.lvWord(table, CLIENT));
        }
    }

    @Test
    void theBarrierWaitsForEveryLiveServersPassAndReleaseZeroesTheBlockThenFreesTheEntry()
    {
        put(SERVER, IpcLayout.ATTACHED, 1, NOW);
        EntryTable.soPass(table, SERVER, 10);
        put(CLIENT, IpcLayout.DETACHED, 3, NOW);
        table.putLong(CLIENT + IpcLayout.ENTRY_PID_OFFSET, PID);
        table.setMemory(BLOCK, BLOCK_BYTES, (byte)0x5A);
        assertFalse(EntryTable.release(table, CLIENT, BLOCK, BLOCK_BYTES), "not quarantined yet");
        assertEquals((byte)0x5A, table.getByte(BLOCK));

        assertEquals(EntryTable.QUARANTINED_DETACHED, EntryTable.quarantine(table, CLIENT, NOW, TIMEOUT));
        final long recorded = EntryTable.lvPass(table, SERVER);
        assertFalse(EntryTable.passedSince(table, SERVER, recorded, NOW, TIMEOUT), "the server is mid-pass");
        put(SERVER, IpcLayout.ATTACHING, 1, NOW);
        assertFalse(EntryTable.passedSince(table, SERVER, recorded, NOW, TIMEOUT), "an attaching server counts");
        EntryTable.soPass(table, SERVER, 11);
        assertTrue(EntryTable.passedSince(table, SERVER, recorded, NOW, TIMEOUT));
        EntryTable.soPass(table, SERVER, 10);
        put(SERVER, IpcLayout.ATTACHED, 1, NOW - TIMEOUT - 1);
        assertTrue(EntryTable.passedSince(table, SERVER, recorded, NOW, TIMEOUT), "a dead server is not waited for");
        put(SERVER, IpcLayout.DETACHED, 1, NOW);
        assertTrue(EntryTable.passedSince(table, SERVER, recorded, NOW, TIMEOUT), "nor a detached one");

        assertTrue(EntryTable.release(table, CLIENT, BLOCK, BLOCK_BYTES));
        assertEquals(EntryTable.word(IpcLayout.FREE, 3), EntryTable.lvWord(table, CLIENT));
        assertEquals(0, EntryTable.lpPid(table, CLIENT));
        for (int i = 0; i < BLOCK_BYTES; i += 8)
        {
            assertEquals(0, table.getLong(BLOCK + i), "block byte " + i);
        }
        assertFalse(EntryTable.release(table, CLIENT, BLOCK, BLOCK_BYTES), "released twice");
        assertEquals(4, EntryTable.claimByClient(table, CLIENT, PID, NOW), "the next occupant's generation");
    }

    @Test
    void lvWordInPassReadsTheWord()
    {
        put(CLIENT, IpcLayout.ATTACHED, 9, NOW);
        assertTrue(EntryTable.holds(EntryTable.lvWordInPass(table, CLIENT), 9));
        assertFalse(EntryTable.holds(EntryTable.lvWordInPass(table, CLIENT), 8));
    }
}
