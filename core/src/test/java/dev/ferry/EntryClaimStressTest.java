package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import java.nio.ByteBuffer;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * jcstress test of {@link EntryTable}'s claims racing: the samples cycle through three variants.
 *
 * <ul>
 *     <li>0 and 1: two servers claim one service entry that both see dead, {@code (ATTACHED, 5)} (0) or
 *     {@code (ATTACHING, 5)} (1) with a heartbeat older than the server timeout. Exactly one must win; the loser is
 *     refused (it lost the CAS, or saw the winner's claim with the winner's fresh heartbeat). Variant 1 is the ABA of
 *     version 3's first attach code: there a second server that read ATTACHING with a stale heartbeat CASed
 *     ATTACHING → ATTACHING and won too.</li>
 *     <li>2: a client claims the entry (trying again while it is not FREE) while the kernel's housekeeping looks at it
 *     four times: the entry starts {@code (DETACHED, 5)} with its client's block dirty, so the kernel quarantines it,
 *     then (no server is attached: the pass barrier holds at once) releases it: zeroes the block and stores FREE.
 *     A client that sees FREE must find the block all zero, then writes its own marks into it, then publishes; the
 *     kernel's later looks must take its fresh claim for live, and its zeroing must not land on the marks.</li>
 * </ul>
 *
 * <p>Result: (the first actor's claim, the second's, problems the arbiter found, the variant). Servers: 1 won,
 * 0 refused. Variant 2: the first actor is the client: 0 claimed nothing (the entry was not FREE in time), 1 claimed
 * and published, 2 claimed but its publish was refused (the kernel quarantined a fresh claim); the second is the
 * kernel's releases (always 1). Problems: the entry's final word, pid or heartbeat is not the winner's; a block not
 * zero when the client claimed it; the client's marks zeroed.
 */
@JCStressTest
@Description("EntryTable: two servers claim one dead entry; a client claims while the kernel quarantines and frees")
@Outcome(id = {"1, 0, 0, [0-1]", "0, 1, 0, [0-1]"}, expect = ACCEPTABLE, desc = "One server won, the other was refused.")
@Outcome(id = "1, 1, 0, [0-1]", expect = FORBIDDEN, desc = "Both servers attached to the service.")
@Outcome(id = "0, 0, 0, [0-1]", expect = FORBIDDEN, desc = "Neither server attached to a dead entry.")
@Outcome(id = "0, 1, 0, 2", expect = ACCEPTABLE, desc = "The client found no FREE entry in time.")
@Outcome(id = "1, 1, 0, 2", expect = ACCEPTABLE, desc = "The client claimed the released entry, found it zero.")
@Outcome(id = "2, 1, 0, 2", expect = FORBIDDEN, desc = "The kernel quarantined the client's fresh claim.")
@Outcome(expect = FORBIDDEN, desc = "A wrong final entry, a dirty block at claim, or the client's marks zeroed.")
@State
public class EntryClaimStressTest
{
    private static final int ENTRY = 0;
    private static final int BLOCK = IpcLayout.ENTRY_BYTES;
    private static final int BLOCK_BYTES = 64;
    private static final long TIMEOUT = 1_000;
    private static final long NOW = 1_000_000;
    private static final long MARK = 0x1111_2222_3333_4444L;
    private static final int CLIENT_TRIES = 64;
    private static final AtomicInteger SAMPLES = new AtomicInteger();
    private static final Queue<UnsafeBuffer> TABLES = new ConcurrentLinkedQueue<>();

    private final UnsafeBuffer table;
    private final int variant;
    private int dirtyAtClaim;

    /** One entry, {@code (ATTACHED or ATTACHING or DETACHED, 5)}, its heartbeat dead, then a dirty block. */
    public EntryClaimStressTest()
    {
        variant = SAMPLES.getAndIncrement() % 3;
        final UnsafeBuffer pooled = TABLES.poll();
        table = pooled != null ? pooled : new UnsafeBuffer(ByteBuffer.allocateDirect(BLOCK + BLOCK_BYTES));
        table.setMemory(0, table.capacity(), (byte)0);
        table.putInt(ENTRY + IpcLayout.ENTRY_STATE_OFFSET,
            variant == 0 ? IpcLayout.ATTACHED : variant == 1 ? IpcLayout.ATTACHING : IpcLayout.DETACHED);
        table.putInt(ENTRY + IpcLayout.ENTRY_GENERATION_OFFSET, 5);
        table.putLong(ENTRY + IpcLayout.ENTRY_PID_OFFSET, 99);
        table.putLong(ENTRY + IpcLayout.ENTRY_HEARTBEAT_OFFSET, NOW - 10 * TIMEOUT);
        table.setMemory(BLOCK, BLOCK_BYTES, (byte)0x5A);
    }

    private int server(final long pid)
    {
        return EntryTable.claimByServer(table, ENTRY, pid, NOW, TIMEOUT) > 0 ? 1 : 0;
    }

    /** Server 1, or the client: claims, checks the block is zero, writes its marks, publishes. */
    @Actor
    public void first(final IIII_Result r)
    {
        if (variant != 2)
        {
            r.r1 = server(1);
            return;
        }
        int generation = EntryTable.NOT_FREE;
        for (int i = 0; i < CLIENT_TRIES && generation < 0; i++)
        {
            generation = EntryTable.claimByClient(table, ENTRY, 1, NOW);
            Thread.onSpinWait();
        }
        if (generation < 0)
        {
            r.r1 = 0;
            return;
        }
        for (int i = 0; i < BLOCK_BYTES; i += 8)
        {
            dirtyAtClaim += table.getLong(BLOCK + i) != 0 ? 1 : 0;
            table.putLong(BLOCK + i, MARK);
        }
        r.r1 = EntryTable.publish(table, ENTRY, generation) ? 1 : 2;
    }

    /** Server 2, or the kernel: four looks of its housekeeping, each quarantining and releasing what it may. */
    @Actor
    public void second(final IIII_Result r)
    {
        if (variant != 2)
        {
            r.r2 = server(2);
            return;
        }
        int released = 0;
        for (int i = 0; i < 4; i++)
        {
            EntryTable.quarantine(table, ENTRY, NOW, TIMEOUT);
            // No server entry: every live server has passed.
            released += EntryTable.release(table, ENTRY, BLOCK, BLOCK_BYTES) ? 1 : 0;
        }
        r.r2 = released;
    }

    /** Checks the entry's final word and fields, and the block. */
    @Arbiter
    public void arbiter(final IIII_Result r)
    {
        final long word = EntryTable.lvWord(table, ENTRY);
        final long pid = EntryTable.lpPid(table, ENTRY);
        final long heartbeat = EntryTable.lvHeartbeat(table, ENTRY);
        int problems = 0;
        if (variant != 2)
        {
            final long winner = r.r1 == 1 ? 1 : 2;
            problems += word != EntryTable.word(IpcLayout.ATTACHING, 6) || pid != winner || heartbeat != NOW ? 1 : 0;
        }
        else
        {
            long expected = 0;
            if (r.r1 == 1)
            {
                problems += word != EntryTable.word(IpcLayout.ATTACHED, 6) || pid != 1 || heartbeat != NOW ? 1 : 0;
                expected = MARK;
            }
            else if (r.r1 == 0)
            {
                problems += word != EntryTable.word(IpcLayout.FREE, 5) || pid != 0 ? 1 : 0;
            }
            for (int i = 0; i < BLOCK_BYTES && r.r1 != 2; i += 8)
            {
                problems += table.getLong(BLOCK + i) != expected ? 1 : 0;
            }
            problems += dirtyAtClaim > 0 ? 100 : 0;
        }
        r.r3 = problems;
        r.r4 = variant;
        TABLES.offer(table);
    }
}
