using System.Diagnostics;
using System.Globalization;
using AgentLocator.Media;
using AgentLocator.MediaWorker.SpeechDetection;
using AgentLocator.Testing.Audio;

namespace AgentLocator.Benchmarks;

/// <summary>
/// What one call's per-frame audio work costs, in process, without sockets: the worker's barge-in listener (echo
/// canceller with its spectral echo model, barge-in detector) and speech detector, fed frame by frame as the session
/// feeds them, on a line built here: the bot's prompts (<c>assets/tts</c>) scheduled one after another with a pause,
/// their echo fed back <c>--echo-db</c> down after <c>--delay</c> ms through <c>--echo-path</c> (direct or room) with
/// −65 dBFS noise, and the caller (the tests' espeak-ng fixtures) answering in each pause. <c>--calls</c> calls run
/// interleaved frame by frame (as a worker's calls share its cores and caches). Prints µs per frame for each stage
/// (frames with the bot within reach of an echo, and the rest), allocated bytes per frame, the process's CPU per frame
/// and the state per call (made at the start, and held at the end of the line). Stages are timed in the thread's own CPU time, so the split holds on a loaded machine; compare runs made
/// back to back all the same (other work still evicts the caches).
/// <code>dotnet run -c Release --project AgentLocator.Benchmarks -- call-frame-cost [--calls 1] [--seconds 120] [--echo-path room] [--detector silero]</code>
/// </summary>
public sealed class CallFrameCostBenchmark : IBenchmark
{
    private const int SampleRate = 8000;
    private const int Frame = 160;

    public string Name => "call-frame-cost";

    public string Description => "one call's per-frame audio work in process (echo canceller, spectral model, barge-in, speech detector): µs and bytes per frame";

    public Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var options = BenchmarkArgs.Parse(args);
        var calls = int.Parse(options.Get("calls", "1"), CultureInfo.InvariantCulture);
        var seconds = int.Parse(options.Get("seconds", "120"), CultureInfo.InvariantCulture);
        var repeats = int.Parse(options.Get("repeat", "3"), CultureInfo.InvariantCulture);
        var delayMs = int.Parse(options.Get("delay", "120"), CultureInfo.InvariantCulture);
        var echoDb = double.Parse(options.Get("echo-db", "-6"), CultureInfo.InvariantCulture);
        var echoPath = options.Get("echo-path", "room") switch
        {
            "direct" => EchoPathModel.Direct(),
            "room" => EchoPathModel.Room(1, null, 2),
            var other => throw new ArgumentException($"--echo-path {other}: expected direct or room"),
        };
        var detector = options.Get("detector", "silero");
        var modelPath = new SpeechDetectionOptions().ModelPath;
        ISpeechDetectorFactory factory = detector switch
        {
            "silero" when File.Exists(modelPath) => new SileroSpeechDetectorFactory(SileroVadModel.Load(modelPath), new SpeechDetectionOptions()),
            "silero" => throw new FileNotFoundException($"The Silero model is not at '{modelPath}' (build the benchmarks first, or run --detector energy)."),
            "energy" => new EnergySpeechDetectorFactory(),
            var other => throw new ArgumentException($"--detector {other}: expected silero or energy"),
        };

        var line = BuildLine(seconds, delayMs * SampleRate / 1000, Math.Pow(10, echoDb / 20), echoPath);
        var frames = line.Inbound.Length / Frame;

        // Warm-up: JIT tiers, tables.
        Run(line, 1, factory, Math.Min(frames, 3000));
        var results = new List<StageCost>();
        for (var r = 0; r < repeats; r++)
        {
            results.Add(Run(line, calls, factory, frames));
        }

        // Each figure the least of the runs: other work on the machine only ever adds to a stage's time.
        var best = new StageCost(results.Min(c => c.ListenerBotUs), results.Min(c => c.ListenerQuietUs), results.Min(c => c.ListenerUs), results.Min(c => c.ListenerBytes),
            results.Min(c => c.SpeechBotUs), results.Min(c => c.SpeechQuietUs), results.Min(c => c.SpeechUs), results.Min(c => c.SpeechBytes),
            results.Min(c => c.ProcessCpuUs), results.Min(c => c.StateKiB), results.Min(c => c.EndStateKiB), results.Max(c => c.Gen0), results.Max(c => c.Gen1), results.Max(c => c.Gen2));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"call-frame-cost: {calls} call(s) × {seconds} s interleaved, echo {echoPath.Name} at {echoDb} dB after {delayMs} ms, speech detector {factory.Name}, a reply playing in {100.0 * line.BotFrames / frames:F0} % of frames; {Environment.ProcessorCount} cores; load average {VadEvalBenchmark.LoadAverage()}; each figure the least of {repeats} runs; stages in this thread's CPU time less {ThreadCpu.Overhead:F0} ns per clock reading"));
        Console.WriteLine();
        Console.WriteLine("| stage | µs per frame, bot audible | µs per frame, bot silent | µs per frame, all | allocated bytes per frame |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| barge-in listener (echo canceller, spectral model, barge-in detector) | {best.ListenerBotUs:F2} | {best.ListenerQuietUs:F2} | {best.ListenerUs:F2} | {best.ListenerBytes:F2} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| speech detector ({factory.Name}) | {best.SpeechBotUs:F2} | {best.SpeechQuietUs:F2} | {best.SpeechUs:F2} | {best.SpeechBytes:F2} |"));
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"process CPU {best.ProcessCpuUs:F2} µs per frame (all threads) = {best.ProcessCpuUs / 20_000 * 100:F3} % of a core per call (runs: {string.Join(" / ", results.Select(c => c.ProcessCpuUs.ToString("F2", CultureInfo.InvariantCulture)))}); state per call {best.StateKiB:F0} KiB at the start, {best.EndStateKiB:F0} KiB at the end of the line; GC collections gen0/1/2 {best.Gen0}/{best.Gen1}/{best.Gen2}"));
        (factory as IDisposable)?.Dispose();
        return Task.FromResult(0);
    }

    private sealed record StageCost(double ListenerBotUs, double ListenerQuietUs, double ListenerUs, double ListenerBytes,
        double SpeechBotUs, double SpeechQuietUs, double SpeechUs, double SpeechBytes, double ProcessCpuUs, double StateKiB, double EndStateKiB, int Gen0, int Gen1, int Gen2);

    private sealed record Line(byte[] Inbound, byte[] Scheduled, bool[] Playing, int BotFrames);

    private static StageCost Run(Line line, int calls, ISpeechDetectorFactory factory, int frames)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var listeners = new BargeInListener[calls];
        var speech = new ISpeechDetector[calls];
        for (var c = 0; c < calls; c++)
        {
            listeners[c] = new BargeInListener();
            speech[c] = factory.Create(TimeSpan.FromMilliseconds(550));
        }

        var stateKiB = (GC.GetTotalMemory(forceFullCollection: true) - before) / 1024.0 / calls;
        long listenerBot = 0, listenerQuiet = 0, speechBot = 0, speechQuiet = 0, botFrames = 0, listenerBytes = 0, speechBytes = 0;
        var gc = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var totalFrames = line.Inbound.Length / Frame;
        for (var f = 0; f < frames; f++)
        {
            for (var c = 0; c < calls; c++)
            {
                // Each call is somewhere else in its line, as real calls are.
                var at = (f + c * 997) % totalFrames;
                var inbound = line.Inbound.AsSpan(at * Frame, Frame);
                var scheduled = line.Scheduled.AsSpan(at * Frame, Frame);
                var playing = line.Playing[at];
                var timestamp = TimeSpan.FromTicks((long)f * Frame * TimeSpan.TicksPerSecond / SampleRate);
                var allocated = GC.GetAllocatedBytesForCurrentThread();
                var start = ThreadCpu.Now();
                var heard = listeners[c].Process(inbound, playing ? scheduled : [], playing, timestamp, speech[c].NoiseFloorDbfs, out _, speech[c].LastFrameVoiced);
                var mid = ThreadCpu.Now();
                var midAllocated = GC.GetAllocatedBytesForCurrentThread();
                speech[c].Process(heard, timestamp);
                var end = ThreadCpu.Now();
                listenerBytes += midAllocated - allocated;
                speechBytes += GC.GetAllocatedBytesForCurrentThread() - midAllocated;
                if (listeners[c].Echo.BotAudible)
                {
                    botFrames++;
                    listenerBot += mid - start;
                    speechBot += end - mid;
                }
                else
                {
                    listenerQuiet += mid - start;
                    speechQuiet += end - mid;
                }
            }
        }

        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        // What the calls hold once the line has played: state made when a line first needs it (the adaptive filter) included.
        var endStateKiB = (GC.GetTotalMemory(forceFullCollection: true) - before) / 1024.0 / calls;
        GC.KeepAlive(listeners);
        var all = (double)frames * calls;
        var quiet = all - botFrames;
        foreach (var s in speech)
        {
            s.Dispose();
        }

        return new StageCost(Us(listenerBot, botFrames), Us(listenerQuiet, quiet), Us(listenerBot + listenerQuiet, all), listenerBytes / all,
            Us(speechBot, botFrames), Us(speechQuiet, quiet), Us(speechBot + speechQuiet, all), speechBytes / all,
            cpu.TotalMicroseconds / all, stateKiB, endStateKiB, GC.CollectionCount(0) - gc.Item1, GC.CollectionCount(1) - gc.Item2, GC.CollectionCount(2) - gc.Item3);
    }

    /// <summary>Nanoseconds of this thread's CPU time per frame, less what reading the clock costs.</summary>
    private static double Us(long nanoseconds, double frames) => frames == 0 ? 0 : Math.Max(0, nanoseconds / frames - ThreadCpu.Overhead) / 1000;

    /// <summary>This thread's CPU time (CLOCK_THREAD_CPUTIME_ID): a stage's cost without the time other processes had the core.</summary>
    private static class ThreadCpu
    {
        private const int ThreadCpuTimeClock = 3;

        /// <summary>What one reading costs, in ns (measured at start).</summary>
        public static readonly double Overhead = MeasureOverhead();

        public static long Now()
        {
            _ = ClockGetTime(ThreadCpuTimeClock, out var time);
            return time.Seconds * 1_000_000_000 + time.Nanoseconds;
        }

        private static double MeasureOverhead()
        {
            const int Readings = 100_000;
            var first = Now();
            for (var i = 0; i < Readings; i++)
            {
                _ = Now();
            }

            return (Now() - first) / (double)Readings;
        }

        private readonly record struct TimeSpec(long Seconds, long Nanoseconds);

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
        private static extern int ClockGetTime(int clock, out TimeSpec time);
    }

    /// <summary>
    /// The line: prompt after prompt (each scheduled as the session schedules a reply), the echo of each coming back after the
    /// delay through the echo path, and in each 3 s pause the caller's answer 1 s in; −65 dBFS noise; mu-law both ways.
    /// </summary>
    private static Line BuildLine(int seconds, int delay, double echoGain, EchoPathModel echoPath)
    {
        var prompts = Directory.EnumerateFiles(FindUp(Path.Combine("assets", "tts")) ?? throw new DirectoryNotFoundException("assets/tts not found above the benchmark"), "*_he.ulaw")
            .Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray();
        var answers = Directory.EnumerateFiles(FindUp(Path.Combine("AgentLocator.Tests", "Fixtures", "audio")) ?? throw new DirectoryNotFoundException("the tests' audio fixtures not found"), "caller_*_he.wav")
            .Order(StringComparer.Ordinal).Select(p => WavFile.Read(p).ToMuLaw()).Where(a => a.Length <= 3 * SampleRate).ToArray();
        var total = seconds * SampleRate / Frame * Frame;
        var scheduled = new short[total];
        var caller = new double[total];
        var playing = new bool[total / Frame];
        var pcm = new short[SampleRate * 20];
        for (int at = 0, turn = 0; at < total; turn++)
        {
            var prompt = prompts[turn % prompts.Length];
            var length = Math.Min(prompt.Length, total - at) / Frame * Frame;
            MuLaw.Decode(prompt.AsSpan(0, length), pcm);
            pcm.AsSpan(0, length).CopyTo(scheduled.AsSpan(at));
            for (var f = at / Frame; f < (at + length) / Frame + (delay + Frame) / Frame && f < playing.Length; f++)
            {
                playing[f] = true; // until its marks come back
            }

            at += length;
            var answer = answers[turn % answers.Length];
            var answerAt = at + SampleRate;
            var answerLength = Math.Min(answer.Length, total - answerAt);
            if (answerLength > 0)
            {
                MuLaw.Decode(answer.AsSpan(0, answerLength), pcm);
                for (var n = 0; n < answerLength; n++)
                {
                    caller[answerAt + n] = pcm[n] * 0.5;
                }
            }

            at += Math.Max(3 * SampleRate, answerLength + 2 * SampleRate) / Frame * Frame;
        }

        echoPath.Calibrate(scheduled);
        var speaker = echoPath.Loudspeaker(scheduled);
        var noise = NoiseSignals.White(SampleRate * 10, -65, 1);
        var inbound = new short[total];
        var botFrames = 0;
        for (var n = 0; n < total; n++)
        {
            var echo = n >= delay ? echoPath.Echo(speaker, n - delay, total) * echoGain : 0;
            inbound[n] = (short)Math.Clamp(Math.Round(echo + caller[n] + noise[n % noise.Length]), short.MinValue, short.MaxValue);
        }

        for (var f = 0; f < playing.Length; f++)
        {
            botFrames += playing[f] ? 1 : 0;
        }

        return new Line(MuLaw.Encode(inbound), MuLaw.Encode(scheduled), playing, botFrames);
    }

    private static string? FindUp(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
