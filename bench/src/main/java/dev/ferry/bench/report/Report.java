package dev.ferry.bench.report;

import dev.ferry.affinity.model.MachineState;

import java.util.List;

/**
 * Everything one {@code report} run measured, as plain immutable records: the modes, the batch sweep, the
 * idle-strategy sweep under open-loop load, and the verdicts on Ferry's claims.
 *
 * <p>Immutable; safe to share between threads.
 *
 * @param machine     what the run was on: processors, JVM, OS.
 * @param budgetMs    the time budget the run was given.
 * @param elapsedMs   how long the measurements took.
 * @param modes       one result per mode.
 * @param batchSweep  ns per call against batch size, for DIRECT and MOVER.
 * @param idle        p99 latency against CPU for each idle strategy at each load.
 * @param capacity    how the idle sweep's capacity was measured.
 * @param checks      the claims, each measured in this run.
 */
public record Report(
    String machine,
    long budgetMs,
    long elapsedMs,
    List<ModeResult> modes,
    List<BatchPoint> batchSweep,
    List<IdlePoint> idle,
    Capacity capacity,
    List<Check> checks)
{
    /**
     * One mode's closed-loop round trips: one caller, one call in flight, the same echo handler in every mode.
     *
     * @param mode                   INLINE, DIRECT, MOVER or BLOCKING.
     * @param calls                  round trips measured.
     * @param rttP50Ns               round-trip median, ns.
     * @param rttP99Ns               round-trip 99th percentile, ns.
     * @param rttP999Ns              round-trip 99.9th percentile, ns.
     * @param callsPerSec            round trips per second.
     * @param cpuNsPerCall           CPU time of all roles together per call, ns.
     * @param callerCpuNsPerCall     the caller's CPU time per call, ns.
     * @param serverCpuNsPerCall     the server's CPU time per call, ns (0 when there is no server thread).
     * @param moverCpuNsPerCall      the mover's CPU time per call, ns (0 when there is no mover).
     * @param ctxSwitchesPerCall     voluntary and involuntary context switches of all roles per call.
     * @param voluntaryPerCall       voluntary switches (blocking, yielding) of all roles per call.
     * @param involuntaryPerCall     involuntary switches (preemption) of all roles per call.
     * @param lineRttNs              the machine's state while measured: a cache-line round trip probed before and
     *                               after ({@link MachineState#across}), {@link MachineState#NOT_PROBED} or
     *                               {@link MachineState#CHANGED}.
     */
    public record ModeResult(
        String mode,
        long calls,
        long rttP50Ns,
        long rttP99Ns,
        long rttP999Ns,
        double callsPerSec,
        double cpuNsPerCall,
        double callerCpuNsPerCall,
        double serverCpuNsPerCall,
        double moverCpuNsPerCall,
        double ctxSwitchesPerCall,
        double voluntaryPerCall,
        double involuntaryPerCall,
        long lineRttNs)
    {
        /**
         * @param state the machine's state during the measurement, from {@link MachineState#across}.
         * @return this result with that state.
         */
        public ModeResult withLineRttNs(final long state)
        {
            return new ModeResult(mode, calls, rttP50Ns, rttP99Ns, rttP999Ns, callsPerSec, cpuNsPerCall,
                callerCpuNsPerCall, serverCpuNsPerCall, moverCpuNsPerCall, ctxSwitchesPerCall, voluntaryPerCall,
                involuntaryPerCall, state);
        }
    }

    /**
     * One point of the batch sweep: a caller submits {@code batch} calls, flushes them at once, and awaits all.
     *
     * @param mode        DIRECT or MOVER.
     * @param batch       calls per flush.
     * @param calls       calls measured.
     * @param callsPerSec calls per second.
     * @param nsPerCall   wall-clock ns per call: the measured time over the calls, stalls included.
     * @param medianNsPerCall the median batch round trip over the batch size: the path's cost per call without the
     *                    stalls of a thread the scheduler took off its CPU, which dominate the mean on a busy machine.
     */
    public record BatchPoint(
        String mode, int batch, long calls, double callsPerSec, double nsPerCall, double medianNsPerCall)
    {
    }

    /**
     * One point of the idle sweep: a server idling with {@code strategy} under open-loop Poisson arrivals at
     * {@code loadFraction} of capacity.
     *
     * @param strategy     the server's idle strategy.
     * @param loadFraction arrival rate over capacity.
     * @param offeredPerSec arrivals per second asked for.
     * @param calls        calls measured: those due in the measured interval and handled; 0 when a server that
     *                     got too little CPU fell so far behind that none of them was sent before the interval
     *                     ended (the percentiles then read 0 and mean nothing).
     * @param p50Ns        response-time median (from the scheduled send time to the handler's end), ns.
     * @param p99Ns        response-time 99th percentile, ns.
     * @param cpuFraction  the server thread's CPU time over wall-clock time, service time included.
     * @param generatorLateP99Ns the 99th percentile of how late the load generator sent a call after its scheduled
     *                     time, ns: the harness's own share of the response times (it is charged to them), large
     *                     when the generator did not get a CPU in time.
     * @param seats        where the generator and the server ran, such as {@code generator@0 server@1}, or
     *                     {@code unpinned} with the reason.
     */
    public record IdlePoint(
        String strategy, double loadFraction, double offeredPerSec, long calls, long p50Ns, long p99Ns,
        double cpuFraction, long generatorLateP99Ns, String seats)
    {
    }

    /**
     * The idle sweep's capacity: the rate at which a saturated server completed calls, measured in the same run, with
     * the handler's own service time beside it.
     *
     * @param serviceNs         the handler's nominal service time, ns (it spins that long).
     * @param measuredServiceNs the median time one run of the handler really took, ns.
     * @param callsPerSec       the capacity: calls a second a saturated server completed, path and interruptions
     *                          included (so below 1e9 over the measured service time).
     */
    public record Capacity(long serviceNs, double measuredServiceNs, double callsPerSec)
    {
    }

    /**
     * One claim and whether this run bears it out.
     *
     * @param name     a short name.
     * @param claim    what is claimed.
     * @param measured what was measured.
     * @param passed   whether the measurement bears the claim out.
     */
    public record Check(String name, String claim, String measured, boolean passed)
    {
    }
}
