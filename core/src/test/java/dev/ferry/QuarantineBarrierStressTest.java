package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

import java.nio.ByteBuffer;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of {@link EntryTable}'s pass barrier: the kernel quarantines a dead client while a server is in a
 * pass on that client's lane, and must not release (zero) the client's block while the server may still write to it.
 *
 * <p>A client entry {@code (ATTACHED, 3)} whose heartbeat is older than the client timeout, a live server entry whose
 * pass counter is 10, and the client's block (its lanes). The server runs two passes, as {@code Server} does: at
 * the start of serving the client's lane it reads the client's word ({@link EntryTable#lvWordInPass}); if the client
 * is still {@code (ATTACHED, 3)} it writes its mark (the pass number) into every word of the block; after the pass it
 * stores its pass counter ({@link EntryTable#soPass}). The kernel quarantines the client, records the server's pass
 * counter, then waits until {@link EntryTable#passedSince} holds (or the server has ended its last pass: its next
 * pass, in a real loop, would find the client quarantined) and releases the client: zeroes the block, stores FREE.
 *
 * <p>Result: (the passes that wrote, a bit each; 1 if the kernel released by the barrier, 2 after the server's end;
 * non-zero words in the block after the release). Acceptable: no word non-zero. Forbidden: a server's write landing
 * after the release (a non-zero word), or a pass writing after an earlier one found the client quarantined.
 */
@JCStressTest
@Description("EntryTable: the kernel releases a quarantined client only after every live server's pass moved")
@Outcome(id = "[013], [1-2], 0", expect = ACCEPTABLE, desc = "The block was released clean.")
@Outcome(expect = FORBIDDEN, desc = "A server's write landed after the release, or a pass wrote after quarantine.")
@State
public class QuarantineBarrierStressTest
{
    private static final int CLIENT = 0;
    private static final int SERVER = IpcLayout.ENTRY_BYTES;
    private static final int BLOCK = 2 * IpcLayout.ENTRY_BYTES;
    private static final int BLOCK_BYTES = 64;
    private static final long TIMEOUT = 1_000;
    private static final long NOW = 1_000_000;
    private static final long FIRST_PASS = 10;
    private static final Queue<UnsafeBuffer> TABLES = new ConcurrentLinkedQueue<>();

    private final UnsafeBuffer table;
    private volatile boolean serverDone;

    /** The dead client, the live server at pass 10, the client's block clean. */
    public QuarantineBarrierStressTest()
    {
        final UnsafeBuffer pooled = TABLES.poll();
        table = pooled != null ? pooled : new UnsafeBuffer(ByteBuffer.allocateDirect(BLOCK + BLOCK_BYTES));
        table.setMemory(0, table.capacity(), (byte)0);
        table.putLong(CLIENT + IpcLayout.ENTRY_STATE_OFFSET, EntryTable.word(IpcLayout.ATTACHED, 3));
        table.putLong(CLIENT + IpcLayout.ENTRY_HEARTBEAT_OFFSET, NOW - 10 * TIMEOUT);
        table.putLong(SERVER + IpcLayout.ENTRY_STATE_OFFSET, EntryTable.word(IpcLayout.ATTACHED, 1));
        table.putLong(SERVER + IpcLayout.ENTRY_HEARTBEAT_OFFSET, NOW);
        table.putLong(SERVER + IpcLayout.ENTRY_PASS_OFFSET, FIRST_PASS);
    }

    /** Two passes, each writing into the client's block only if it found the client attached. */
    @Actor
    public void server(final III_Result r)
    {
        int wrote = 0;
        for (int pass = 1; pass <= 2; pass++)
        {
            if (EntryTable.holds(EntryTable.lvWordInPass(table, CLIENT), 3))
            {
                for (int i = 0; i < BLOCK_BYTES; i += 8)
                {
                    table.putLong(BLOCK + i, pass);
                }
                wrote |= 1 << (pass - 1);
            }
            EntryTable.soPass(table, SERVER, FIRST_PASS + pass);
        }
        serverDone = true;
        r.r1 = wrote;
    }

    /** Quarantines the client, records the pass counter, waits for the barrier, releases. */
    @Actor
    public void kernel(final III_Result r)
    {
        if (EntryTable.quarantine(table, CLIENT, NOW, TIMEOUT) != EntryTable.QUARANTINED_STALE)
        {
            r.r2 = 0;
            return;
        }
        final long recorded = EntryTable.lvPass(table, SERVER);
        while (true)
        {
            if (EntryTable.passedSince(table, SERVER, recorded, NOW, TIMEOUT))
            {
                r.r2 = 1;
                break;
            }
            if (serverDone)
            {
                r.r2 = 2;
                break;
            }
            Thread.onSpinWait();
        }
        if (!EntryTable.release(table, CLIENT, BLOCK, BLOCK_BYTES))
        {
            r.r2 += 10;
        }
    }

    /** Counts the words of the block a server wrote after the release. */
    @Arbiter
    public void arbiter(final III_Result r)
    {
        int nonZero = 0;
        for (int i = 0; i < BLOCK_BYTES; i += 8)
        {
            nonZero += table.getLong(BLOCK + i) != 0 ? 1 : 0;
        }
        r.r3 = nonZero;
        TABLES.offer(table);
    }
}
