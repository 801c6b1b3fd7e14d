using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using AgentLocator.Media;
using AgentLocator.MediaWorker;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.MediaStreams;
using AgentLocator.MediaStreams;
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
/// The live call pipeline under load: starts the MediaWorker in-process on the database given by
/// <c>--db</c> and drives <c>--calls</c> simultaneous Media Streams in real time (one shared 20 ms
/// ticker sends every caller's frame, plays the bot's audio like Twilio and echoes its marks). Each
/// simulated caller answers every question, so turns repeat for <c>--seconds</c>. Reports the reply
/// latency (caller's last voiced frame → first bot audio), late bot frames (playback gaps inside a
/// reply), the server's per-frame processing time, and CPU and memory per call.
/// <code>dotnet run -c Release --project AgentLocator.Benchmarks -- media-pipeline --db "Host=..;Database=..;Username=.." --calls 300 --seconds 30</code>
/// CPU and memory are the whole process (MediaWorker and load generator): an upper bound per call.
/// </summary>
public sealed class MediaPipelineBenchmark : IBenchmark
{
    private const int FrameBytes = 160;
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(20);

    public string Name => "media-pipeline";

    public string Description => "N real-time calls through /ws/twilio-media: reply latency, late frames, per-frame p99, CPU/memory per call (--db)";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var options = BenchmarkArgs.Parse(args);
        var db = options.Get("db", Environment.GetEnvironmentVariable("ConnectionStrings__agentlocator") ?? "");
        if (db.Length == 0)
        {
            Console.Error.WriteLine("--db <Npgsql connection string> is required (the MediaWorker runs in-process on it).");
            return 2;
        }

        var callCounts = options.Get("calls", "20,300").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        var seconds = int.Parse(options.Get("seconds", "30"), CultureInfo.InvariantCulture);
        var silenceWindow = TimeSpan.Parse(options.Get("silence-window", "00:00:00.550"), CultureInfo.InvariantCulture);

        await using var server = await StartServerAsync(db, silenceWindow, cancellationToken);
        var utterance = LoadUtterance();
        var results = new List<RunResult>();
        foreach (var calls in callCounts)
        {
            Console.Error.WriteLine($"running {calls} calls for {seconds} s ...");
            results.Add(await RunLoadAsync(server, calls, TimeSpan.FromSeconds(seconds), utterance, cancellationToken));
        }

        Console.WriteLine();
        Console.WriteLine($"Media pipeline, real-time pacing, silence window {silenceWindow.TotalMilliseconds} ms, {Environment.ProcessorCount} cores, load average before: {server.LoadBefore}");
        Console.WriteLine();
        Console.WriteLine("| calls | turns | reply latency p50 / p95 / p99 / max (ms) | over silence window p99 (ms) | late bot frames | client tick lag p99 (ms) | server frame p50 / p99 / max (µs) | CPU per call (% core) | memory per call (KiB) | load avg (1 min) |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|---|---:|---:|---|");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Calls} | {r.Turns} | {r.LatencyP50:F0} / {r.LatencyP95:F0} / {r.LatencyP99:F0} / {r.LatencyMax:F0} | {r.LatencyP99 - silenceWindow.TotalMilliseconds:F0} | {r.LateFrames} of {r.BotFrames} | {r.TickLagP99:F1} | {r.FrameP50:F0} / {r.FrameP99:F0} / {r.FrameMax:F0} | {r.CpuPerCallPercent:F2} | {r.MemoryPerCallKiB:F0} | {r.LoadAverage} |"));
        }

        return results.All(r => r.Failed == 0) ? 0 : 1;
    }

    private sealed record RunResult(int Calls, int Turns, double LatencyP50, double LatencyP95, double LatencyP99, double LatencyMax,
        long LateFrames, long BotFrames, double TickLagP99, double FrameP50, double FrameP99, double FrameMax,
        double CpuPerCallPercent, double MemoryPerCallKiB, string LoadAverage, int Failed);

    private static async Task<RunResult> RunLoadAsync(InProcessServer server, int count, TimeSpan duration, Utterance utterance, CancellationToken cancellationToken)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        var calls = new List<BenchCall>(count);
        for (var i = 0; i < count; i++)
        {
            calls.Add(await server.NewCallAsync(cancellationToken));
        }

        // Connect in waves so the ramp does not distort the measured window.
        foreach (var wave in calls.Chunk(25))
        {
            await Task.WhenAll(wave.Select(c => c.ConnectAsync(server.MediaUri, cancellationToken)));
        }

        var ticker = new Ticker(calls, utterance);
        var tickerTask = Task.Run(() => ticker.RunAsync(cancellationToken), CancellationToken.None);

        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken); // warm-up: first prompts, JIT
        ticker.ResetMeasurements();
        server.Stats.Reset();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        await Task.Delay(duration, cancellationToken);
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var elapsed = wall.Elapsed;
        var memoryDuring = GC.GetTotalMemory(forceFullCollection: false);
        var frameP50 = server.Stats.FrameTimeQuantile(0.50).TotalMicroseconds;
        var frameP99 = server.Stats.FrameTimeQuantile(0.99).TotalMicroseconds;
        var frameMax = server.Stats.MaxFrameTime.TotalMicroseconds;
        var load = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

        ticker.Stop();
        await tickerTask;
        await Task.WhenAll(calls.Select(c => c.HangUpAsync()));
        var latencies = calls.SelectMany(c => c.Latencies).Order().ToArray();
        var lags = ticker.Lags.Order().ToArray();
        return new RunResult(count, latencies.Length, Quantile(latencies, 0.5), Quantile(latencies, 0.95), Quantile(latencies, 0.99),
            latencies.Length == 0 ? 0 : latencies[^1], calls.Sum(c => c.LateFrames), calls.Sum(c => c.BotFrames), Quantile(lags, 0.99),
            frameP50, frameP99, frameMax, cpu / elapsed * 100 / count, (memoryDuring - memoryBefore) / 1024.0 / count, load,
            calls.Count(c => c.Failed));
    }

    private static double Quantile(double[] sorted, double q) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(sorted.Length * q) - 1, 0, sorted.Length - 1)];

    /// <summary>A caller's answer: mu-law audio and the index of its last voiced frame.</summary>
    private sealed record Utterance(byte[] MuLaw, int LastVoicedFrame);

    private static Utterance LoadUtterance()
    {
        byte[] muLaw;
        var fixture = FindUp(Path.Combine("AgentLocator.Tests", "Fixtures", "audio", "caller_name_he.wav"));
        if (fixture is not null)
        {
            muLaw = WavFile.Read(fixture).ToMuLaw();
        }
        else
        {
            // No fixture next to the sources: 1.2 s of a voiced tone is speech enough for the VAD.
            var pcm = new short[9600];
            for (var i = 0; i < pcm.Length; i++)
            {
                pcm[i] = (short)(6000 * Math.Sin(2 * Math.PI * 220 * i / 8000));
            }

            muLaw = MuLaw.Encode(pcm);
        }

        var frames = (muLaw.Length + FrameBytes - 1) / FrameBytes;
        var last = 0;
        for (var f = 0; f < frames; f++)
        {
            if (AudioLevel.MuLawDbfs(muLaw.AsSpan(f * FrameBytes, Math.Min(FrameBytes, muLaw.Length - f * FrameBytes))) > -45)
            {
                last = f;
            }
        }

        return new Utterance(muLaw, last);
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

    private static async Task<InProcessServer> StartServerAsync(string db, TimeSpan silenceWindow, CancellationToken cancellationToken)
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
        });
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
        return new InProcessServer(app, mediaUri, business, new CallToken(secret), app.Services.GetRequiredService<MediaStreamStats>(), loadBefore);
    }

    private sealed class InProcessServer(WebApplication app, Uri mediaUri, Business business, CallToken tokens, MediaStreamStats stats, string loadBefore) : IAsyncDisposable
    {
        public Uri MediaUri => mediaUri;

        public MediaStreamStats Stats => stats;

        public string LoadBefore => loadBefore;

        public async Task<BenchCall> NewCallAsync(CancellationToken cancellationToken)
        {
            var callSid = "CAbench" + Guid.NewGuid().ToString("N");
            await using var scope = app.Services.CreateAsyncScope();
            var recorded = await scope.ServiceProvider.GetRequiredService<CallStore>().RecordIncomingAsync(new IncomingCall(callSid, business.Id,
                Guid.CreateVersion7(), "+97250" + Random.Shared.Next(1_000_000, 9_999_999), business.PhoneNumbers[0].Number, "inbound",
                CallStatuses.InProgress, DateTimeOffset.UtcNow, IsTest: true), cancellationToken);
            return new BenchCall(new StreamStart
            {
                StreamSid = "MZ" + Guid.NewGuid().ToString("N"),
                AccountSid = "AC00000000000000000000000000000000",
                CallSid = callSid,
                CustomParameters = new Dictionary<string, string>
                {
                    ["callSid"] = callSid,
                    ["callId"] = recorded.CallId.ToString("D"),
                    ["businessId"] = business.Id.ToString("D"),
                    ["token"] = tokens.Create(callSid, recorded.CallId, business.Id),
                },
            });
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

    /// <summary>Twilio's side of one call, stepped by the shared <see cref="Ticker"/>; its receive loop runs on its own.</summary>
    private sealed class BenchCall(StreamStart start)
    {
        private readonly ClientWebSocket _socket = new();
        private readonly MediaStreamWriter _writer = new();
        private readonly Lock _gate = new();
        private readonly Queue<(int Bytes, string? Mark)> _playback = new();
        private readonly List<double> _latencies = [];
        private readonly List<string> _toEcho = [];
        private readonly byte[] _frame = new byte[FrameBytes];
        private Task _receive = Task.CompletedTask;
        private long _sequence = 1;
        private long _chunk;
        private int _speakingFrame = -1;
        private int _quietTicks;
        private bool _replyReceived;
        private long _awaitingSince;
        private int _dryTicks;
        private int _headConsumed;
        private long _lateFrames;
        private long _botFrames;

        public bool Failed { get; private set; }

        public long LateFrames => Interlocked.Read(ref _lateFrames);

        public long BotFrames => Interlocked.Read(ref _botFrames);

        public IReadOnlyList<double> Latencies
        {
            get { lock (_gate) { return [.. _latencies]; } }
        }

        public void ResetMeasurements()
        {
            lock (_gate)
            {
                _latencies.Clear();
                Interlocked.Exchange(ref _lateFrames, 0);
                Interlocked.Exchange(ref _botFrames, 0);
            }
        }

        public async Task ConnectAsync(Uri uri, CancellationToken cancellationToken)
        {
            await _socket.ConnectAsync(uri, cancellationToken);
            await _socket.SendAsync(_writer.WriteConnected(), WebSocketMessageType.Text, true, cancellationToken);
            await _socket.SendAsync(_writer.WriteStart(start, _sequence), WebSocketMessageType.Text, true, cancellationToken);
            _receive = Task.Run(() => ReceiveAsync(cancellationToken), CancellationToken.None);
        }

        /// <summary>One 20 ms tick: play a frame of bot audio, send the caller's frame and the marks reached.</summary>
        public ValueTask StepAsync(long tick, Utterance utterance)
        {
            if (_socket.State != WebSocketState.Open)
            {
                Failed = true;
                return ValueTask.CompletedTask;
            }

            lock (_gate)
            {
                var budget = FrameBytes;
                var played = false;
                while (_playback.Count > 0)
                {
                    var (bytes, mark) = _playback.Peek();
                    if (mark is not null)
                    {
                        _toEcho.Add(mark);
                        _playback.Dequeue();
                        continue;
                    }

                    if (budget == 0)
                    {
                        break;
                    }

                    var take = Math.Min(bytes - _headConsumed, budget);
                    budget -= take;
                    played = true;
                    _headConsumed += take;
                    if (_headConsumed == bytes)
                    {
                        _playback.Dequeue();
                        _headConsumed = 0;
                    }
                }

                if (played || _speakingFrame >= 0)
                {
                    _quietTicks = 0;
                }
                else if (_replyReceived)
                {
                    _quietTicks++;
                    _dryTicks++;
                }

                // Answer 300 ms after the question has finished playing.
                if (_speakingFrame < 0 && _replyReceived && _quietTicks >= 15)
                {
                    _speakingFrame = 0;
                    _replyReceived = false;
                    _dryTicks = 0;
                }

                if (_speakingFrame >= 0)
                {
                    var offset = _speakingFrame * FrameBytes;
                    var count = Math.Clamp(utterance.MuLaw.Length - offset, 0, FrameBytes);
                    utterance.MuLaw.AsSpan(offset, count).CopyTo(_frame);
                    _frame.AsSpan(count).Fill(MuLaw.Silence);
                    if (_speakingFrame == utterance.LastVoicedFrame)
                    {
                        _awaitingSince = Stopwatch.GetTimestamp(); // Twilio sends a frame once it has been spoken: now is its end
                    }

                    _speakingFrame = offset + FrameBytes >= utterance.MuLaw.Length ? -1 : _speakingFrame + 1;
                }
                else
                {
                    _frame.AsSpan().Fill(MuLaw.Silence);
                }
            }

            return SendTickAsync(tick);
        }

        private async ValueTask SendTickAsync(long tick)
        {
            try
            {
                await _socket.SendAsync(_writer.WriteInboundMedia(start.StreamSid, ++_sequence, ++_chunk, tick * 20, _frame), WebSocketMessageType.Text, true, CancellationToken.None);
                string[] marks;
                lock (_gate)
                {
                    marks = [.. _toEcho];
                    _toEcho.Clear();
                }

                foreach (var mark in marks)
                {
                    await _socket.SendAsync(_writer.WriteMarkEcho(start.StreamSid, ++_sequence, mark), WebSocketMessageType.Text, true, CancellationToken.None);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException)
            {
                Failed = true;
            }
        }

        private async Task ReceiveAsync(CancellationToken cancellationToken)
        {
            using var reader = new WebSocketMessageReader(1024 * 1024);
            try
            {
                while (true)
                {
                    var kind = await reader.ReceiveAsync(_socket, cancellationToken);
                    if (kind == WebSocketMessageKind.Close)
                    {
                        return;
                    }

                    Handle(reader.Message.Span);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The run is over or the server went away.
            }
        }

        private void Handle(ReadOnlySpan<byte> json)
        {
            if (MediaStreamParser.TryParse(json, out var message) != MediaStreamParseStatus.Ok)
            {
                Failed = true;
                return;
            }

            lock (_gate)
            {
                switch (message.EventType)
                {
                    case MediaStreamEventType.Media:
                        var now = Stopwatch.GetTimestamp();
                        if (_awaitingSince != 0)
                        {
                            _latencies.Add(Stopwatch.GetElapsedTime(_awaitingSince, now).TotalMilliseconds);
                            _awaitingSince = 0;
                        }

                        if (_playback.Count == 0 && _replyReceived && _dryTicks > 0)
                        {
                            // The reply's audio ran dry before more of it arrived: the caller heard a gap.
                            Interlocked.Add(ref _lateFrames, _dryTicks);
                        }

                        _dryTicks = 0;
                        _replyReceived = true;
                        Interlocked.Add(ref _botFrames, (message.PayloadLength + FrameBytes - 1) / FrameBytes);
                        _playback.Enqueue((message.PayloadLength, null));
                        break;
                    case MediaStreamEventType.Mark:
                        if (_playback.Count == 0)
                        {
                            _toEcho.Add(message.MarkName!);
                        }
                        else
                        {
                            _playback.Enqueue((0, message.MarkName));
                        }

                        break;
                    case MediaStreamEventType.Clear:
                        _playback.Clear();
                        _headConsumed = 0;
                        break;
                }
            }
        }

        public async Task HangUpAsync()
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                if (_socket.State == WebSocketState.Open)
                {
                    await _socket.SendAsync(_writer.WriteStop(start.StreamSid, ++_sequence, start.AccountSid, start.CallSid), WebSocketMessageType.Text, true, timeout.Token);
                }

                await _receive.WaitAsync(timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or TimeoutException or ObjectDisposedException)
            {
                // Closing is best effort at the end of a run.
            }
            finally
            {
                _socket.Abort();
                _socket.Dispose();
                _writer.Dispose();
            }
        }
    }

    /// <summary>One drift-free 20 ms clock for every call (as Twilio's media servers pace each stream).</summary>
    private sealed class Ticker(List<BenchCall> calls, Utterance utterance)
    {
        private readonly List<double> _lags = [];
        private volatile bool _stopped;

        public IReadOnlyList<double> Lags
        {
            get { lock (_lags) { return [.. _lags]; } }
        }

        public void Stop() => _stopped = true;

        public void ResetMeasurements()
        {
            lock (_lags)
            {
                _lags.Clear();
            }

            foreach (var call in calls)
            {
                call.ResetMeasurements();
            }
        }

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            var pending = new List<Task>(calls.Count);
            for (long tick = 0; !_stopped && !cancellationToken.IsCancellationRequested; tick++)
            {
                var due = Tick * tick;
                var wait = due - clock.Elapsed;
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }

                lock (_lags)
                {
                    _lags.Add(Math.Max(0, (clock.Elapsed - due).TotalMilliseconds));
                }

                pending.Clear();
                foreach (var call in calls)
                {
                    var step = call.StepAsync(tick, utterance);
                    if (!step.IsCompletedSuccessfully)
                    {
                        pending.Add(step.AsTask());
                    }
                }

                await Task.WhenAll(pending);
            }
        }
    }
}
