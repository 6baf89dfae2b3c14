package dev.ferry;

/**
 * A successful call's reply, copied out of its slot for {@link Client#callAsync}.
 *
 * @param callId  the call's id.
 * @param payload the reply bytes; the array belongs to the receiver.
 */
public record Reply(long callId, byte[] payload)
{
}
