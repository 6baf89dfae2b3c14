package dev.ferry.samples.microkernel;

/**
 * The toy operating system's message layout, shared by the servers and the client program. Every request starts
 * with a tag (the calling process, echoed back) and an operation; every reply with the tag and a result.
 *
 * <pre>
 * request: [0] int tag  [4] int op  [8] int a  [12] int b  [16] int c  [20] data...
 * reply:   [0] int tag  [4] int result  [8] int x  [12] int y  [16] int z  [20] data...
 * </pre>
 *
 * <p>Constants only; safe to share between threads.
 */
final class Wire
{
    static final int TAG = 0;
    static final int OP = 4;
    static final int A = 8;
    static final int B = 12;
    static final int C = 16;
    static final int DATA = 20;
    static final int RESULT = 4;

    static final int FS = 0;
    static final int DISK = 1;

    static final int OPEN = 1;
    static final int MAP = 2;
    static final int CLOSE = 3;
    static final int READ = 4;
    static final int WRITE = 5;

    static final int SLOT_BYTES = 64;
    static final int BLOCK_BYTES = 64;
    static final int IO_BYTES = 16;

    private Wire()
    {
    }
}
