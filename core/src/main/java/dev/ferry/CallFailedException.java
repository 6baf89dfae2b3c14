package dev.ferry;

/**
 * A call made through {@link Client#call} did not end with {@link Status#OK}: its handler threw or its server died
 * (the cause says which), the kernel closed before running it, or its deadline passed.
 *
 * <p>Immutable once thrown; safe to pass between threads.
 */
public final class CallFailedException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final long callId;
    private final int serviceId;
    private final Status status;

    /**
     * @param callId    the call's id.
     * @param serviceId the service it went to.
     * @param status    how it ended: {@link Status#FAILED}, {@link Status#CLOSED} or {@link Status#TIMED_OUT}.
     * @param cause     the handler's exception, or what closed it.
     */
    public CallFailedException(final long callId, final int serviceId, final Status status, final Throwable cause)
    {
        super("call " + callId + " to service " + serviceId + " ended " + status
            + (cause == null ? "" : ": " + cause), cause);
        this.callId = callId;
        this.serviceId = serviceId;
        this.status = status;
    }

    /** @return the call's id. */
    public long callId()
    {
        return callId;
    }

    /** @return the service the call went to. */
    public int serviceId()
    {
        return serviceId;
    }

    /** @return how the call ended. */
    public Status status()
    {
        return status;
    }
}
