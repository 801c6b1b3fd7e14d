using System.Diagnostics;
using System.Globalization;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using AgentLocator.Media;
using AgentLocator.MediaWorker;
using AgentLocator.MediaWorker.MediaStreams;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Testing.OpenAI;
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
/// The AI receptionist under load, at real time: the MediaWorker in-process on <c>--db</c> with
/// <c>ConnectionStrings:openai</c> pointing at the tests' fake Realtime API (in this process too), and <c>--calls</c>
/// simultaneous three-turn calls played by the call simulator (Twilio's side) on one shared line clock, their first words
/// spread over <c>--stagger</c> seconds (default 5). Reports the
/// engine's own overhead, from the fake provider handing a reply's first <c>response.output_audio.delta</c> to its
/// socket to that audio's first <c>media</c> frame arriving on the simulated Twilio socket (p50/p99/max), and CPU and
/// memory per call, after <c>--warmup</c> calls (default 20) that play the same script first and count in no figure (the
/// JIT's first-tier code and empty pools of a fresh process are not what a running MediaWorker serves with);
/// <c>--engine offline</c> runs the same calls on the offline intake for the side-by-side figures.
/// <code>dotnet run -c Release --project AgentLocator.Benchmarks -- realtime-engine --db "Host=..;Database=..;Username=.." --calls 100</code>
/// CPU and memory are the whole process (the MediaWorker, the fake provider and the simulated lines): an upper bound per call.
/// </summary>
public sealed class RealtimeEngineBenchmark : IBenchmark
{
    private static readonly string[] Utterances = ["caller_reason_he.wav", "caller_name_he.wav", "caller_callback_time_he.wav"];

    public string Name => "realtime-engine";

    public string Description => "N three-turn calls with the AI receptionist against the fake Realtime API: provider delta -> Twilio frame p50/p99, CPU and memory per call (--engine offline to compare; --db)";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var options = BenchmarkArgs.Parse(args);
        var db = options.Get("db", Environment.GetEnvironmentVariable("ConnectionStrings__agentlocator") ?? "");
        if (db.Length == 0)
        {
            Console.Error.WriteLine("--db <Npgsql connection string> is required (the MediaWorker runs in-process on it).");
            return 2;
        }

        var calls = int.Parse(options.Get("calls", "100"), CultureInfo.InvariantCulture);
        // Callers start within this window, as real calls do, not all on one frame (a thundering herd no line sees).
        var stagger = TimeSpan.FromSeconds(double.Parse(options.Get("stagger", "5"), CultureInfo.InvariantCulture));
        var random = new Random(int.Parse(options.Get("seed", "42"), CultureInfo.InvariantCulture));
        var realtime = options.Get("engine", "realtime") != "offline";
        var loadBefore = LoadAverage();
        await using var provider = await FakeRealtimeServer.StartAsync();
        await using var server = await StartServerAsync(db, realtime ? provider.ConnectionString : null, cancellationToken);
        var script = Script();
        provider.Script = () => script;
        var utterances = Utterances.Select(Utterance).ToArray();

        var clock = new LineClock();
        // A MediaWorker serves calls for hours: the first calls of a fresh process run the JIT's first-tier code and fill
        // its pools. These calls play the same script first and are left out of every figure below.
        var warmup = int.Parse(options.Get("warmup", "20"), CultureInfo.InvariantCulture);
        if (warmup > 0)
        {
            var warm = new List<CallSimulator>(warmup);
            for (var i = 0; i < warmup; i++)
            {
                warm.Add(await CallSimulator.ConnectAsync(server.MediaUri, await server.NewCallAsync(clock, cancellationToken), cancellationToken));
            }

            var warmFailed = await PlayAsync(warm, utterances, warm.Select(_ => TimeSpan.FromSeconds(1) + stagger * random.NextDouble()).ToArray(), cancellationToken);
            foreach (var sim in warm)
            {
                await sim.DisposeAsync();
            }

            Console.WriteLine($"warm-up: {warmup} calls, {warmFailed} failed (not counted)");
        }

        var process = Process.GetCurrentProcess();
        GC.Collect();
        var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        var cpuBefore = process.TotalProcessorTime;
        var pausesBefore = GC.GetTotalPauseDuration();
        var collectionsBefore = Enumerable.Range(0, 3).Select(GC.CollectionCount).ToArray();
        var wall = Stopwatch.StartNew();
        var sims = new List<CallSimulator>(calls);
        for (var i = 0; i < calls; i++)
        {
            sims.Add(await CallSimulator.ConnectAsync(server.MediaUri, await server.NewCallAsync(clock, cancellationToken), cancellationToken));
        }

        long memoryPeak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                memoryPeak = Math.Max(memoryPeak, GC.GetTotalMemory(forceFullCollection: false));
                await Task.Delay(500, CancellationToken.None);
            }
        }, CancellationToken.None);
        var offsets = sims.Select(_ => TimeSpan.FromSeconds(1) + stagger * random.NextDouble()).ToArray();
        var failed = await PlayAsync(sims, utterances, offsets, cancellationToken);
        await sampling.CancelAsync();
        await sampler;
        var cpu = process.TotalProcessorTime - cpuBefore;
        var elapsed = wall.Elapsed;
        var pauses = GC.GetTotalPauseDuration() - pausesBefore;
        var collections = Enumerable.Range(0, 3).Select(g => GC.CollectionCount(g) - collectionsBefore[g]).ToArray();
        // The lines' own time (each call's frames sent): CPU per second of a live call holds when a loaded machine stretches the run.
        var lineSeconds = sims.Sum(s => s.LineTime.TotalSeconds);

        var overheads = new List<double>();
        if (realtime)
        {
            // Each reply: from the provider's first delta on its socket to the first frame of that audio on Twilio's.
            foreach (var session in provider.Sessions)
            {
                var sim = sims.FirstOrDefault(s => session.Instructions?.Contains(s.Options.CallSid, StringComparison.Ordinal) == true);
                if (sim is null)
                {
                    continue;
                }

                var frames = sim.Received.Where(m => m.Kind == BotMessageKind.Media).Select(m => m.ReceivedTimestamp).ToArray();
                foreach (var response in session.Responses.Where(r => r.FirstDeltaSentAt != 0))
                {
                    var first = frames.FirstOrDefault(t => t >= response.FirstDeltaSentAt);
                    if (first != 0)
                    {
                        overheads.Add(Stopwatch.GetElapsedTime(response.FirstDeltaSentAt, first).TotalMilliseconds);
                    }
                }
            }
        }

        var answered = sims.Sum(s => s.Turns.Count);
        var latencies = sims.SelectMany(s => s.Turns.Select(t => t.Latency.TotalMilliseconds)).Order().ToArray();
        var sorted = overheads.Order().ToArray();
        Console.WriteLine();
        Console.WriteLine($"Realtime engine benchmark: {calls} three-turn calls at once (first words within {stagger.TotalSeconds:0} s), engine {(realtime ? "realtime (fake provider, in-process)" : "offline intake")}, " +
            $"{Environment.ProcessorCount} cores, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC ({System.Runtime.GCSettings.LatencyMode}), load average before: {loadBefore}, after: {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| engine | calls | turns answered | reply latency p50 / p99 (ms, line clock) | delta -> Twilio frame p50 / p99 / max (ms) | CPU per call (% of a core) | CPU per second of call (ms) | memory per call (KiB, peak) | GC (gen0/1/2, pauses ms) | failed |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var overhead = realtime
            ? string.Create(CultureInfo.InvariantCulture, $"{Quantile(sorted, 0.5):F1} / {Quantile(sorted, 0.99):F1} / {(sorted.Length == 0 ? 0 : sorted[^1]):F1} ({sorted.Length} replies)")
            : "n/a";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {(realtime ? "realtime" : "offline")} | {calls} | {answered} of {calls * Utterances.Length} | {Quantile(latencies, 0.5):F0} / {Quantile(latencies, 0.99):F0} | {overhead} | {cpu.TotalMilliseconds / elapsed.TotalMilliseconds * 100 / calls:F2} | {cpu.TotalMilliseconds / lineSeconds:F2} | {(memoryPeak - memoryBefore) / 1024.0 / calls:F0} | {collections[0]}/{collections[1]}/{collections[2]}, {pauses.TotalMilliseconds:F0} | {failed} |"));
        foreach (var sim in sims)
        {
            await sim.DisposeAsync();
        }

        return failed == 0 && (!realtime || Quantile(sorted, 0.99) < 20) ? 0 : 1;
    }

    /// <summary>Each line says its utterances after its offset, waiting for each answer; returns how many calls failed.</summary>
    private static async Task<int> PlayAsync(IReadOnlyList<CallSimulator> sims, byte[][] utterances, TimeSpan[] offsets, CancellationToken cancellationToken)
    {
        var failed = 0;
        await Task.WhenAll(sims.Select(async (sim, i) =>
        {
            try
            {
                await sim.SilenceAsync(offsets[i], cancellationToken);
                for (var turn = 0; turn < utterances.Length; turn++)
                {
                    await sim.SayAsync(utterances[turn], cancellationToken);
                    if (!await sim.WaitForTurnAsync(turn + 1, TimeSpan.FromSeconds(30), cancellationToken))
                    {
                        Interlocked.Increment(ref failed);
                        return;
                    }

                    if (turn < utterances.Length - 1)
                    {
                        await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(500), cancellationToken); // the last answer is the goodbye: the app closes
                    }
                }

                await sim.Closed.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                Interlocked.Increment(ref failed);
            }
        }));
        return failed;
    }

    /// <summary>Three replies, the last with end_call, so a call ends as the intake's does (after its third answer).</summary>
    private static FakeRealtimeScript Script()
    {
        var tone = FakeRealtimeSession.Tone(1500);
        return new FakeRealtimeScript(
        [
            new FakeTurn("אני רוצה לקבוע תור", new FakeReply(tone, "איך קוראים לך?")),
            new FakeTurn("דנה לוי", new FakeReply(tone, "מתי נוח שנחזור אלייך?")),
            new FakeTurn("מחר בבוקר", new FakeReply(tone, "תודה, להתראות") { ToolCalls = [new FakeToolCall("end_call", """{"summary":"benchmark"}""")] }),
        ]);
    }

    private static double Quantile(double[] sorted, double q) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(sorted.Length * q) - 1, 0, sorted.Length - 1)];

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static byte[] Utterance(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "AgentLocator.Tests", "Fixtures", "audio", name);
            if (File.Exists(path))
            {
                return WavFile.Read(path).ToMuLaw();
            }
        }

        return MuLaw.Encode(Enumerable.Range(0, 12_000).Select(n => (short)(6000 * Math.Sin(2 * Math.PI * 220 * n / 8000))).ToArray());
    }

    private static async Task<Server> StartServerAsync(string db, string? openai, CancellationToken cancellationToken)
    {
        const string secret = "realtime-engine-benchmark";
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production", ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:agentlocator"] = db,
            ["ConnectionStrings:openai"] = openai,
            ["Twilio:AccountSid"] = "AC00000000000000000000000000000000",
            ["Twilio:AuthToken"] = "benchmark-auth-token",
            // Nothing listens there: the goodbye's REST hang-up fails at once, the same for both engines.
            ["Twilio:ApiBaseUrl"] = "http://127.0.0.1:9",
            ["PublicBaseUrl"] = "https://benchmark.agentlocator.test",
            ["Jobs:Enabled"] = "false",
            ["Storage:Directory"] = Path.Combine(Path.GetTempPath(), "agentlocator-bench-" + Guid.NewGuid().ToString("N")[..8]),
            ["MediaStream:TokenSecret"] = secret,
            ["MediaStream:IdleReprompt"] = "00:05:00",
            ["Realtime:ConnectTimeout"] = "00:00:10",
        });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults();
        builder.AddApplicationServices();
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapMediaStreams();
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Server(app, new UriBuilder(address) { Scheme = "ws", Path = MediaStreamsApi.Path }.Uri, new CallToken(secret));
    }

    /// <summary>The in-process MediaWorker; each call gets a business of its own, named by its CallSid (how the provider's sessions are matched to calls).</summary>
    private sealed class Server(WebApplication app, Uri mediaUri, CallToken tokens) : IAsyncDisposable
    {
        public Uri MediaUri => mediaUri;

        public async Task<CallSimulatorOptions> NewCallAsync(LineClock clock, CancellationToken cancellationToken)
        {
            var callSid = "CAbench" + Guid.NewGuid().ToString("N");
            await using var scope = app.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AgentLocatorDbContext>();
            var business = new Business { Name = callSid, PhoneNumbers = [new BusinessPhoneNumber { Number = "+9727" + Random.Shared.Next(1_000_000, 9_999_999) }] };
            db.Businesses.Add(business);
            await db.SaveChangesAsync(cancellationToken);
            var recorded = await scope.ServiceProvider.GetRequiredService<CallStore>().RecordIncomingAsync(new IncomingCall(callSid, business.Id,
                Guid.CreateVersion7(), "+97250" + Random.Shared.Next(1_000_000, 9_999_999), business.PhoneNumbers[0].Number, "inbound",
                CallStatuses.InProgress, DateTimeOffset.UtcNow, IsTest: true), cancellationToken);
            return new CallSimulatorOptions
            {
                CallSid = callSid,
                Clock = clock,
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
}
