package dev.ferry;

import org.agrona.concurrent.IdleStrategy;

import java.nio.file.Path;

/** Test access to the lane client behind {@link Client#attach}, for the counters only it has. */
final class Lanes
{
    private Lanes()
    {
    }

    static LaneClient attach(final String name)
    {
        return (LaneClient)Client.attach(name);
    }

    static LaneClient attach(final Path directory, final IdleStrategy idle)
    {
        return (LaneClient)Client.attach(directory, idle);
    }
}
