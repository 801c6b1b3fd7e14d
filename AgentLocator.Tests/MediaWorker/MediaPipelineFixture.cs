using System.Collections.Concurrent;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using AgentLocator.Media;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.MediaWorker;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Tests.Media;
using Microsoft.Extensions.DependencyInjection;

namespace AgentLocator.Tests.MediaWorker;

/// <summary>
/// A MediaWorker on real Kestrel with its own database, a fake Twilio REST API, one business, and
/// a spy around the default conversation engine (what each turn was told). Tests start calls
/// through <see cref="StartCallAsync"/> and drive them with the <see cref="CallSimulator"/>.
/// </summary>
public sealed class MediaPipelineFixture : IAsyncLifetime
{
    public const string TokenSecret = "pipeline-test-secret";

    private readonly List<IAsyncDisposable> _workers = [];
    private readonly List<DirectoryInfo> _promptDirectories = [];

    public FakeTwilioServer Twilio { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public Guid BusinessId { get; private set; }

    public string BusinessNumber { get; } = "+9723" + Random.Shared.Next(1_000_000, 9_999_999);

    /// <summary>The shared worker: idle re-prompt far away so scripted pauses never trigger it.</summary>
    public PipelineWorker Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ConnectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("pipeline");
        Twilio = await FakeTwilioServer.StartAsync();
        Worker = StartWorker(new Dictionary<string, string?> { ["MediaStream:IdleReprompt"] = "00:01:00" });
        await using var scope = Worker.Factory.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentLocatorDbContext>();
        var business = new Business { Name = "Levi Plumbing", PhoneNumbers = [new BusinessPhoneNumber { Number = BusinessNumber }] };
        db.Businesses.Add(business);
        await db.SaveChangesAsync();
        BusinessId = business.Id;
    }

    /// <summary>Another worker on the same database (for settings the shared one must not have).</summary>
    public PipelineWorker StartWorker(IDictionary<string, string?> overrides, Action<IServiceCollection>? services = null)
    {
        var spy = new SpyEngineFactory();
        var all = new Dictionary<string, string?>
        {
            ["MediaStream:TokenSecret"] = TokenSecret,
            ["MediaStream:MaxMessageBytes"] = "65536",
            ["MediaStream:CloseTimeout"] = "00:00:03",
            // Stream time: the simulated lines run at up to 4x, where the default 1.5 s would be
            // under 0.4 s of wall time for the echoes to cross a loaded machine.
            ["MediaStream:MarkEchoGrace"] = "00:00:06",
        };
        foreach (var (key, value) in overrides)
        {
            all[key] = value;
        }

        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:agentlocator"] = ConnectionString,
            ["PublicBaseUrl"] = "https://agentlocator.test",
            ["Jobs:Enabled"] = "true",
            ["Jobs:PollInterval"] = "00:00:00.200",
            ["Storage:Directory"] = Path.Combine(Path.GetTempPath(), "agentlocator-pipeline-" + Guid.NewGuid().ToString("N")[..8]),
        };
        foreach (var (key, value) in Twilio.Configuration.Concat(all))
        {
            settings[key] = value;
        }

        var factory = new ServiceFactory<MediaWorkerEntryPoint>("Production", settings, collection =>
        {
            collection.AddSingleton<IConversationEngineFactory>(sp =>
            {
                spy.Inner = ActivatorUtilities.CreateInstance<IntakeConversationEngineFactory>(sp);
                return spy;
            });
            services?.Invoke(collection);
        });
        var worker = new PipelineWorker(factory, spy);
        worker.Start();
        _workers.Add(worker);
        return worker;
    }

    /// <summary>
    /// Another worker (idle re-prompt far away) whose first question (<see cref="PromptKeys.AskName"/>) plays <paramref name="firstQuestion"/>
    /// (mu-law), its other prompts as shipped; its prompts folder is removed with the fixture.
    /// </summary>
    public PipelineWorker StartWorkerWithFirstQuestion(byte[] firstQuestion)
    {
        var prompts = Directory.CreateTempSubdirectory("agentlocator-prompts-");
        _promptDirectories.Add(prompts);
        foreach (var file in Directory.GetFiles(TestAudio.PromptsDirectory, "*_he.ulaw"))
        {
            File.Copy(file, Path.Combine(prompts.FullName, Path.GetFileName(file)));
        }

        File.WriteAllBytes(Path.Combine(prompts.FullName, PromptKeys.AskName + "_he.ulaw"), firstQuestion);
        return StartWorker(new Dictionary<string, string?> { ["MediaStream:IdleReprompt"] = "00:01:00", ["Prompts:Directory"] = prompts.FullName });
    }

    /// <summary>Records the call as incoming_call would and returns simulator options carrying its stream parameters.</summary>
    public async Task<CallSimulatorOptions> StartCallAsync(double speed, string? token = null, bool isTest = false)
    {
        var callSid = (isTest ? TestTraffic.CallSidPrefix : "CA") + Guid.NewGuid().ToString("N");
        await using var scope = Worker.Factory.Services.CreateAsyncScope();
        var recorded = await scope.ServiceProvider.GetRequiredService<CallStore>().RecordIncomingAsync(
            new IncomingCall(callSid, BusinessId, Guid.CreateVersion7(), "+97252" + Random.Shared.Next(1_000_000, 9_999_999), BusinessNumber,
                "inbound", CallStatuses.InProgress, DateTimeOffset.UtcNow, isTest), CancellationToken.None);
        return new CallSimulatorOptions
        {
            CallSid = callSid,
            Speed = speed,
            CustomParameters =
            {
                ["callSid"] = callSid,
                ["callId"] = recorded.CallId.ToString("D"),
                ["businessId"] = BusinessId.ToString("D"),
                ["token"] = token ?? new CallToken(TokenSecret).Create(callSid, recorded.CallId, BusinessId),
            },
        };
    }

    public async Task DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        await Twilio.DisposeAsync();
        foreach (var prompts in _promptDirectories)
        {
            prompts.Delete(recursive: true);
        }
    }
}

/// <summary>A started MediaWorker and its engine spy.</summary>
public sealed class PipelineWorker(ServiceFactory<MediaWorkerEntryPoint> factory, SpyEngineFactory spy) : IAsyncDisposable
{
    public ServiceFactory<MediaWorkerEntryPoint> Factory => factory;

    public SpyEngineFactory Spy => spy;

    public HttpClient Http { get; private set; } = null!;

    public CapturedLogs Logs => factory.Logs;

    public Uri MediaUri(string path = "/ws/twilio-media") =>
        new UriBuilder(Http.BaseAddress!) { Scheme = "ws", Path = path }.Uri;

    public void Start()
    {
        Http = factory.CreateClient();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await factory.DisposeAsync();
    }
}

/// <summary>Wraps the real engine and records what each call's engine was told.</summary>
public sealed class SpyEngineFactory : IConversationEngineFactory
{
    public IConversationEngineFactory Inner { get; set; } = null!;

    public ConcurrentDictionary<string, ConcurrentQueue<CallerTurn>> Turns { get; } = new();

    public IReadOnlyList<CallerTurn> TurnsOf(string callSid) => Turns.TryGetValue(callSid, out var turns) ? turns.ToArray() : [];

    public IConversationEngine Create(ConversationContext context) =>
        new SpyEngine(Inner.Create(context), Turns.GetOrAdd(context.CallSid, _ => new ConcurrentQueue<CallerTurn>()));

    private sealed class SpyEngine(IConversationEngine inner, ConcurrentQueue<CallerTurn> turns) : IConversationEngine
    {
        public Task<ConversationReply> StartAsync(CancellationToken cancellationToken) => inner.StartAsync(cancellationToken);

        public Task<ConversationReply> OnCallerTurnAsync(CallerTurn turn, CancellationToken cancellationToken)
        {
            turns.Enqueue(turn);
            return inner.OnCallerTurnAsync(turn, cancellationToken);
        }

        public Task<ConversationReply> OnIdleAsync(int idleCount, ReplyHeard? lastReply, CancellationToken cancellationToken) =>
            inner.OnIdleAsync(idleCount, lastReply, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
