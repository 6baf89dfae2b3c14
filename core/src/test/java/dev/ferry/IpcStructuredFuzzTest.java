package dev.ferry;

import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A structured fuzzer of the IPC mapping: for every field docs/ipc-layout.md names, the test process (a hostile or
 * buggy process of the same user, with the file mapped) writes boundary and random values while calls run, and
 * checks what the kernel, the server and the clients do. They all run in child JVMs ({@link IpcChild}: a kernel, a
 * restarting echo server, {@value #GOOD} good {@link HarnessClient}s, one victim {@link HarnessClient}, and a
 * prober that attaches a new client on demand), so that a crash is seen as a crash: a dead child, its hs_err file.
 *
 * <p><b>Fields</b> (DIRECT / MOVER): the header (19: magic, version, mode, the six capacities, file length, kernel
 * pid, the four timing fields, kernel state, kernel heartbeat, attach count); the server table entry of service 0
 * (7: state, generation, pid, heartbeat, pass counter, corruption epoch, corrupt records); the victim's client table
 * entry (the same 7); the victim's ring trailers (DIRECT: its call lane's tail, head cache, head, claim start, server
 * cursor 640, halted 704, lane epoch 712, halt request 720; MOVER: tail, head cache, head and claim start of its SQ,
 * CQ, request lane and reply lane); the record at live positions of the victim's rings (DIRECT: the call record at
 * the lane's head and at the server's cursor: length, type, call id, generation, slot, length, status; MOVER: the
 * record at the head of its SQ and request lane: length, type, call id, client, generation, service, slot; of its
 * reply lane and CQ: length, type, call id, generation, service, slot, status); and record headers forged whole: a
 * length written over a record (or zeros) whose type is set first to REPLY or padding (DIRECT, at the cursor and the
 * head) or to the ring's own type and padding (MOVER, at each ring's head). That is 58 fields in DIRECT mode and 85
 * in MOVER mode. DIRECT's SQ, CQ and reply lanes are not used in that mode and are not fuzzed.
 *
 * <p><b>Values</b> per field: 0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE - 7, capacity - 8,
 * capacity + 8 (the ring's capacity; the lane's for the header and table entries), the value found + 3 (unaligned);
 * for long fields also Long.MIN_VALUE, Long.MAX_VALUE, the value found + capacity and the value found - 8; then per
 * seed ({@code -Dferry.fuzz.seeds}, default {@value #DEFAULT_SEEDS}) one random value of the whole range and one
 * within two capacities of the value found. So with the default: 10 values per int field, 14 per long field: 696
 * writes in DIRECT mode and 1006 in MOVER mode; on the 2-core development VM DIRECT takes about 45 s and MOVER about
 * 120 s, and a step whose damage is never repaired costs up to three recovery bounds plus restarts.
 * {@code -Dferry.fuzz.fields=<substring>} fuzzes only the fields whose name contains it.
 *
 * <p><b>Each step</b>: one value written into one field (a record forged whole: its type, then its length), held
 * {@code -Dferry.fuzz.holdMs} (default 20 ms), then restored with a compare-and-swap (only if nobody wrote the field
 * meanwhile: a field the owner rewrote is left to the owner). For header fields the prober attaches a new client
 * while the value is held, and again once restored. Then the step waits until every client has, in its last 20 ms
 * window, completed calls OK and none otherwise (recovered), up to {@code -Dferry.fuzz.recoveryMs} (5 s).
 *
 * <p><b>Expected</b>, per field group:
 * <ul>
 *     <li>every group: no child crashes (exit or hs_err), no library call hangs (a client's loop stalls 5 s, the
 *     server's pass counter stops), no call is hung (not completed within {@code -Dferry.fuzz.deadlineMs}, 5 s),
 *     lost (never completed) or completed twice;</li>
 *     <li>the victim's table entry and rings (per-client): the good clients see 0 calls failed, closed or timed out,
 *     0 wrong replies and 0 replies out of order; the victim's calls may fail, and a reply may carry a wrong payload
 *     (payloads have no checksum), but each call still completes exactly once; damage to its own rings may stay
 *     (a position no reader moves again) until it attaches anew, which works (a note, not a violation);</li>
 *     <li>the header, the server table entry and the server's heartbeat (shared): everyone's calls may fail (the
 *     same user can kill the kernel or the server anyway); a new client attaching meanwhile is refused with
 *     IllegalStateException or works, never anything else; once the field is restored the clients recover within
 *     the recovery bound (re-attaching where the damage made them give up) and a new client attaches and calls
 *     OK.</li>
 * </ul>
 * The test prints a table field by field (and writes it to {@code target/structured-fuzz-<mode>.txt}) and fails
 * listing every violation: field, value, mode, what happened.
 */
// In a separate thread, so that the timeout fails the test even if a read blocks.
@Timeout(value = 1200, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
final class IpcStructuredFuzzTest
{
    static final int DEFAULT_SEEDS = 1;
    static final int GOOD = 2;
    private static final int SEEDS = Integer.getInteger("ferry.fuzz.seeds", DEFAULT_SEEDS);
    private static final long HOLD_MS = Long.getLong("ferry.fuzz.holdMs", 20);
    private static final long TIMEOUT_MS = Long.getLong("ferry.fuzz.timeoutMs", 1000);
    private static final long DEADLINE_MS = Long.getLong("ferry.fuzz.deadlineMs", 5000);
    private static final long RECOVERY_MS = Long.getLong("ferry.fuzz.recoveryMs", 5000);
    private static final String ONLY = System.getProperty("ferry.fuzz.fields", "");
    private static final int WINDOW = 4;
    private static final int MAX_CLIENTS = 8;

    @TempDir
    Path tmp;

    private final List<ChildProcess> children = new ArrayList<>();
    private Path dir;
    private Mode mode;
    private ChildProcess kernel;
    private ChildProcess server;
    private ChildProcess prober;
    private final ChildProcess[] clients = new ChildProcess[GOOD + 1];
    private Mapping view;
    private int markSeq;
    private int probeSeq;
    private final List<String> violations = new ArrayList<>();
    private final List<Step> steps = new ArrayList<>();
    private final Map<String, Integer> stuckSeen = new LinkedHashMap<>();

    @AfterEach
    void destroyChildren()
    {
        if (view != null)
        {
            view.close();
        }
        for (final ChildProcess child : children)
        {
            child.close();
        }
    }

    /** Where a field lies in the mapping now, or -1 when it has no live position now. */
    private interface Locator
    {
        int at(IpcStructuredFuzzTest t);
    }

    private enum Group
    {
        HEADER(true), SERVER(true), VICTIM(false);

        final boolean shared;

        Group(final boolean shared)
        {
            this.shared = shared;
        }
    }

    /**
     * One field: its name, group, width, the capacity its boundary values derive from, and where it is; a forged
     * record header also sets the type at {@code at + 4} to {@code presetType} first.
     */
    private record Field(String name, Group group, boolean isLong, int capacity, Locator locator, int presetType)
    {
    }

    /** What one write did. */
    private static final class Step
    {
        final Field field;
        final String value;
        long startNs;
        long endNs;
        final long[][] counts = new long[GOOD + 1][HARNESS_COUNTS.length];
        final List<String> notes = new ArrayList<>();
        final List<String> problems = new ArrayList<>();
        long recoveryMs = -1;

        Step(final Field field, final String value)
        {
            this.field = field;
            this.value = value;
        }
    }

    private static final String[] HARNESS_COUNTS = {"ok", "failed", "closed", "timedOut", "hung", "dup", "ooo", "bad",
        "lost", "reattach", "refused"};

    @ParameterizedTest
    @EnumSource(value = Mode.class, names = {"DIRECT", "MOVER"})
    void everyFieldOfTheLayoutFuzzedWhileCallsRun(final Mode mode) throws Exception
    {
        this.mode = mode;
        this.dir = tmp.resolve("ferry-sfuzz");
        final long started = System.nanoTime();
        startKernel();
        server = start("harness-server", dir.toString(), "0", "0");
        server.await("READY", 30);
        for (int i = 0; i <= GOOD; i++)
        {
            clients[i] = startClient(i);
        }
        prober = start("prober", dir.toString(), "0");
        // Every client calling before the first step.
        final long[][] warm = new long[GOOD + 1][HARNESS_COUNTS.length];
        for (int i = 0; i < 200 && !recovered(markAll(warm)); i++)
        {
            Thread.sleep(20);
        }

        final List<Field> fields = fields();
        int writes = 0;
        for (final Field field : fields)
        {
            if (!field.name().contains(ONLY))
            {
                continue;
            }
            final int values = values(field, 0, new SplittableRandom(0)).size();
            for (int v = 0; v < values; v++)
            {
                runStep(field, v);
                writes++;
            }
        }

        // Stop: every call in flight completes or is counted lost.
        for (final ChildProcess client : clients)
        {
            client.send("stop");
        }
        for (int i = 0; i <= GOOD; i++)
        {
            try
            {
                final String done = clients[i].await("DONE", DEADLINE_MS / 1000 + 15);
                final Map<String, Long> totals = parseCounts(done.substring(4));
                if (totals.get("lost") > 0 || totals.get("dup") > 0)
                {
                    violations.add(role(i) + " at the end: " + done);
                }
            }
            catch (final AssertionError ex)
            {
                violations.add(role(i) + " did not finish: " + ex.getMessage());
            }
        }
        attributeHungCalls();
        final long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
        final String table = table(fields, writes, seconds);
        System.out.println(table);
        try
        {
            Files.createDirectories(Path.of("target"));
            Files.writeString(Path.of("target", "structured-fuzz-" + mode + ".txt"), table);
        }
        catch (final java.io.IOException ignore)
        {
            // the table is on standard output too
        }
        server.send("close");
        kernel.send("close");
        assertTrue(violations.isEmpty(), violations.size() + " violations in " + mode + " mode:\n"
            + String.join("\n", violations));
    }

    // ------------------------------------------------------------------------------------------------ the fields

    private List<Field> fields()
    {
        final IpcLayout l = view.layout;
        final List<Field> f = new ArrayList<>();
        final int lane = l.laneBytes;
        final String[] ints = {"version:8", "mode:12", "maxClients:16", "maxServices:20", "slotBytes:24",
            "maxInFlight:28", "sqBytes:32", "cqBytes:36", "laneBytes:40", "kernelState:128"};
        final String[] longs = {"magic:0", "fileLength:48", "kernelPid:56", "heartbeatInterval:64",
            "clientTimeout:72", "serverTimeout:80", "kernelTimeout:88", "kernelHeartbeat:136", "attachCount:192"};
        for (final String s : ints)
        {
            final int off = Integer.parseInt(s.substring(s.indexOf(':') + 1));
            f.add(new Field("header." + s.substring(0, s.indexOf(':')), Group.HEADER, false, lane, t -> off, 0));
        }
        for (final String s : longs)
        {
            final int off = Integer.parseInt(s.substring(s.indexOf(':') + 1));
            f.add(new Field("header." + s.substring(0, s.indexOf(':')), Group.HEADER, true, lane, t -> off, 0));
        }
        entryFields(f, "server[0]", Group.SERVER, t -> t.view.layout.serverEntry(0), lane);
        entryFields(f, "victimClient", Group.VICTIM, t -> t.view.layout.clientEntry(t.victim()), lane);
        if (mode == Mode.DIRECT)
        {
            final Locator callLane = t -> (int)t.view.layout.requestLaneOffset(t.victim(), 0);
            trailerFields(f, "callLane", callLane, lane, true);
            final String[] call = {"callId:8:L", "generation:16", "slot:20", "callLength:24", "status:28"};
            recordFields(f, "callLane@head", callLane, lane, RingBufferDescriptor.HEAD_POSITION_OFFSET, call);
            recordFields(f, "callLane@cursor", callLane, lane, LaneDescriptor.SERVER_CURSOR_OFFSET, call);
            forged(f, "callLane@cursor", callLane, lane, LaneDescriptor.SERVER_CURSOR_OFFSET, IpcLayout.REPLY_TYPE);
            forged(f, "callLane@cursor", callLane, lane, LaneDescriptor.SERVER_CURSOR_OFFSET, -1);
            forged(f, "callLane@head", callLane, lane, RingBufferDescriptor.HEAD_POSITION_OFFSET,
                IpcLayout.REPLY_TYPE);
        }
        else
        {
            final Locator sq = t -> (int)t.view.layout.sqOffset(t.victim());
            final Locator cq = t -> (int)t.view.layout.cqOffset(t.victim());
            final Locator requestLane = t -> (int)t.view.layout.requestLaneOffset(t.victim(), 0);
            final Locator replyLane = t -> (int)t.view.layout.replyLaneOffset(t.victim(), 0);
            trailerFields(f, "sq", sq, l.sqBytes, false);
            trailerFields(f, "cq", cq, l.cqBytes, false);
            trailerFields(f, "requestLane", requestLane, lane, false);
            trailerFields(f, "replyLane", replyLane, lane, false);
            final String[] request = {"callId:8:L", "client:16", "generation:20", "service:24", "slot:28"};
            final String[] reply = {"callId:8:L", "generation:16", "service:20", "slot:24", "status:28"};
            final int head = RingBufferDescriptor.HEAD_POSITION_OFFSET;
            recordFields(f, "sq@head", sq, l.sqBytes, head, request);
            recordFields(f, "requestLane@head", requestLane, lane, head, request);
            recordFields(f, "replyLane@head", replyLane, lane, head, reply);
            recordFields(f, "cq@head", cq, l.cqBytes, head, reply);
            forged(f, "sq@head", sq, l.sqBytes, head, IpcLayout.REQUEST_TYPE);
            forged(f, "sq@head", sq, l.sqBytes, head, -1);
            forged(f, "requestLane@head", requestLane, lane, head, IpcLayout.REQUEST_TYPE);
            forged(f, "requestLane@head", requestLane, lane, head, -1);
            forged(f, "replyLane@head", replyLane, lane, head, IpcLayout.REPLY_TYPE);
            forged(f, "replyLane@head", replyLane, lane, head, -1);
            forged(f, "cq@head", cq, l.cqBytes, head, IpcLayout.REPLY_TYPE);
            forged(f, "cq@head", cq, l.cqBytes, head, -1);
        }
        return f;
    }

    private static void entryFields(
        final List<Field> f, final String name, final Group group, final Locator entry, final int capacity)
    {
        f.add(new Field(name + ".state", group, false, capacity, t -> entry.at(t) + IpcLayout.ENTRY_STATE_OFFSET, 0));
        f.add(new Field(name + ".generation", group, false, capacity,
            t -> entry.at(t) + IpcLayout.ENTRY_GENERATION_OFFSET, 0));
        f.add(new Field(name + ".pid", group, true, capacity, t -> entry.at(t) + IpcLayout.ENTRY_PID_OFFSET, 0));
        f.add(new Field(name + ".heartbeat", group, true, capacity,
            t -> entry.at(t) + IpcLayout.ENTRY_HEARTBEAT_OFFSET, 0));
        f.add(new Field(name + ".passCounter", group, true, capacity,
            t -> entry.at(t) + IpcLayout.ENTRY_PASS_OFFSET, 0));
        f.add(new Field(name + ".corruptionEpoch", group, true, capacity,
            t -> entry.at(t) + IpcLayout.ENTRY_CORRUPT_EPOCH_OFFSET, 0));
        f.add(new Field(name + ".corruptRecords", group, true, capacity,
            t -> entry.at(t) + IpcLayout.ENTRY_CORRUPT_RECORDS_OFFSET, 0));
    }

    private static void trailerFields(
        final List<Field> f, final String name, final Locator ring, final int capacity, final boolean callLane)
    {
        final List<String> words = new ArrayList<>(List.of("tail:128", "headCache:256", "head:384", "claimStart:512"));
        if (callLane)
        {
            words.addAll(List.of("serverCursor:640", "halted:704", "laneEpoch:712", "haltRequest:720"));
        }
        for (final String w : words)
        {
            final int off = capacity + Integer.parseInt(w.substring(w.indexOf(':') + 1));
            f.add(new Field(name + "." + w.substring(0, w.indexOf(':')), Group.VICTIM, true, capacity,
                t -> ring.at(t) + off, 0));
        }
    }

    /** The record header (length, type) and the message fields of the record at a trailer position of a ring. */
    private static void recordFields(
        final List<Field> f, final String name, final Locator ring, final int capacity, final int position,
        final String[] message)
    {
        final List<String> all = new ArrayList<>(List.of("recordLength:0", "recordType:4"));
        all.addAll(List.of(message));
        for (final String s : all)
        {
            final String[] p = s.split(":");
            final int off = Integer.parseInt(p[1]);
            f.add(new Field(name + "." + p[0], Group.VICTIM, p.length > 2, capacity,
                t -> recordAt(t, ring, capacity, position) + off, 0));
        }
    }

    private static void forged(
        final List<Field> f, final String name, final Locator ring, final int capacity, final int position,
        final int type)
    {
        f.add(new Field(name + ".recordLength(type=" + (type == -1 ? "PADDING" : type == IpcLayout.REPLY_TYPE
            ? "REPLY" : "REQUEST") + ")", Group.VICTIM, false, capacity, t -> recordAt(t, ring, capacity, position),
            type));
    }

    private static int recordAt(final IpcStructuredFuzzTest t, final Locator ring, final int capacity, final int pos)
    {
        final int r = ring.at(t);
        final long position = t.view.buffer.getLongVolatile(r + capacity + pos);
        return r + ((int)position & (capacity - 1) & ~7);
    }

    // ------------------------------------------------------------------------------------------------ the values

    private record Value(String label, long value)
    {
    }

    private static List<Value> values(final Field f, final long found, final SplittableRandom random)
    {
        final long cap = f.capacity();
        final List<Value> v = new ArrayList<>(List.of(new Value("0", 0), new Value("-1", -1),
            new Value("Integer.MIN_VALUE", Integer.MIN_VALUE), new Value("Integer.MAX_VALUE", Integer.MAX_VALUE),
            new Value("Integer.MAX_VALUE-7", Integer.MAX_VALUE - 7), new Value("capacity-8", cap - 8),
            new Value("capacity+8", cap + 8), new Value("found+3 (unaligned)", found + 3)));
        if (f.isLong())
        {
            v.addAll(List.of(new Value("Long.MIN_VALUE", Long.MIN_VALUE), new Value("Long.MAX_VALUE", Long.MAX_VALUE),
                new Value("found+capacity", found + cap), new Value("found-8", found - 8)));
        }
        for (int s = 0; s < SEEDS; s++)
        {
            final long any = f.isLong() ? random.nextLong() : random.nextInt();
            final long near = found + random.nextLong(-2 * cap, 2 * cap + 1);
            v.add(new Value("random#" + s + "=" + any, any));
            v.add(new Value("near#" + s + "=found" + (near - found >= 0 ? "+" : "") + (near - found), near));
        }
        return v;
    }

    // ------------------------------------------------------------------------------------------------ a step

    private void runStep(final Field field, final int valueIndex) throws Exception
    {
        ensureHealthy(null);
        final int at = field.locator().at(this);
        final UnsafeBuffer mem = view.buffer;
        final long found = field.isLong() ? mem.getLongVolatile(at) : mem.getIntVolatile(at);
        // The same random draws for a field in every run: a generator seeded by the field's name.
        final Value value = values(field, found, new SplittableRandom(field.name().hashCode())).get(valueIndex);
        final long v = field.isLong() ? value.value() : (int)value.value();
        final Step step = new Step(field, value.label());
        steps.add(step);
        markAll(step.counts);
        step.startNs = System.nanoTime();
        final int typeAt = at + 4;
        final int foundType = field.presetType() != 0 ? mem.getIntVolatile(typeAt) : 0;
        if (field.presetType() != 0)
        {
            mem.putIntVolatile(typeAt, field.presetType());
        }
        if (field.isLong())
        {
            mem.putLongVolatile(at, v);
        }
        else
        {
            mem.putIntVolatile(at, (int)v);
        }
        Thread.sleep(HOLD_MS);
        if (field.group() == Group.HEADER)
        {
            step.notes.add("probe while held: " + probe(step));
        }
        // Restore, unless the owner wrote the field meanwhile (then it is the owner's again).
        if (field.isLong())
        {
            mem.compareAndSetLong(at, v, found);
        }
        else
        {
            mem.compareAndSetInt(at, (int)v, (int)found);
        }
        if (field.presetType() != 0)
        {
            mem.compareAndSetInt(typeAt, field.presetType(), foundType);
        }
        final long restoredAt = System.nanoTime();
        final long deadline = restoredAt + TimeUnit.MILLISECONDS.toNanos(RECOVERY_MS);
        boolean recovered = false;
        while (!recovered && System.nanoTime() - deadline < 0)
        {
            Thread.sleep(20);
            recovered = recovered(markAll(step.counts));
        }
        if (recovered)
        {
            step.recoveryMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restoredAt);
        }
        else
        {
            // Damage to the victim's own rings may leave them broken for good (a position no reader moves again):
            // the fault model promises that only the victim's calls fail (judged below) and that a new attach, whose
            // rings are zeroed, works; so for those fields a victim that needs a new attach is a note. Shared fields
            // must recover once restored.
            final List<String> recovery = field.group().shared ? step.problems : step.notes;
            recovery.add("calls did not recover within " + RECOVERY_MS + " ms of the restore");
            ensureHealthy(step);
            if (!recover(step))
            {
                // A new victim, whose rings are zeroed when it attaches, then if need be everything, so that the next
                // fields are fuzzed on a working system.
                recovery.add("restarted the victim to go on");
                clients[0].kill9();
                clients[0] = startClient(0);
                if (!recover(step))
                {
                    step.problems.add("restarted the kernel, the server and every client to go on");
                    restartAll();
                    recover(step);
                }
            }
        }
        if (field.group() == Group.HEADER)
        {
            String after = probe(step);
            // Clients that gave up their entries while the kernel looked closed are reclaimed within the client
            // timeout (and the servers' next pass): until then every entry may be taken, as the refusal says.
            final long probeUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RECOVERY_MS);
            while (after.contains("client slots") && after.contains("are taken") && System.nanoTime() < probeUntil)
            {
                Thread.sleep(100);
                after = probe(step);
            }
            if (!after.startsWith("ok"))
            {
                step.problems.add("a new client after the restore: " + after);
            }
        }
        step.endNs = System.nanoTime();
        judge(step);
    }

    /** Sends {@code mark} to every client and adds its window's counts to {@code into}; returns the windows. */
    private List<Map<String, Long>> markAll(final long[][] into) throws Exception
    {
        final int n = ++markSeq;
        for (final ChildProcess client : clients)
        {
            if (client.isAlive())
            {
                client.send("mark " + n);
            }
        }
        final List<Map<String, Long>> windows = new ArrayList<>();
        for (int i = 0; i <= GOOD; i++)
        {
            Map<String, Long> w = null;
            if (clients[i].isAlive())
            {
                try
                {
                    final String line = clients[i].await("MARK " + n + " ", 10);
                    w = parseCounts(line.substring(("MARK " + n).length()));
                    for (int k = 0; k < HARNESS_COUNTS.length; k++)
                    {
                        into[i][k] += w.get(HARNESS_COUNTS[k]);
                    }
                    final int first = line.indexOf(" first: ");
                    if (first > 0 && !steps.isEmpty())
                    {
                        final List<String> notes = steps.get(steps.size() - 1).notes;
                        if (notes.size() < 8)
                        {
                            notes.add(role(i) + ": " + line.substring(first + 8));
                        }
                    }
                }
                catch (final AssertionError ex)
                {
                    w = null;
                }
            }
            windows.add(w);
        }
        return windows;
    }

    private static Map<String, Long> parseCounts(final String text)
    {
        final int first = text.indexOf(" first: ");
        final Map<String, Long> m = new LinkedHashMap<>();
        for (final String kv : (first >= 0 ? text.substring(0, first) : text).trim().split(" "))
        {
            final int eq = kv.indexOf('=');
            if (eq > 0)
            {
                m.put(kv.substring(0, eq), Long.parseLong(kv.substring(eq + 1)));
            }
        }
        return m;
    }

    /** Every client answered, is attached, and completed calls in its window, all OK. */
    private static boolean recovered(final List<Map<String, Long>> windows)
    {
        for (final Map<String, Long> w : windows)
        {
            if (w == null || w.get("client") < 0 || w.get("ok") == 0 || w.get("failed") + w.get("closed")
                + w.get("timedOut") + w.get("refused") + w.get("bad") > 0)
            {
                return false;
            }
        }
        return true;
    }

    private String probe(final Step step) throws Exception
    {
        final int n = ++probeSeq;
        prober.send("probe " + n);
        try
        {
            final String line = prober.await("PROBE " + n + " ", 15).substring(("PROBE " + n + " ").length());
            if (line.startsWith("threw") || line.startsWith("hung"))
            {
                step.problems.add("a new client attaching: " + line);
            }
            return line.length() > 160 ? line.substring(0, 160) + "..." : line;
        }
        catch (final AssertionError ex)
        {
            step.problems.add("the prober did not answer within 15 s (alive=" + prober.isAlive() + ")");
            return "no answer";
        }
    }

    private void judge(final Step step)
    {
        for (int i = 0; i <= GOOD; i++)
        {
            final long[] c = step.counts[i];
            if (c[5] > 0 || c[8] > 0)
            {
                step.problems.add(role(i) + ": " + c[5] + " calls completed twice, " + c[8] + " lost");
            }
            if (!step.field.group().shared && i > 0)
            {
                final long hurt = c[1] + c[2] + c[3] + c[6] + c[7];
                if (hurt > 0)
                {
                    step.problems.add(role(i) + " (not the victim) saw " + c[1] + " failed, " + c[2] + " closed, "
                        + c[3] + " timed out, " + c[6] + " out of order, " + c[7] + " wrong replies");
                }
            }
        }
        for (final String p : step.problems)
        {
            violations.add(mode + " " + step.field.name() + " := " + step.value + ": " + p
                + (step.notes.isEmpty() ? "" : " [notes: " + String.join(" | ", step.notes) + "]"));
        }
    }

    /** HUNG lines carry the call's submission time: charged to the step that was running then. */
    private void attributeHungCalls()
    {
        for (int i = 0; i <= GOOD; i++)
        {
            for (final String line : clients[i].linesStartingWith("HUNG "))
            {
                final int s = line.indexOf("submittedAt=");
                final long at = Long.parseLong(line.substring(s + 12, line.indexOf(' ', s)));
                Step charged = null;
                for (final Step step : steps)
                {
                    if (step.startNs <= at)
                    {
                        charged = step;
                    }
                }
                final String where = charged == null ? "before the first step"
                    : charged.field.name() + " := " + charged.value;
                violations.add(mode + " " + where + ": " + role(i) + " has a call not completed within "
                    + DEADLINE_MS + " ms: " + line);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ children

    private ChildProcess start(final String... args) throws Exception
    {
        final ChildProcess child = new ChildProcess(tmp.resolve(args[0] + "-" + children.size() + ".log"), args);
        children.add(child);
        return child;
    }

    private void startKernel() throws Exception
    {
        kernel = start("kernel", dir.toString(), mode.name(), "1", Long.toString(TIMEOUT_MS),
            Integer.toString(MAX_CLIENTS));
        kernel.await("READY", 30);
        if (view != null)
        {
            view.close();
        }
        view = Mapping.open(dir);
    }

    private ChildProcess startClient(final int i) throws Exception
    {
        final ChildProcess client = start("harness-client", dir.toString(), "0", Integer.toString(100 + i),
            Integer.toString(WINDOW), Long.toString(DEADLINE_MS));
        client.await("ATTACHED", 30);
        return client;
    }

    private static String role(final int i)
    {
        return i == 0 ? "victim" : "client" + i;
    }

    /** The victim's current table index. */
    private int victim()
    {
        final String line = clients[0].latest("ATTACHED client=");
        return Integer.parseInt(line.substring("ATTACHED client=".length(), line.indexOf(' ', 16)));
    }

    /**
     * Finds dead or hung children and restarts them, each a violation charged to {@code step} (null: the previous
     * step, found before the next one).
     */
    private void ensureHealthy(final Step current) throws Exception
    {
        final Step step = current != null ? current : steps.isEmpty() ? null : steps.get(steps.size() - 1);
        final List<String> found = new ArrayList<>();
        final long kernelSilence = System.nanoTime() - view.buffer.getLongVolatile(IpcLayout.KERNEL_HEARTBEAT_OFFSET);
        if (!kernel.isAlive() || (current != null && kernelSilence > 3 * TIMEOUT_MS * 1_000_000L))
        {
            found.add(kernel.isAlive() ? "the kernel stopped heartbeating (" + kernelSilence / 1_000_000
                + " ms): its agent hangs" : "the kernel died, exit " + kernel.exitValue() + ": " + kernel.diagnostics());
            kernel.kill9();
            startKernel();
        }
        if (!server.isAlive())
        {
            found.add("the server died, exit " + server.exitValue() + ": " + server.diagnostics());
            restartServer();
        }
        else if (current != null)
        {
            final int pass = view.layout.serverEntry(0) + IpcLayout.ENTRY_PASS_OFFSET;
            final long before = view.buffer.getLongVolatile(pass);
            Thread.sleep(500);
            if (view.buffer.getLongVolatile(pass) == before && view.buffer.getIntVolatile(
                view.layout.serverEntry(0) + IpcLayout.ENTRY_STATE_OFFSET) == IpcLayout.ATTACHED)
            {
                found.add("the server's agent hangs: its pass counter stood still for 500 ms (restarted)");
                server.kill9();
                restartServer();
            }
        }
        if (!prober.isAlive())
        {
            found.add("the prober died, exit " + prober.exitValue() + ": " + prober.diagnostics());
            prober = start("prober", dir.toString(), "0");
        }
        for (int i = 0; i <= GOOD; i++)
        {
            final List<String> stuck = clients[i].linesStartingWith("STUCK");
            final int seen = stuckSeen.getOrDefault(role(i) + clients[i].pid(), 0);
            final List<String> threw = clients[i].linesStartingWith("THREW");
            final int threwSeen = stuckSeen.getOrDefault("threw" + role(i) + clients[i].pid(), 0);
            if (threw.size() > threwSeen)
            {
                found.add(role(i) + ": the library threw other than IllegalStateException: " + threw.get(threwSeen));
                stuckSeen.put("threw" + role(i) + clients[i].pid(), threw.size());
            }
            if (!clients[i].isAlive() || stuck.size() > seen)
            {
                found.add(clients[i].isAlive() ? role(i) + ": a library call hangs: " + stuck.get(seen)
                    : role(i) + " died, exit " + clients[i].exitValue() + ": " + clients[i].diagnostics());
                stuckSeen.put(role(i) + clients[i].pid(), stuck.size());
                clients[i].kill9();
                clients[i] = startClient(i);
            }
        }
        if (!found.isEmpty())
        {
            if (step == null)
            {
                violations.addAll(found);
            }
            else if (current == null)
            {
                // Found before the next step: the previous one's, judged already.
                for (final String p : found)
                {
                    step.problems.add(p);
                    violations.add(mode + " " + step.field.name() + " := " + step.value + ": " + p);
                }
            }
            else
            {
                step.problems.addAll(found);
            }
        }
    }

    private boolean recover(final Step step) throws Exception
    {
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RECOVERY_MS);
        while (System.nanoTime() - deadline < 0)
        {
            Thread.sleep(20);
            if (recovered(markAll(step.counts)))
            {
                return true;
            }
        }
        return false;
    }

    private void restartAll() throws Exception
    {
        for (final ChildProcess client : clients)
        {
            client.kill9();
        }
        server.kill9();
        kernel.kill9();
        startKernel();
        restartServer();
        for (int i = 0; i <= GOOD; i++)
        {
            clients[i] = startClient(i);
        }
    }

    private void restartServer() throws Exception
    {
        server = start("harness-server", dir.toString(), "0", "0");
        try
        {
            server.await("READY", 30);
        }
        catch (final AssertionError ex)
        {
            violations.add(mode + ": a new server could not attach within 30 s: " + ex.getMessage());
        }
    }

    // ------------------------------------------------------------------------------------------------ the report

    private String table(final List<Field> fields, final int writes, final long seconds)
    {
        final StringBuilder b = new StringBuilder();
        b.append(String.format("Structured fuzz, %s mode: %d fields, %d writes, %d seed(s), %d s%n", mode,
            fields.size(), writes, SEEDS, seconds));
        b.append(String.format("%-48s %-6s %6s %8s %8s %8s %6s  %s%n", "field", "group", "values", "victimKO",
            "othersKO", "recovMs", "bad", "outcome"));
        for (final Field field : fields)
        {
            long victimKo = 0;
            long othersKo = 0;
            long maxRecovery = 0;
            int values = 0;
            int bad = 0;
            final List<String> outcomes = new ArrayList<>();
            for (final Step s : steps)
            {
                if (s.field != field)
                {
                    continue;
                }
                values++;
                victimKo += s.counts[0][1] + s.counts[0][2] + s.counts[0][3];
                for (int i = 1; i <= GOOD; i++)
                {
                    othersKo += s.counts[i][1] + s.counts[i][2] + s.counts[i][3];
                }
                maxRecovery = Math.max(maxRecovery, s.recoveryMs);
                if (!s.problems.isEmpty())
                {
                    bad++;
                    outcomes.add(s.value + " -> " + String.join("; ", s.problems));
                }
            }
            if (values == 0)
            {
                continue;
            }
            if (outcomes.isEmpty())
            {
                outcomes.add(victimKo + othersKo == 0 ? "no call failed" : field.group().shared
                    ? "calls failed while damaged, then recovered" : "only the victim's calls failed, then recovered");
            }
            b.append(String.format("%-48s %-6s %6d %8d %8d %8d %6d  %s%n", field.name(), field.group(), values,
                victimKo, othersKo, maxRecovery, bad, outcomes.get(0)));
            for (int i = 1; i < outcomes.size(); i++)
            {
                b.append(String.format("%-48s %-6s %6s %8s %8s %8s %6s  %s%n", "", "", "", "", "", "", "",
                    outcomes.get(i)));
            }
        }
        return b.toString();
    }
}
