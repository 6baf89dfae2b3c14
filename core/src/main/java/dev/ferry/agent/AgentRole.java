package dev.ferry.agent;

/**
 * The kinds of polling agent a Ferry kernel runs on threads of its own.
 *
 * <p>Immutable; safe to share between threads.
 */
public enum AgentRole
{
    /** Runs one service's handler over that service's request ring. */
    SERVER,
    /** Scans client submission rings and carries requests to servers and replies back. */
    MOVER
}
