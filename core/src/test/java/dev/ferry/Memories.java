package dev.ferry;

import org.junit.jupiter.params.provider.Arguments;

import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The two memories a kernel can live in, for behaviour tests that must hold in both: an in-process kernel (direct
 * memory, every mode) and a shared-memory kernel (a mapped file in a test's temporary directory, DIRECT and MOVER
 * only) whose services are served by the kernel's own process, its clients made by {@link Kernel#newClient()}.
 *
 * <p>Parameterized tests take their (memory, mode) pairs from {@link #all()} or {@link #threaded()} with
 * {@code @MethodSource("dev.ferry.Memories#all")} and build their kernel with {@link #builder}.
 */
final class Memories
{
    /** Where a kernel's lanes live. */
    enum Memory
    {
        /** Direct memory of this JVM: {@code Kernel.builder()} without a name or directory. */
        IN_PROCESS,
        /** A mapped file other processes could attach to: {@code Kernel.builder().directory(dir)}. */
        SHARED
    }

    private Memories()
    {
    }

    /** @return every (memory, mode) pair a kernel supports. */
    static Stream<Arguments> all()
    {
        return Stream.of(
            Arguments.of(Memory.IN_PROCESS, Mode.INLINE),
            Arguments.of(Memory.IN_PROCESS, Mode.BLOCKING),
            Arguments.of(Memory.IN_PROCESS, Mode.DIRECT),
            Arguments.of(Memory.IN_PROCESS, Mode.MOVER),
            Arguments.of(Memory.SHARED, Mode.DIRECT),
            Arguments.of(Memory.SHARED, Mode.MOVER));
    }

    /** @return the pairs whose handlers run on a server thread of the kernel: every one but INLINE. */
    static Stream<Arguments> threaded()
    {
        return all().filter(a -> a.get()[1] != Mode.INLINE);
    }

    /**
     * @param memory    where the kernel lives.
     * @param mode      its mode; INLINE and BLOCKING only in-process.
     * @param directory the shared kernel's directory (its parent must exist), unused in-process.
     * @return a builder of that kernel, to which the test adds its services and settings.
     */
    static KernelBuilder builder(final Memory memory, final Mode mode, final Path directory)
    {
        final KernelBuilder builder = Kernel.builder().mode(mode);
        if (memory == Memory.SHARED)
        {
            if (mode == Mode.INLINE || mode == Mode.BLOCKING)
            {
                throw new IllegalArgumentException(mode + " has no shared-memory kernel");
            }
            builder.directory(directory);
        }
        return builder;
    }
}
