package dev.ferry.samples.microkernel;

import dev.ferry.Handler;
import org.agrona.MutableDirectBuffer;

/**
 * The file-system server: files are fixed extents of blocks on the disk; it opens and closes files, and maps a
 * read or write at a file descriptor's position to a block, an offset and a length, which the caller then asks the
 * block device for. Writes append (wrapping within the file's extent); reads go from the start of the file.
 *
 * <p>Threading: not thread-safe; run by one server thread (or, INLINE, by one caller thread). Read its state with
 * {@link #appendCursors()} only after the kernel has closed.
 */
final class FileSystem implements Handler
{
    private final int blocksPerFile;
    private final int fileBytes;
    private final int[] appendCursor;
    private final int[] fdFile;
    private final int[] fdPos;

    FileSystem(final int files, final int blocksPerFile)
    {
        this.blocksPerFile = blocksPerFile;
        this.fileBytes = blocksPerFile * Wire.BLOCK_BYTES;
        this.appendCursor = new int[files];
        this.fdFile = new int[files];
        this.fdPos = new int[files];
        java.util.Arrays.fill(fdFile, -1);
    }

    @Override
    public int onCall(final MutableDirectBuffer msg, final int length)
    {
        switch (msg.getInt(Wire.OP))
        {
            case Wire.OPEN:
            {
                final int file = msg.getInt(Wire.A);
                if (file < 0 || file >= appendCursor.length)
                {
                    throw new IllegalArgumentException("open: no file " + file + "; files are 0-" + (appendCursor.length - 1));
                }
                int fd = 0;
                while (fd < fdFile.length && fdFile[fd] >= 0)
                {
                    fd++;
                }
                if (fd == fdFile.length)
                {
                    throw new IllegalStateException("open: all " + fdFile.length + " descriptors are in use");
                }
                fdFile[fd] = file;
                fdPos[fd] = 0;
                msg.putInt(Wire.RESULT, fd);
                return 8;
            }
            case Wire.MAP:
            {
                final int fd = checkFd(msg.getInt(Wire.A));
                final int n = msg.getInt(Wire.B);
                final boolean write = msg.getInt(Wire.C) != 0;
                final int file = fdFile[fd];
                final int pos;
                if (write)
                {
                    pos = appendCursor[file];
                    appendCursor[file] = (pos + n) % fileBytes;
                }
                else
                {
                    pos = fdPos[fd];
                    fdPos[fd] = (pos + n) % fileBytes;
                }
                msg.putInt(Wire.RESULT, n);
                msg.putInt(Wire.A, file * blocksPerFile + pos / Wire.BLOCK_BYTES);
                msg.putInt(Wire.B, pos % Wire.BLOCK_BYTES);
                msg.putInt(Wire.C, n);
                return Wire.DATA;
            }
            case Wire.CLOSE:
            {
                fdFile[checkFd(msg.getInt(Wire.A))] = -1;
                msg.putInt(Wire.RESULT, 0);
                return 8;
            }
            default:
                throw new IllegalArgumentException("file system: unknown operation " + msg.getInt(Wire.OP));
        }
    }

    private int checkFd(final int fd)
    {
        if (fd < 0 || fd >= fdFile.length || fdFile[fd] < 0)
        {
            throw new IllegalArgumentException("bad file descriptor " + fd);
        }
        return fd;
    }

    int[] appendCursors()
    {
        return appendCursor.clone();
    }
}
