package dev.ferry.samples.microkernel;

import dev.ferry.Handler;
import org.agrona.MutableDirectBuffer;

/**
 * The block-device server: an in-memory disk of fixed-size blocks; reads and writes a range within one block.
 *
 * <p>Threading: not thread-safe; run by one server thread (or, INLINE, by one caller thread). Read its state with
 * {@link #image()} only after the kernel has closed.
 */
final class BlockDevice implements Handler
{
    private final byte[] disk;

    BlockDevice(final int blocks)
    {
        this.disk = new byte[blocks * Wire.BLOCK_BYTES];
    }

    @Override
    public int onCall(final MutableDirectBuffer msg, final int length)
    {
        final int op = msg.getInt(Wire.OP);
        final int block = msg.getInt(Wire.A);
        final int offset = msg.getInt(Wire.B);
        final int n = msg.getInt(Wire.C);
        if (block < 0 || (long)(block + 1) * Wire.BLOCK_BYTES > disk.length || offset < 0 || n < 0
            || offset + n > Wire.BLOCK_BYTES || Wire.DATA + n > msg.capacity())
        {
            throw new IllegalArgumentException("disk: block " + block + " bytes [" + offset + ", " + (offset + n)
                + ") are outside the disk of " + disk.length / Wire.BLOCK_BYTES + " blocks of " + Wire.BLOCK_BYTES
                + " bytes, or too long for a slot");
        }
        final int at = block * Wire.BLOCK_BYTES + offset;
        if (op == Wire.WRITE)
        {
            msg.getBytes(Wire.DATA, disk, at, n);
            msg.putInt(Wire.RESULT, n);
            return 8;
        }
        if (op == Wire.READ)
        {
            msg.putBytes(Wire.DATA, disk, at, n);
            msg.putInt(Wire.RESULT, n);
            return Wire.DATA + n;
        }
        throw new IllegalArgumentException("disk: unknown operation " + op);
    }

    byte[] image()
    {
        return disk.clone();
    }
}
