using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.CompilerServices;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using AgentLocator.Media;
using AgentLocator.MediaWorker;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.MediaStreams;
using AgentLocator.MediaWorker.SpeechDetection;
using AgentLocator.Testing.MediaStreams;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Benchmarks;

/// <summary>
/// The live call pipeline under load, at real time: starts the MediaWorker in-process on the database
/// given by <c>--db</c> and drives <c>--calls</c> simultaneous Media Streams with the call simulator (the
/// tests' Twilio peer) on one shared 20 ms line clock. Each caller waits until the bot has stopped, pauses
/// 2–12 s, then says a Hebrew utterance of 1–8 s, over and over for <c>--seconds</c>. Reports turns said and
/// answered, the reply latency on the line's clock (caller's last voiced frame → first audible bot audio)
/// against the silence window, late bot frames (playback that ran dry inside a reply), the line clock's
/// lag, the server's per-frame processing time, and CPU and memory per call. <c>--soak 600</c> instead runs
/// one call of mixed turns for ten minutes and samples the heap. <c>--detector energy</c> runs the energy speech
/// detector instead of Silero (the default when the model is beside the benchmark), for the model's CPU cost per call.
/// <c>--playout-clock off</c> releases reply audio only from the receive loop (no <see cref="PlayoutClock"/>), to compare.
/// <c>--call-rate 5</c> starts the calls as callers dial, 5 a second each on its own schedule, instead of all at once (the default:
/// waves of 25 as fast as they connect, about 100 a second here); the start-up report says what the burst cost either way.
/// <code>dotnet run -c Release --project AgentLocator.Benchmarks -- media-pipeline --db "Host=..;Database=..;Username=.." --calls 300,1000 --seconds 60</code>
/// CPU and memory are the whole process (MediaWorker and the simulated lines): an upper bound per call.
/// </summary>
public sealed class MediaPipelineBenchmark : IBenchmark
{
    private const int FrameBytes = 160;
    private static readonly TimeSpan MinPause = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(12);

    /// <summary>A late gap counts as the worker's when the line's tick ran, and had caught up over the lead before, within this.</summary>
    private static readonly TimeSpan LineKeptTime = TimeSpan.FromMilliseconds(100);

    public string Name => "media-pipeline";

    public string Description => "N real-time calls (1-8 s utterances, 2-12 s pauses) through /ws/twilio-media: turns answered, reply p50/p99, late frames; --soak for one 10-minute call (--db)";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var options = BenchmarkArgs.Parse(args);
        var db = options.Get("db", Environment.GetEnvironmentVariable("ConnectionStrings__agentlocator") ?? "");
        if (db.Length == 0)
        {
            Console.Error.WriteLine("--db <Npgsql connection string> is required (the MediaWorker runs in-process on it).");
            return 2;
        }

        var silenceWindow = TimeSpan.Parse(options.Get("silence-window", "00:00:00.550"), CultureInfo.InvariantCulture);
        var random = new Random(int.Parse(options.Get("seed", "42"), CultureInfo.InvariantCulture));
        var utterances = LoadUtterances();
        var detector = options.Get("detector", "silero");
        if (detector is not ("silero" or "energy"))
        {
            Console.Error.WriteLine("--detector is silero (the default) or energy.");
            return 2;
        }

        var playoutClock = options.Get("playout-clock", "on");
        if (playoutClock is not ("on" or "off"))
        {
            Console.Error.WriteLine("--playout-clock is on (the default) or off.");
            return 2;
        }

        await using var server = await StartServerAsync(db, silenceWindow, detector, playoutClock == "on", cancellationToken);
        var soak = int.Parse(options.Get("soak", "0"), CultureInfo.InvariantCulture);
        if (soak > 0)
        {
            var result = await SoakAsync(server, TimeSpan.FromSeconds(soak), utterances, random, cancellationToken);
            Console.WriteLine();
            Console.WriteLine($"Media pipeline soak: one real-time call of mixed turns for {soak} s, silence window {silenceWindow.TotalMilliseconds} ms, {Environment.ProcessorCount} cores, load average before: {server.LoadBefore}");
            Console.WriteLine();
            Console.WriteLine("| minute | heap after GC (KiB) | turns said | turns answered |");
            Console.WriteLine("|---:|---:|---:|---:|");
            foreach (var sample in result.Samples)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {sample.Minute:F1} | {sample.HeapKiB:F0} | {sample.Said} | {sample.Answered} |"));
            }

            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"turns said {result.Said}, answered {result.Answered}; reply p50 / p99 / max {result.P50:F0} / {result.P99:F0} / {result.Max:F0} ms; late bot frames {result.LateFrames}; heap first / last sample {result.Samples[0].HeapKiB:F0} / {result.Samples[^1].HeapKiB:F0} KiB; load avg {LoadAverage()}"));
            Console.WriteLine();
            Console.WriteLine("Where late bot frames came from (see a load run's report for the columns; the heap samples force a full GC every 30 s): " + result.LateReport);
            return result.Said == result.Answered && result.LateFrames == 0 ? 0 : 1;
        }

        var callCounts = options.Get("calls", "300,1000").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        var seconds = int.Parse(options.Get("seconds", "60"), CultureInfo.InvariantCulture);
        var callRate = double.Parse(options.Get("call-rate", "0"), CultureInfo.InvariantCulture);
        if (callRate < 0 || double.IsNaN(callRate) || double.IsInfinity(callRate))
        {
            Console.Error.WriteLine("--call-rate is calls a second (0, the default: all at once, in waves of 25 as fast as they connect).");
            return 2;
        }
        var results = new List<RunResult>();
        foreach (var calls in callCounts)
        {
            Console.Error.WriteLine($"running {calls} calls for {seconds} s ...");
            results.Add(await RunLoadAsync(server, calls, TimeSpan.FromSeconds(seconds), callRate, utterances, random, cancellationToken));
        }

        Console.WriteLine();
        Console.WriteLine($"Media pipeline, real-time lines, utterances 1-8 s, pauses 2-12 s, silence window {silenceWindow.TotalMilliseconds} ms, speech detector {server.Detector}, playout clock {playoutClock}, {Environment.ProcessorCount} cores, load average before: {server.LoadBefore}");
        Console.WriteLine();
        Console.WriteLine("| calls | turns said / answered | reply p50 / p95 / p99 / max (ms, line clock) | p99 over silence window (ms) | late bot frames (of them while the load generator's line kept time) | line clock lag p99 (ms) | server frame p50 / p99 / max (µs) | CPU per call (% core) | memory per call (KiB) | load avg (1 min) |");
        Console.WriteLine("|---:|---|---|---:|---:|---:|---|---:|---:|---|");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Calls} | {r.Said} / {r.Answered} | {r.LatencyP50:F0} / {r.LatencyP95:F0} / {r.LatencyP99:F0} / {r.LatencyMax:F0} | {r.LatencyP99 - silenceWindow.TotalMilliseconds:F0} | {r.LateFrames} of {r.BotFrames} ({r.LateWhileLineKeptTime}) | {r.TickLagP99:F1} | {r.FrameP50:F0} / {r.FrameP99:F0} / {r.FrameMax:F0} | {r.CpuPerCallPercent:F2} | {r.MemoryPerCallKiB:F0} | {r.LoadAverage} |"));
        }

        Console.WriteLine();
        Console.WriteLine("Where a reply's time went (ms, p50 / p99 over the turns; the slowest turns one by one): line = the caller's last voiced frame → the first audible bot frame played, on the line clock; "
            + "worker = the worker's end of speech (stream time) → the reply scheduled, the wall time since it received the frame that ended the turn included (how late it processed that frame, the silence window and the engine); "
            + "wall = the caller's last frame due → the reply's first audible audio received by the line (the worker's share plus the frames' way in and the reply's way out); "
            + "buffered = line − wall, how long that audio waited in the line's buffer before it played (playback lead, the reply's leading silence, the line clock's lag).");
        Console.WriteLine();
        Console.WriteLine("| calls | line | worker | wall | buffered | slowest turns: line = wall + buffered |");
        Console.WriteLine("|---:|---|---|---|---|---|");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Calls} | {r.LatencyP50:F0} / {r.LatencyP99:F0} | {r.Breakdown.WorkerP50:F0} / {r.Breakdown.WorkerP99:F0} | {r.Breakdown.WallP50:F0} / {r.Breakdown.WallP99:F0} | {r.Breakdown.BufferedP50:F0} / {r.Breakdown.BufferedP99:F0} | {r.Breakdown.Slowest} |"));
        }

        Console.WriteLine();
        Console.WriteLine("Where late bot frames came from (a gap: the bot's audio ran dry inside a reply on the simulated line): calls with gaps, gaps, the largest; "
            + "then each moment with gaps (gaps within 1 s of each other), worst first: when (s into the run), calls, frames, the longest gap; the line's own lag then "
            + "(the load generator's tick was that late) and how much of its lag it caught up in the 600 ms of line before (a line that catches up plays faster than "
            + "real time, so the worker's lead shrinks in wall time: 0 = the line kept time); how late the audio that ended the gap came against the real-time "
            + "schedule; and in the second before the gap, the longest garbage-collection pause, thread-pool queueing delay and OS wake-up delay of a dedicated thread "
            + "(the machine's other work).");
        foreach (var r in results)
        {
            Console.WriteLine();
            Console.WriteLine($"{r.Calls} calls: {r.LateReport}");
        }

        Console.WriteLine();
        Console.WriteLine("The calls' start-up (what a burst of call starts costs): the load generator's and the worker's part of each start, the process's CPU, "
            + "allocations, thread-pool work items, JIT and GCs per call start against the steady state, and the start-up in 500 ms steps "
            + "(t from the first connect; pool delay: how long a probe waited in the thread pool's queue; line lag: how late the load generator's tick ran).");
        foreach (var r in results)
        {
            Console.WriteLine();
            Console.WriteLine($"{r.Calls} calls: {r.StartupReport}");
        }

        return results.All(r => r.Failed == 0 && r.Said == r.Answered) ? 0 : 1;
    }

    /// <summary>The late gaps of a run, grouped into moments and lined up with what held the process up (see the report's text).</summary>
    private static string LateReport(IReadOnlyList<(int Call, LateGap Gap)> gaps, ProcessStalls stalls, long runStart, long workerLate,
        IReadOnlyList<MediaStreamStats.LateRelease> lateReleases)
    {
        var gc = stalls.GcPauses;
        var gcSummary = string.Create(CultureInfo.InvariantCulture,
            $"GC pauses in the run: {gc.Count}, longest {(gc.Count == 0 ? 0 : gc.Max(p => p.Length.TotalMilliseconds)):F0} ms; "
            + $"thread-pool delays ≥ 5 ms: {stalls.PoolDelays.Count}, longest {(stalls.PoolDelays.Count == 0 ? 0 : stalls.PoolDelays.Max(p => p.Length.TotalMilliseconds)):F0} ms; "
            + $"OS wake-up delays ≥ 5 ms: {stalls.WakeDelays.Count}, longest {(stalls.WakeDelays.Count == 0 ? 0 : stalls.WakeDelays.Max(p => p.Length.TotalMilliseconds)):F0} ms; "
            + $"frames the worker itself released after their time: {workerLate} by its stream clock, "
            + $"{lateReleases.Count} releases by the wall clock since each stream's start, the latest {(lateReleases.Count == 0 ? 0 : lateReleases.Max(r => r.Late.TotalMilliseconds)):F0} ms.");
        if (gaps.Count == 0)
        {
            return "no late frames. " + gcSummary;
        }

        var largest = gaps.MaxBy(g => g.Gap.Frames);
        var moments = new List<List<(int Call, LateGap Gap)>>();
        foreach (var gap in gaps.OrderBy(g => g.Gap.DryAtTimestamp))
        {
            if (moments.Count > 0 && Stopwatch.GetElapsedTime(moments[^1][^1].Gap.DryAtTimestamp, gap.Gap.DryAtTimestamp) <= TimeSpan.FromSeconds(1))
            {
                moments[^1].Add(gap);
            }
            else
            {
                moments.Add([gap]);
            }
        }

        // A line that lags the wall clock (the load generator held up) or is catching up (playing faster than real time)
        // judges the worker on a schedule no real peer keeps: its gaps are counted apart.
        var lineBehind = gaps.Where(g => LineBehind(g.Gap)).Sum(g => g.Gap.Frames);
        var text = new System.Text.StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"{gaps.Select(g => g.Call).Distinct().Count()} calls, {gaps.Count} gaps, {gaps.Sum(g => g.Gap.Frames)} frames "
            + $"({gaps.Sum(g => g.Gap.Frames) - lineBehind} while the load generator's line kept time, {lineBehind} while it lagged or caught up by more than {LineKeptTime.TotalMilliseconds:F0} ms); "
            + $"the largest {largest.Gap.Frames * 20} ms (call {largest.Call}, line {largest.Gap.LineTime.TotalSeconds:F1} s); {moments.Count} moments. {gcSummary}"));
        text.AppendLine();
        text.AppendLine();
        text.AppendLine("| at (s) | calls | frames | longest gap (ms) | line lag then, max (ms) | line caught up over the lead, max (ms) | audio after due, p50 / max (ms) | GC pause, longest / total (ms) | pool delay, longest (ms) | OS wake delay, longest (ms) | pool threads / queued, max | process CPU p50 / max (% core) | worker releases late on the wall, count / latest (ms) |");
        text.AppendLine("|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|---|---|");
        foreach (var moment in moments.OrderByDescending(m => m.Sum(g => g.Gap.Frames)).Take(8))
        {
            var from = moment[0].Gap.DryAtTimestamp - Stopwatch.Frequency;
            var to = moment[^1].Gap.DryAtTimestamp;
            var (gcLongest, gcTotal) = ProcessStalls.Within(gc, from, to);
            var pool = stalls.PoolWithin(from, to);
            var released = lateReleases.Where(r => r.At >= from && r.At <= to + Stopwatch.Frequency / 2).ToList();
            var after = moment.Select(g => g.Gap.ArrivedAfterDue.TotalMilliseconds).Order().ToArray();
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Stopwatch.GetElapsedTime(runStart, moment[0].Gap.DryAtTimestamp).TotalSeconds:F1} | {moment.Select(g => g.Call).Distinct().Count()} | {moment.Sum(g => g.Gap.Frames)} | {moment.Max(g => g.Gap.Frames) * 20} "
                + $"| {moment.Max(g => g.Gap.TickLag.TotalMilliseconds):F0} | {moment.Max(g => g.Gap.LineCatchUp.TotalMilliseconds):F0} | {Quantile(after, 0.5):F0} / {after[^1]:F0} "
                + $"| {gcLongest.TotalMilliseconds:F0} / {gcTotal.TotalMilliseconds:F0} | {ProcessStalls.Within(stalls.PoolDelays, from, to).Longest.TotalMilliseconds:F0} | {ProcessStalls.Within(stalls.WakeDelays, from, to).Longest.TotalMilliseconds:F0} "
                + $"| {pool.Threads} / {pool.Queued} | {pool.CpuP50:F0} / {pool.CpuMax:F0} | {released.Count} / {(released.Count == 0 ? 0 : released.Max(r => r.Late.TotalMilliseconds)):F0} |"));
        }

        return text.ToString().TrimEnd();
    }

    private static bool LineBehind(LateGap gap) => gap.TickLag > LineKeptTime || gap.LineCatchUp > LineKeptTime;

    /// <summary>The worker's own late frames (<c>agentlocator.media.late_frames</c>, counted as each call ends).</summary>
    private static MeterListener ListenToWorkerLateFrames(StrongBox<long> into)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == MediaStreamMetrics.LateFramesName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref into.Value, value));
        listener.Start();
        return listener;
    }

    /// <summary>The reply latency split (see the benchmark's output).</summary>
    private sealed record LatencyBreakdown(double WorkerP50, double WorkerP99, double WallP50, double WallP99, double BufferedP50, double BufferedP99, string Slowest);

    private static LatencyBreakdown Breakdown(IEnumerable<TurnLatency> turns, IEnumerable<double> worker)
    {
        var all = turns.ToList();
        var workerMs = worker.Order().ToArray();
        var wall = all.Select(t => t.WallLatency.TotalMilliseconds).Order().ToArray();
        var buffered = all.Select(t => (t.Latency - t.WallLatency).TotalMilliseconds).Order().ToArray();
        var slowest = string.Join("; ", all.OrderByDescending(t => t.Latency).Take(5).Select(t => string.Create(CultureInfo.InvariantCulture,
            $"{t.Latency.TotalMilliseconds:F0} = {t.WallLatency.TotalMilliseconds:F0} + {(t.Latency - t.WallLatency).TotalMilliseconds:F0}")));
        return new LatencyBreakdown(Quantile(workerMs, 0.5), Quantile(workerMs, 0.99), Quantile(wall, 0.5), Quantile(wall, 0.99),
            Quantile(buffered, 0.5), Quantile(buffered, 0.99), slowest);
    }

    /// <summary>The worker's own reply latencies (<c>agentlocator.reply.latency</c>: end of speech → reply scheduled), as it records them.</summary>
    private static MeterListener ListenToReplyLatency(ConcurrentQueue<double> into)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "agentlocator.reply.latency")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => into.Enqueue(value));
        listener.Start();
        return listener;
    }

    private sealed record RunResult(int Calls, int Said, int Answered, double LatencyP50, double LatencyP95, double LatencyP99, double LatencyMax,
        long LateFrames, long BotFrames, double TickLagP99, double FrameP50, double FrameP99, double FrameMax,
        double CpuPerCallPercent, double MemoryPerCallKiB, string LoadAverage, int Failed, LatencyBreakdown Breakdown, string LateReport,
        long LateWhileLineKeptTime, string StartupReport);

    /// <param name="callRate">Calls a second, each started on its own schedule; 0: all at once, in waves of 25 as fast as they connect.</param>
    private static async Task<RunResult> RunLoadAsync(InProcessServer server, int count, TimeSpan duration, double callRate, byte[][] utterances, Random random,
        CancellationToken cancellationToken)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        await using var clock = new LineClock();
        var workerLatencies = new ConcurrentQueue<double>();
        using var replyLatency = ListenToReplyLatency(workerLatencies);
        var workerLate = new StrongBox<long>();
        using var workerLateFrames = ListenToWorkerLateFrames(workerLate);
        using var stalls = new ProcessStalls();
        server.Stats.ClearLateReleases();
        server.Stats.ClearStarts();
        var runStart = Stopwatch.GetTimestamp();
        var startup = new StartupReport(runStart);
        var callers = new List<Caller>(count);
        async Task<Caller> ConnectAsync(Random callerRandom)
        {
            var started = Stopwatch.GetTimestamp();
            var call = await server.NewCallAsync(clock, cancellationToken);
            var recorded = Stopwatch.GetTimestamp();
            var sim = await CallSimulator.ConnectAsync(server.MediaUri, call, cancellationToken);
            startup.Connected(Stopwatch.GetElapsedTime(started, recorded), Stopwatch.GetElapsedTime(recorded));
            return new Caller(sim, callerRandom);
        }

        if (callRate > 0)
        {
            // Calls as callers dial them: each on its own schedule, whether or not the ones before have connected.
            var connecting = new List<Task<Caller>>(count);
            for (var i = 0; i < count; i++)
            {
                var wait = TimeSpan.FromSeconds(i / callRate) - Stopwatch.GetElapsedTime(runStart);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }

                connecting.Add(ConnectAsync(new Random(random.Next())));
            }

            callers.AddRange(await Task.WhenAll(connecting));
        }
        else
        {
            foreach (var wave in Enumerable.Range(0, count).Chunk(25))
            {
                // Connect in waves so the ramp does not distort the measured window.
                callers.AddRange(await Task.WhenAll(wave.Select(_ => ConnectAsync(new Random(random.Next())))));
            }
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var scripts = callers.Select(c => Task.Run(() => c.RunAsync(utterances, stop.Token), CancellationToken.None)).ToList();
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken); // warm-up: first questions, JIT
        clock.ResetLags();
        var startFrames = (P50: server.Stats.FrameTimeQuantile(0.50).TotalMicroseconds, P99: server.Stats.FrameTimeQuantile(0.99).TotalMicroseconds,
            Max: server.Stats.MaxFrameTime.TotalMicroseconds);
        server.Stats.Reset();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var steadyFrom = Stopwatch.GetTimestamp();
        await Task.Delay(duration, cancellationToken);
        var steadyTo = Stopwatch.GetTimestamp();
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var elapsed = wall.Elapsed;
        var memoryDuring = GC.GetTotalMemory(forceFullCollection: false);
        var frameP50 = server.Stats.FrameTimeQuantile(0.50).TotalMicroseconds;
        var frameP99 = server.Stats.FrameTimeQuantile(0.99).TotalMicroseconds;
        var frameMax = server.Stats.MaxFrameTime.TotalMicroseconds;
        var load = LoadAverage();
        var lags = clock.LagsMs.Order().ToArray();

        // No new turn starts; one already spoken gets the silence window and more to be answered.
        await stop.CancelAsync();
        await Task.WhenAll(scripts);
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        var latencies = callers.SelectMany(c => c.Sim.Turns.Select(t => t.Latency.TotalMilliseconds)).Order().ToArray();
        var said = callers.Sum(c => c.Said);
        var answered = callers.Sum(c => Math.Min(c.Said, c.Sim.Turns.Count));
        var late = callers.Sum(c => c.Sim.LateFrames);
        var botFrames = callers.Sum(c => c.Sim.BotBytesPlayed) / FrameBytes;
        var failed = callers.Count(c => c.Sim.Closed.IsCompleted || c.Sim.ProtocolViolations.Count > 0);
        var lateGaps = callers.SelectMany((c, i) => c.Sim.LateGaps.Select(g => (Call: i, Gap: g))).ToList();
        var startupReport = startup.Render(count, stalls, clock.TickLags, [.. lateGaps.Select(g => g.Gap)], server.Stats.Starts, steadyFrom, steadyTo)
            + string.Create(CultureInfo.InvariantCulture,
                $"{Environment.NewLine}{Environment.NewLine}The worker's processing of a caller frame (µs, p50 / p99 / max): over the start-up (the ramp and the 3 s warm-up) {startFrames.P50:F0} / {startFrames.P99:F0} / {startFrames.Max:F0}; steady {frameP50:F0} / {frameP99:F0} / {frameMax:F0}.");
        await Task.WhenAll(callers.Select(c => c.HangUpAsync()));
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken); // the worker counts its late frames as each call ends
        return new RunResult(count, said, answered, Quantile(latencies, 0.5), Quantile(latencies, 0.95), Quantile(latencies, 0.99),
            latencies.Length == 0 ? 0 : latencies[^1], late, botFrames, Quantile(lags, 0.99),
            frameP50, frameP99, frameMax, cpu / elapsed * 100 / count, (memoryDuring - memoryBefore) / 1024.0 / count, load, failed,
            Breakdown(callers.SelectMany(c => c.Sim.Turns), workerLatencies), LateReport(lateGaps, stalls, runStart, Interlocked.Read(ref workerLate.Value), server.Stats.LateReleases),
            lateGaps.Where(g => !LineBehind(g.Gap)).Sum(g => (long)g.Gap.Frames), startupReport);
    }

    private sealed record SoakSample(double Minute, double HeapKiB, int Said, int Answered);

    private sealed record SoakResult(IReadOnlyList<SoakSample> Samples, int Said, int Answered, double P50, double P99, double Max, long LateFrames, string LateReport);

    /// <summary>One call of mixed turns for <paramref name="duration"/>; the heap (after a full GC) sampled every 30 s.</summary>
    private static async Task<SoakResult> SoakAsync(InProcessServer server, TimeSpan duration, byte[][] utterances, Random random, CancellationToken cancellationToken)
    {
        var workerLate = new StrongBox<long>();
        using var workerLateFrames = ListenToWorkerLateFrames(workerLate);
        using var stalls = new ProcessStalls();
        server.Stats.ClearLateReleases();
        var runStart = Stopwatch.GetTimestamp();
        var caller = new Caller(await CallSimulator.ConnectAsync(server.MediaUri, await server.NewCallAsync(null, cancellationToken), cancellationToken), random);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var script = Task.Run(() => caller.RunAsync(utterances, stop.Token), CancellationToken.None);
        var samples = new List<SoakSample>();
        var wall = Stopwatch.StartNew();
        while (wall.Elapsed < duration)
        {
            await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
            samples.Add(new SoakSample(wall.Elapsed.TotalMinutes, GC.GetTotalMemory(forceFullCollection: true) / 1024.0, caller.Said, caller.Sim.Turns.Count));
            Console.Error.WriteLine($"soak {wall.Elapsed.TotalMinutes:F1} min: heap {samples[^1].HeapKiB:F0} KiB, turns {caller.Said} said / {caller.Sim.Turns.Count} answered");
        }

        await stop.CancelAsync();
        await script;
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        var latencies = caller.Sim.Turns.Select(t => t.Latency.TotalMilliseconds).Order().ToArray();
        var gaps = caller.Sim.LateGaps.Select(g => (Call: 0, Gap: g)).ToList();
        var said = caller.Said;
        var turns = caller.Sim.Turns.Count;
        var late = caller.Sim.LateFrames;
        await caller.HangUpAsync();
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken); // the worker counts its late frames as the call ends
        return new SoakResult(samples, said, Math.Min(said, turns), Quantile(latencies, 0.5), Quantile(latencies, 0.99),
            latencies.Length == 0 ? 0 : latencies[^1], late,
            LateReport(gaps, stalls, runStart, Interlocked.Read(ref workerLate.Value), server.Stats.LateReleases));
    }

    private static double Quantile(double[] sorted, double q) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(sorted.Length * q) - 1, 0, sorted.Length - 1)];

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>
    /// The callers' Hebrew utterances (8 kHz mu-law, from the tests' fixtures made by espeak-ng): about 1, 2, 4
    /// and 8 s of speech. Without the fixtures (the benchmark run away from the sources), voiced tones of those lengths.
    /// </summary>
    private static byte[][] LoadUtterances()
    {
        string[] names = ["caller_name_he.wav", "caller_reason_he.wav", "caller_problem_4s_he.wav", "caller_problem_8s_he.wav"];
        return names.Select((name, i) => FindUp(Path.Combine("AgentLocator.Tests", "Fixtures", "audio", name)) is { } path
            ? WavFile.Read(path).ToMuLaw()
            : MuLaw.Encode(Enumerable.Range(0, 8000 * (1 << i)).Select(n => (short)(6000 * Math.Sin(2 * Math.PI * 220 * n / 8000))).ToArray())).ToArray();
    }

    private static string? FindUp(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>One simulated caller: waits for the bot to stop, pauses 2–12 s, says a 1–8 s utterance, again and again.</summary>
    private sealed class Caller(CallSimulator sim, Random random)
    {
        private int _said;

        public CallSimulator Sim => sim;

        public int Said => Volatile.Read(ref _said);

        public async Task RunAsync(byte[][] utterances, CancellationToken stop)
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(200), CancellationToken.None);
                    var pause = MinPause + (MaxPause - MinPause) * random.NextDouble();
                    await sim.SilenceAsync(pause, CancellationToken.None);
                    if (stop.IsCancellationRequested)
                    {
                        return;
                    }

                    await sim.SayAsync(utterances[random.Next(utterances.Length)], CancellationToken.None);
                    Interlocked.Increment(ref _said);
                }
            }
            catch (InvalidOperationException)
            {
                // The stream closed (counted as failed by the run).
            }
        }

        public async Task HangUpAsync()
        {
            try
            {
                await sim.HangUpAsync();
            }
            finally
            {
                await sim.DisposeAsync();
            }
        }
    }

    private static async Task<InProcessServer> StartServerAsync(string db, TimeSpan silenceWindow, string detector, bool playoutClock,
        CancellationToken cancellationToken)
    {
        var loadBefore = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
        const string secret = "media-pipeline-benchmark";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:agentlocator"] = db,
            ["Twilio:AccountSid"] = "AC00000000000000000000000000000000",
            ["Twilio:AuthToken"] = "benchmark-auth-token",
            ["PublicBaseUrl"] = "https://benchmark.agentlocator.test",
            ["Jobs:Enabled"] = "false",
            ["Storage:Directory"] = Path.Combine(Path.GetTempPath(), "agentlocator-bench-" + Guid.NewGuid().ToString("N")[..8]),
            ["MediaStream:TokenSecret"] = secret,
            ["MediaStream:SilenceWindow"] = silenceWindow.ToString("c", CultureInfo.InvariantCulture),
            ["MediaStream:IdleReprompt"] = "00:05:00",
            ["MediaStream:MaxCallLength"] = "01:00:00",
            ["MediaStream:PlayoutClock"] = playoutClock ? "true" : "false",
        });
        if (detector == "energy")
        {
            // No model file: the worker falls back to the energy detector, as in production without the model.
            builder.Configuration["SpeechDetection:ModelPath"] = Path.Combine(Path.GetTempPath(), "no-silero-model", SpeechDetectionOptions.ModelFileName);
        }
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults();
        builder.AddApplicationServices();
        // Replies that never end the call, so turns repeat for the whole run without touching Twilio.
        builder.Services.AddSingleton<IConversationEngineFactory, LoopEngineFactory>();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapMediaStreams();
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var mediaUri = new UriBuilder(address) { Scheme = "ws", Path = MediaStreamsApi.Path }.Uri;

        await using var scope = app.Services.CreateAsyncScope();
        var context = scope.ServiceProvider.GetRequiredService<AgentLocatorDbContext>();
        var business = new Business { Name = "benchmark", PhoneNumbers = [new BusinessPhoneNumber { Number = "+9727" + Random.Shared.Next(1_000_000, 9_999_999) }] };
        context.Businesses.Add(business);
        await context.SaveChangesAsync(cancellationToken);
        return new InProcessServer(app, mediaUri, business, new CallToken(secret), app.Services.GetRequiredService<MediaStreamStats>(), loadBefore,
            app.Services.GetRequiredService<ISpeechDetectorFactory>().Name);
    }

    private sealed class InProcessServer(WebApplication app, Uri mediaUri, Business business, CallToken tokens, MediaStreamStats stats, string loadBefore,
        string detector) : IAsyncDisposable
    {
        /// <summary>The speech detector the worker runs (silero, energy).</summary>
        public string Detector => detector;

        public Uri MediaUri => mediaUri;

        public MediaStreamStats Stats => stats;

        public string LoadBefore => loadBefore;

        public async Task<CallSimulatorOptions> NewCallAsync(LineClock? clock, CancellationToken cancellationToken)
        {
            var callSid = "CAbench" + Guid.NewGuid().ToString("N");
            await using var scope = app.Services.CreateAsyncScope();
            var recorded = await scope.ServiceProvider.GetRequiredService<CallStore>().RecordIncomingAsync(new IncomingCall(callSid, business.Id,
                Guid.CreateVersion7(), "+97250" + Random.Shared.Next(1_000_000, 9_999_999), business.PhoneNumbers[0].Number, "inbound",
                CallStatuses.InProgress, DateTimeOffset.UtcNow, IsTest: true), cancellationToken);
            return new CallSimulatorOptions
            {
                CallSid = callSid,
                Clock = clock,
                RecordMessages = false,
                CustomParameters =
                {
                    ["callSid"] = callSid,
                    ["callId"] = recorded.CallId.ToString("D"),
                    ["businessId"] = business.Id.ToString("D"),
                    ["token"] = tokens.Create(callSid, recorded.CallId, business.Id),
                },
            };
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>Asks the next question after every answer, forever.</summary>
    private sealed class LoopEngineFactory(PromptLibrary prompts) : IConversationEngineFactory
    {
        public IConversationEngine Create(ConversationContext context) => new LoopEngine(prompts);

        private sealed class LoopEngine(PromptLibrary prompts) : IConversationEngine
        {
            private int _turn;

            public Task<ConversationReply> StartAsync(CancellationToken cancellationToken) => Task.FromResult(Reply(PromptKeys.AskName));

            public Task<ConversationReply> OnCallerTurnAsync(CallerTurn turn, CancellationToken cancellationToken) =>
                Task.FromResult(Reply(++_turn % 2 == 0 ? PromptKeys.AskReason : PromptKeys.AskCallbackTime));

            public Task<ConversationReply> OnIdleAsync(int idleCount, ReplyHeard? lastReply, CancellationToken cancellationToken) =>
                Task.FromResult(Reply(PromptKeys.Reprompt));

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;

            private ConversationReply Reply(string key) => new([new ReplySegment(key, prompts[key].MuLaw)]);
        }
    }

}
