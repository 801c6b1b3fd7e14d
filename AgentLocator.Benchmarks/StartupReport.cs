using System.Diagnostics;
using System.Globalization;
using System.Text;
using AgentLocator.MediaWorker.MediaStreams;
using AgentLocator.Testing.MediaStreams;

namespace AgentLocator.Benchmarks;

/// <summary>
/// What a burst of call starts costs the process, for the media-pipeline benchmark: the calls' arrival (when each was connected),
/// the load generator's own part of each (the incoming call recorded in Postgres, as the Api's webhook does, and the WebSocket
/// connect), the worker's start phase by phase (<see cref="MediaStreamStats.Starts"/>), the process's CPU, allocations, JIT, garbage
/// collections and thread-pool work per call start against the steady state, and a time line of the start-up in 500 ms steps
/// (the thread pool's queue and delay, the load generator's line lag and the late frames there).
/// </summary>
internal sealed class StartupReport(long runStart)
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan After = TimeSpan.FromSeconds(4);

    private readonly System.Collections.Concurrent.ConcurrentQueue<(long At, TimeSpan Record, TimeSpan Connect)> _arrivals = new();

    /// <summary>One call connected now: recording its incoming call took <paramref name="record"/>, its WebSocket and <c>start</c> <paramref name="connect"/>.</summary>
    public void Connected(TimeSpan record, TimeSpan connect) => _arrivals.Enqueue((Stopwatch.GetTimestamp(), record, connect));

    /// <param name="stalls">The run's probe (its samples every 100 ms).</param>
    /// <param name="steadyFrom">The measured window (Stopwatch timestamps), for the steady state per call-second.</param>
    public string Render(int calls, ProcessStalls stalls, IReadOnlyList<(long At, double LagMs, double WaitedMs)> ticks, IReadOnlyList<LateGap> gaps,
        IReadOnlyList<MediaStreamStats.StreamStartTiming> starts, long steadyFrom, long steadyTo)
    {
        var arrivals = _arrivals.OrderBy(a => a.At).ToList();
        if (arrivals.Count == 0)
        {
            return "no calls connected.";
        }

        var samples = stalls.PoolSamples;
        var rampEnd = arrivals[^1].At;
        // The ramp's cost: from the run's start to a second after the last call connected (its start and first reply).
        var rampTo = rampEnd + Stopwatch.Frequency;
        var ramp = Delta(samples, runStart, rampTo);
        var steady = Delta(samples, steadyFrom, steadyTo);
        var steadySeconds = steady.Seconds * calls;
        var text = new StringBuilder();
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{arrivals.Count} calls connected in {Stopwatch.GetElapsedTime(runStart, rampEnd).TotalSeconds:F1} s. "
            + $"The load generator's part of a call start, p50 / p99 / max (ms): the incoming call recorded (Postgres, in this process, as the Api does) "
            + $"{Quantiles(arrivals.Select(a => a.Record.TotalMilliseconds))}; WebSocket connect, connected and start sent {Quantiles(arrivals.Select(a => a.Connect.TotalMilliseconds))}. "
            + $"The worker's start, from start read to the first reply released, p50 / p99 / max (ms): session lookup {Quantiles(starts.Select(s => s.Lookup.TotalMilliseconds))}; "
            + $"call records (Postgres) {Quantiles(starts.Select(s => s.Records.TotalMilliseconds))}; engine's first reply {Quantiles(starts.Select(s => s.Engine.TotalMilliseconds))}; "
            + $"first reply scheduled and released {Quantiles(starts.Select(s => s.FirstRelease.TotalMilliseconds))}; total {Quantiles(starts.Select(s => s.Total.TotalMilliseconds))}."));
        text.AppendLine();
        text.AppendLine("| per | CPU (ms) | allocated (KiB) | pool work items | JIT'd methods | JIT time (ms) | GCs, all / gen1+ / gen2 | GC pause (ms) | lock contentions |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---|---:|---:|");
        // The calls already up over the ramp cost what they cost steadily: what is left over is the starts' own.
        var liveCallSeconds = arrivals.Sum(a => Math.Max(0, Stopwatch.GetElapsedTime(a.At, rampTo).TotalSeconds));
        var own = steadySeconds > 0 ? ramp.Less(steady, liveCallSeconds / steadySeconds) : ramp;
        text.AppendLine(Row($"call start (the ramp and 1 s after, {ramp.Seconds:F1} s, over {arrivals.Count} calls)", ramp, arrivals.Count));
        text.AppendLine(Row($"call start, less the steady cost of the {liveCallSeconds:F0} call-seconds already up then", own, arrivals.Count));
        text.AppendLine(Row($"call-second, steady ({steady.Seconds:F0} s × {calls} calls)", steady, steadySeconds));
        text.AppendLine();
        text.AppendLine("| t (s) | calls connected | CPU (% core) | allocated (MB) | pool work items | pool queued, max | pool delay, longest (ms) | JIT'd methods / ms | GCs / pause (ms) | line lag, max (ms) | line waited on sends, max (ms) | late frames |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|");
        var step = (long)(Step.TotalSeconds * Stopwatch.Frequency);
        for (var from = runStart; from < rampEnd + (long)(After.TotalSeconds * Stopwatch.Frequency); from += step)
        {
            var to = from + step;
            var d = Delta(samples, from, to);
            var queued = samples.Where(s => s.At >= from && s.At < to).Select(s => s.Queued).DefaultIfEmpty(0).Max();
            var poolDelay = ProcessStalls.Within(stalls.PoolDelays, from, to).Longest;
            var lag = ticks.Where(t => t.At >= from && t.At < to).Select(t => t.LagMs).DefaultIfEmpty(0).Max();
            var waited = ticks.Where(t => t.At >= from && t.At < to).Select(t => t.WaitedMs).DefaultIfEmpty(0).Max();
            var late = gaps.Where(g => g.DryAtTimestamp >= from && g.DryAtTimestamp < to).Sum(g => g.Frames);
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Stopwatch.GetElapsedTime(runStart, from).TotalSeconds:F1} | {arrivals.Count(a => a.At < to)} | {(d.Seconds > 0 ? d.Cpu.TotalMilliseconds / 10 / d.Seconds : 0):F0} "
                + $"| {d.Allocated / 1048576.0:F1} | {d.Completed} | {queued} | {poolDelay.TotalMilliseconds:F0} | {d.JitMethods} / {d.JitTime.TotalMilliseconds:F0} "
                + $"| {d.Gen0} / {d.GcPause.TotalMilliseconds:F0} | {lag:F0} | {waited:F0} | {late} |"));
        }

        return text.ToString().TrimEnd();
    }

    private static string Row(string per, Totals d, double count) => string.Create(CultureInfo.InvariantCulture,
        $"| {per} | {d.Cpu.TotalMilliseconds / count:F2} | {d.Allocated / 1024.0 / count:F1} | {d.Completed / count:F1} | {d.JitMethods / count:F2} | {d.JitTime.TotalMilliseconds / count:F2} "
        + $"| {d.Gen0} / {d.Gen1} / {d.Gen2} | {d.GcPause.TotalMilliseconds:F0} | {d.Contentions / count:F2} |");

    private static string Quantiles(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return "-";
        }

        double At(double q) => sorted[Math.Clamp((int)Math.Ceiling(sorted.Length * q) - 1, 0, sorted.Length - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"{At(0.5):F0} / {At(0.99):F0} / {sorted[^1]:F0}");
    }

    private readonly record struct Totals(double Seconds, TimeSpan Cpu, long Allocated, long Completed, int Gen0, int Gen1, int Gen2, TimeSpan GcPause,
        long JitMethods, TimeSpan JitTime, long Contentions)
    {
        /// <summary>These totals less <paramref name="share"/> of <paramref name="other"/>'s (GCs and JIT kept: the process's, not the calls').</summary>
        public Totals Less(Totals other, double share) => this with
        {
            Cpu = Cpu - other.Cpu * share,
            Allocated = Allocated - (long)(other.Allocated * share),
            Completed = Completed - (long)(other.Completed * share),
            Contentions = Contentions - (long)(other.Contentions * share),
        };
    }

    /// <summary>The process's totals between the last samples at or before <paramref name="from"/> and <paramref name="to"/>.</summary>
    private static Totals Delta(IReadOnlyList<ProcessStalls.PoolSample> samples, long from, long to)
    {
        var a = samples.LastOrDefault(s => s.At <= from, samples.Count > 0 ? samples[0] : default);
        var b = samples.LastOrDefault(s => s.At <= to, a);
        if (b.At <= a.At)
        {
            return default;
        }

        return new Totals(Stopwatch.GetElapsedTime(a.At, b.At).TotalSeconds, b.Cpu - a.Cpu, b.Allocated - a.Allocated, b.Completed - a.Completed,
            b.Gen0 - a.Gen0, b.Gen1 - a.Gen1, b.Gen2 - a.Gen2, b.GcPause - a.GcPause, b.JitMethods - a.JitMethods, b.JitTime - a.JitTime,
            b.Contentions - a.Contentions);
    }
}
