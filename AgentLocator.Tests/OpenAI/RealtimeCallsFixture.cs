using System.Collections.Concurrent;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using AgentLocator.Media;
using AgentLocator.MediaWorker;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Testing.OpenAI;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Tests.Media;
using Microsoft.Extensions.DependencyInjection;

namespace AgentLocator.Tests.OpenAI;

/// <summary>
/// Whole calls with the AI receptionist at real speed (1x): the call simulator plays Twilio's side of the real
/// <c>/ws/twilio-media</c> endpoint of a MediaWorker on Kestrel (real Postgres, a fake Twilio REST API), whose
/// <c>ConnectionStrings:openai</c> points at a <see cref="FakeRealtimeServer"/>. Each call belongs to a business of
/// its own, and the fake picks that call's script by the business's name in the session's instructions, so
/// scenarios run side by side.
/// </summary>
public class RealtimeCallsFixture : IAsyncLifetime
{
    public const string TokenSecret = "realtime-calls-secret";
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly ConcurrentDictionary<string, FakeRealtimeScript> _scripts = new(StringComparer.Ordinal);

    public FakeTwilioServer Twilio { get; private set; } = null!;

    public FakeRealtimeServer Realtime { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public ServiceFactory<MediaWorkerEntryPoint> Worker { get; private set; } = null!;

    private HttpClient _http = null!;

    public static PromptLibrary Prompts { get; } = PromptLibrary.Load(TestAudio.PromptsDirectory, "he");

    public static byte[] Prompt(params string[] keys) => keys.SelectMany(k => Prompts[k].MuLaw.ToArray()).ToArray();

    public static byte[] Caller(string fixture) => WavFile.Read(TestAudio.Fixture(fixture)).ToMuLaw();

    /// <summary>The provider's endpoint the worker uses (the fake's, unless a test fixture says otherwise).</summary>
    protected virtual string OpenAIConnectionString => Realtime.ConnectionString;

    /// <summary>
    /// The bound on opening a provider session. The product's 1.5 s where a test times the start; elsewhere more, so that
    /// a machine loaded by the whole suite (or fifty calls connecting at once) does not make a healthy provider look dead.
    /// </summary>
    protected virtual string ConnectTimeout => "00:00:05";

    /// <summary>
    /// The bound on reading the business's settings: the product's 1 s where a test times the start; elsewhere more, as
    /// on a loaded machine fifty calls' reads at once took up to 1.3 s from a healthy database.
    /// </summary>
    protected virtual string ProfileTimeout => "00:00:05";

    public virtual async Task InitializeAsync()
    {
        ConnectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync(GetType().Name.ToLowerInvariant());
        Twilio = await FakeTwilioServer.StartAsync();
        Realtime = await FakeRealtimeServer.StartAsync();
        Realtime.ScriptByInstructions = instructions => _scripts.FirstOrDefault(s => instructions.Contains(s.Key, StringComparison.Ordinal)).Value;
        Worker = MediaWorkerTestHost.Create(ConnectionString, Twilio.Configuration, extra: new Dictionary<string, string?>
        {
            ["ConnectionStrings:openai"] = OpenAIConnectionString,
            ["MediaStream:TokenSecret"] = TokenSecret,
            ["MediaStream:IdleReprompt"] = "00:00:30",
            ["Realtime:ConnectTimeout"] = ConnectTimeout,
            ["Realtime:ProfileTimeout"] = ProfileTimeout,
        });
        _http = Worker.CreateClient();
        var state = Worker.Services.GetRequiredService<DatabaseState>();
        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(state.Migrated), TimeSpan.FromSeconds(60)), "the database was not migrated");
    }

    public Uri MediaUri => new UriBuilder(_http.BaseAddress!) { Scheme = "ws", Path = "/ws/twilio-media" }.Uri;

    /// <summary>
    /// A business of its own whose calls the fake answers with <paramref name="script"/>; a call recorded as incoming_call would.
    /// <paramref name="beforeStream"/> runs once the call is recorded, before Twilio's stream connects; the stream carries
    /// <paramref name="streamCallId"/> (and a token for it) when given, else the recorded row's id.
    /// </summary>
    public async Task<RealtimeCall> StartCallAsync(FakeRealtimeScript script, string fallback = AiFallbackModes.Intake, Func<Task>? beforeStream = null,
        Guid? streamCallId = null)
    {
        var name = "עסק " + Guid.NewGuid().ToString("N")[..10];
        _scripts[name] = script;
        var number = "+9723" + Random.Shared.Next(1_000_000, 9_999_999);
        var from = "+97252" + Random.Shared.Next(1_000_000, 9_999_999);
        Guid businessId;
        await using (var scope = Worker.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<AgentLocatorDbContext>();
            var business = new Business
            {
                Name = name,
                PhoneNumbers = [new BusinessPhoneNumber { Number = number }],
                AiFallback = fallback,
                NotificationPhone = "+972541112233",
                WhatsAppNumber = "+9723" + Random.Shared.Next(1_000_000, 9_999_999),
            };
            db.Businesses.Add(business);
            await db.SaveChangesAsync();
            businessId = business.Id;
        }

        var callSid = "CA" + Guid.NewGuid().ToString("N");
        RecordedCall recorded;
        await using (var scope = Worker.Services.CreateAsyncScope())
        {
            recorded = await scope.ServiceProvider.GetRequiredService<CallStore>().RecordIncomingAsync(
                new IncomingCall(callSid, businessId, Guid.CreateVersion7(), from, number, "inbound", CallStatuses.InProgress, DateTimeOffset.UtcNow, false),
                CancellationToken.None);
        }

        var options = new CallSimulatorOptions
        {
            CallSid = callSid,
            Speed = 1,
            CustomParameters =
            {
                ["callSid"] = callSid,
                ["callId"] = (streamCallId ?? recorded.CallId).ToString("D"),
                ["businessId"] = businessId.ToString("D"),
                ["token"] = new CallToken(TokenSecret).Create(callSid, streamCallId ?? recorded.CallId, businessId),
            },
        };
        if (beforeStream is not null)
        {
            await beforeStream();
        }

        var sim = await CallSimulator.ConnectAsync(MediaUri, options);
        return new RealtimeCall(callSid, recorded.CallId, recorded.CustomerId, name, from, sim);
    }

    /// <summary>The fake's session of the business <paramref name="name"/>.</summary>
    public FakeRealtimeSession SessionOf(string name) =>
        Assert.Single(Realtime.Sessions, s => s.Instructions?.Contains(name, StringComparison.Ordinal) == true);

    public Task<T?> ScalarAsync<T>(string sql, params object?[] parameters) => Sql.ScalarAsync<T>(ConnectionString, sql, parameters);

    public virtual async Task DisposeAsync()
    {
        _http.Dispose();
        await Worker.DisposeAsync();
        await Realtime.DisposeAsync();
        await Twilio.DisposeAsync();
    }
}

/// <summary>One whole call: its identity, its business's name, and the simulator playing Twilio's side.</summary>
public sealed record RealtimeCall(string CallSid, Guid CallId, Guid? CustomerId, string Business, string From, CallSimulator Sim) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => Sim.DisposeAsync();
}
