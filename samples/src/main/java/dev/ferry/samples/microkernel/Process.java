package dev.ferry.samples.microkernel;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * One process of the client program, as a state machine of system calls on its own file: {@code sessions} times,
 * open the file, then {@code rounds} times write 16 bytes and read 16 bytes, then close it. A read or write is two
 * Ferry calls, as in a microkernel: the file system maps it to a block, then the block device moves the bytes.
 * Every Ferry call's reply decides the next, so the same process runs one call at a time or interleaved with others.
 *
 * <p>Threading: confined to the client's thread.
 */
final class Process
{
    private static final int OPEN = 0;
    private static final int WRITE_MAP = 1;
    private static final int WRITE_DISK = 2;
    private static final int READ_MAP = 3;
    private static final int READ_DISK = 4;
    private static final int CLOSE = 5;
    private static final int DONE = 6;

    private final int pid;
    private final int sessions;
    private final int rounds;
    private int state = OPEN;
    private int session;
    private int round;
    private int fd;
    private int block;
    private int offset;
    private int length;
    private long syscalls;
    private long checksum;
    private int service;

    Process(final int pid, final int sessions, final int rounds)
    {
        this.pid = pid;
        this.sessions = sessions;
        this.rounds = rounds;
    }

    boolean done()
    {
        return state == DONE;
    }

    /** @return the service the last {@link #next} call is for. */
    int service()
    {
        return service;
    }

    /**
     * Writes this process's next Ferry call into {@code req}.
     *
     * @return the request's length; {@link #service()} says where it goes.
     */
    int next(final MutableDirectBuffer req)
    {
        req.putInt(Wire.TAG, pid);
        switch (state)
        {
            case OPEN:
                service = Wire.FS;
                req.putInt(Wire.OP, Wire.OPEN);
                req.putInt(Wire.A, pid);
                return Wire.B;
            case WRITE_MAP:
            case READ_MAP:
                service = Wire.FS;
                req.putInt(Wire.OP, Wire.MAP);
                req.putInt(Wire.A, fd);
                req.putInt(Wire.B, Wire.IO_BYTES);
                req.putInt(Wire.C, state == WRITE_MAP ? 1 : 0);
                return Wire.DATA;
            case WRITE_DISK:
                service = Wire.DISK;
                req.putInt(Wire.OP, Wire.WRITE);
                putRange(req);
                for (int i = 0; i < length; i++)
                {
                    req.putByte(Wire.DATA + i, (byte)(pid * 31 + session * 7 + round * 3 + i));
                }
                return Wire.DATA + length;
            case READ_DISK:
                service = Wire.DISK;
                req.putInt(Wire.OP, Wire.READ);
                putRange(req);
                return Wire.DATA;
            case CLOSE:
                service = Wire.FS;
                req.putInt(Wire.OP, Wire.CLOSE);
                req.putInt(Wire.A, fd);
                return Wire.B;
            default:
                throw new IllegalStateException("process " + pid + " has finished");
        }
    }

    private void putRange(final MutableDirectBuffer req)
    {
        req.putInt(Wire.A, block);
        req.putInt(Wire.B, offset);
        req.putInt(Wire.C, length);
    }

    /**
     * Takes the reply to this process's last call and moves on.
     *
     * @param reply the reply.
     */
    void onReply(final DirectBuffer reply)
    {
        if (reply.getInt(Wire.TAG) != pid)
        {
            throw new IllegalStateException("process " + pid + " got a reply tagged " + reply.getInt(Wire.TAG));
        }
        switch (state)
        {
            case OPEN:
                fd = reply.getInt(Wire.RESULT);
                syscalls++;
                state = WRITE_MAP;
                break;
            case WRITE_MAP:
            case READ_MAP:
                block = reply.getInt(Wire.A);
                offset = reply.getInt(Wire.B);
                length = reply.getInt(Wire.C);
                state = state == WRITE_MAP ? WRITE_DISK : READ_DISK;
                break;
            case WRITE_DISK:
                syscalls++;
                state = READ_MAP;
                break;
            case READ_DISK:
                for (int i = 0; i < length; i++)
                {
                    checksum = checksum * 31 + reply.getByte(Wire.DATA + i);
                }
                syscalls++;
                state = ++round < rounds ? WRITE_MAP : CLOSE;
                break;
            case CLOSE:
                syscalls++;
                round = 0;
                state = ++session < sessions ? OPEN : DONE;
                break;
            default:
                throw new IllegalStateException("process " + pid + " has finished but got a reply");
        }
    }

    long syscalls()
    {
        return syscalls;
    }

    long checksum()
    {
        return checksum;
    }
}
