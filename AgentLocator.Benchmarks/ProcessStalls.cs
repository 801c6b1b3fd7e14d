using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Tracing;

namespace AgentLocator.Benchmarks;

/// <summary>
/// What held this process up, on the <see cref="Stopwatch"/> clock, so a late frame can be lined up with it: each
/// garbage collection's pause (the runtime's own events, suspension to restart), how long a work item waited in the
/// thread pool's queue (a probe queued every 10 ms), and how late a dedicated thread woke from a 10 ms sleep (the
/// machine's other work: the OS did not run us).
/// </summary>
public sealed class ProcessStalls : EventListener
{
    private const int GcKeyword = 0x1;
    private const int GcRestartEeEnd = 3;
    private const int GcSuspendEeBegin = 9;
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(10);

    private readonly ConcurrentQueue<Stall> _gcPauses = new();
    private readonly ConcurrentQueue<Stall> _poolDelays = new();
    private readonly ConcurrentQueue<Stall> _wakeDelays = new();
    private readonly ConcurrentQueue<PoolSample> _poolSamples = new();
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private readonly DateTime _startUtc = DateTime.UtcNow;
    private readonly Thread _probe;
    private volatile bool _stopped;
    private long _suspendedAt;

    public ProcessStalls()
    {
        _probe = new Thread(Probe) { IsBackground = true, Name = "stall probe", Priority = ThreadPriority.AboveNormal };
        _probe.Start();
    }

    /// <summary>A span of time (Stopwatch timestamps) the process, or part of it, did not run.</summary>
    public readonly record struct Stall(long From, long To)
    {
        public TimeSpan Length => Stopwatch.GetElapsedTime(From, To);
    }

    /// <summary>
    /// Every 100 ms: the thread pool's threads and queued work items, and the CPU this process used since the last sample (% of one
    /// core); and the process's running totals then, to difference between two samples: CPU time, bytes allocated, work items the
    /// pool completed, garbage collections (gen 0, 1, 2) and their total pause, methods the JIT compiled and its time, lock contentions.
    /// </summary>
    public readonly record struct PoolSample(long At, int Threads, long Queued, double CpuPercent, TimeSpan Cpu, long Allocated, long Completed,
        int Gen0, int Gen1, int Gen2, TimeSpan GcPause, long JitMethods, TimeSpan JitTime, long Contentions);

    public IReadOnlyList<PoolSample> PoolSamples => [.. _poolSamples];

    /// <summary>The pool's most threads and queued items, and this process's CPU (p50 / max % of a core), over [<paramref name="from"/>, <paramref name="to"/>].</summary>
    public (int Threads, long Queued, double CpuP50, double CpuMax) PoolWithin(long from, long to)
    {
        var within = _poolSamples.Where(s => s.At >= from && s.At <= to).ToList();
        if (within.Count == 0)
        {
            return (0, 0, 0, 0);
        }

        var cpu = within.Select(s => s.CpuPercent).Order().ToList();
        return (within.Max(s => s.Threads), within.Max(s => s.Queued), cpu[cpu.Count / 2], cpu[^1]);
    }

    public IReadOnlyList<Stall> GcPauses => [.. _gcPauses];

    /// <summary>Thread-pool queueing delays of 5 ms or more.</summary>
    public IReadOnlyList<Stall> PoolDelays => [.. _poolDelays];

    /// <summary>Late wake-ups of a dedicated thread of 5 ms or more (the OS ran other work, or the GC had us suspended).</summary>
    public IReadOnlyList<Stall> WakeDelays => [.. _wakeDelays];

    public void Clear()
    {
        _gcPauses.Clear();
        _poolDelays.Clear();
        _wakeDelays.Clear();
        _poolSamples.Clear();
    }

    /// <summary>The longest of <paramref name="stalls"/> overlapping [<paramref name="from"/>, <paramref name="to"/>], and their sum there.</summary>
    public static (TimeSpan Longest, TimeSpan Total) Within(IReadOnlyList<Stall> stalls, long from, long to)
    {
        var longest = TimeSpan.Zero;
        var total = TimeSpan.Zero;
        foreach (var stall in stalls)
        {
            if (stall.To >= from && stall.From <= to)
            {
                var length = stall.Length;
                longest = length > longest ? length : longest;
                total += length;
            }
        }

        return (longest, total);
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Informational, (EventKeywords)GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        // The runtime's events arrive a little later on a listener thread: their own timestamps place them.
        switch (eventData.EventId)
        {
            case GcSuspendEeBegin:
                Volatile.Write(ref _suspendedAt, ToTimestamp(eventData.TimeStamp));
                break;
            case GcRestartEeEnd when Volatile.Read(ref _suspendedAt) is var from and > 0:
                _gcPauses.Enqueue(new Stall(from, ToTimestamp(eventData.TimeStamp)));
                Volatile.Write(ref _suspendedAt, 0);
                break;
        }
    }

    private long ToTimestamp(DateTime utc) =>
        _startTimestamp + (long)((utc.ToUniversalTime() - _startUtc).TotalSeconds * Stopwatch.Frequency);

    private void Probe()
    {
        var threshold = (long)(Stopwatch.Frequency * 0.005);
        var process = Process.GetCurrentProcess();
        var cpuAt = Stopwatch.GetTimestamp();
        var cpu = process.TotalProcessorTime;
        while (!_stopped)
        {
            if (Stopwatch.GetElapsedTime(cpuAt) >= TimeSpan.FromMilliseconds(100))
            {
                process.Refresh();
                var now = Stopwatch.GetTimestamp();
                var used = process.TotalProcessorTime;
                _poolSamples.Enqueue(new PoolSample(now, ThreadPool.ThreadCount, ThreadPool.PendingWorkItemCount,
                    (used - cpu) / Stopwatch.GetElapsedTime(cpuAt, now) * 100, used, GC.GetTotalAllocatedBytes(precise: false),
                    ThreadPool.CompletedWorkItemCount, GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2),
                    GC.GetTotalPauseDuration(), System.Runtime.JitInfo.GetCompiledMethodCount(), System.Runtime.JitInfo.GetCompilationTime(),
                    Monitor.LockContentionCount));
                (cpuAt, cpu) = (now, used);
            }

            var before = Stopwatch.GetTimestamp();
            Thread.Sleep(ProbeInterval);
            var after = Stopwatch.GetTimestamp();
            var due = before + (long)(ProbeInterval.TotalSeconds * Stopwatch.Frequency);
            if (after - due >= threshold)
            {
                _wakeDelays.Enqueue(new Stall(due, after));
            }

            ThreadPool.UnsafeQueueUserWorkItem(static state =>
            {
                var now = Stopwatch.GetTimestamp();
                if (now - state.Queued >= state.Threshold)
                {
                    state.Into.Enqueue(new Stall(state.Queued, now));
                }
            }, (Queued: after, Threshold: threshold, Into: _poolDelays), preferLocal: false);
        }
    }

    public override void Dispose()
    {
        _stopped = true;
        base.Dispose();
    }
}
