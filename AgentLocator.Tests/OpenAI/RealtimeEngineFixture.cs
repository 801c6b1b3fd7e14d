using System.Collections.Concurrent;
using System.Diagnostics;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Data.Model;
using AgentLocator.Media;
using AgentLocator.MediaWorker;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.Conversation.Realtime;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Tests.Media;
using Microsoft.Extensions.DependencyInjection;

using AgentLocator.Testing.OpenAI;

namespace AgentLocator.Tests.OpenAI;

/// <summary>
/// The MediaWorker's services on their own database with <c>ConnectionStrings:openai</c> pointing at a
/// <see cref="FakeRealtimeServer"/>; tests create the AI receptionist of a recorded call through the registered
/// factory and drive it as the pipeline does (caller frames on the line's clock, turns, interruptions), watching
/// what it plays through a <see cref="RecordingOutput"/>.
/// </summary>
public sealed class RealtimeEngineFixture : IAsyncLifetime
{
    public FakeRealtimeServer Realtime { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public ServiceFactory<MediaWorkerEntryPoint> Worker { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ConnectionString = await (await PostgresServer.GetAsync()).CreateDatabaseAsync("realtime_engine");
        Realtime = await FakeRealtimeServer.StartAsync();
        Worker = MediaWorkerTestHost.Create(ConnectionString, extra: new Dictionary<string, string?>
        {
            ["ConnectionStrings:openai"] = Realtime.ConnectionString,
            // More than the product's 1.5 s: a machine loaded by the whole suite must not make the healthy fake look dead.
            ["Realtime:ConnectTimeout"] = "00:00:05",
            ["Realtime:ReplyTimeout"] = "00:00:02",
        });
        _ = Worker.Services; // builds the host: migrations run, options are validated
        var state = Worker.Services.GetRequiredService<DatabaseState>();
        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(state.Migrated), TimeSpan.FromSeconds(60)), "the database was not migrated");
    }

    public async Task<Business> CreateBusinessAsync(string fallback = AiFallbackModes.Intake, bool aiEnabled = true, string? voice = null,
        string? instructions = null)
    {
        await using var scope = Worker.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentLocatorDbContext>();
        var business = new Business
        {
            Name = "מספרת " + Random.Shared.Next(1000, 9999),
            PhoneNumbers = [new BusinessPhoneNumber { Number = "+9723" + Random.Shared.Next(1_000_000, 9_999_999) }],
            AiFallback = fallback,
            AiEnabled = aiEnabled,
            AssistantVoice = voice,
            AssistantInstructions = instructions,
        };
        db.Businesses.Add(business);
        await db.SaveChangesAsync();
        return business;
    }

    /// <summary>Records a call as incoming_call would (the caller becomes a customer) and returns its context.</summary>
    public async Task<ConversationContext> StartCallAsync(Business business, string from = "+972521234567")
    {
        var callSid = "CA" + Guid.NewGuid().ToString("N");
        await using var scope = Worker.Services.CreateAsyncScope();
        var recorded = await scope.ServiceProvider.GetRequiredService<CallStore>().RecordIncomingAsync(
            new IncomingCall(callSid, business.Id, Guid.CreateVersion7(), from, business.PhoneNumbers[0].Number, "inbound",
                CallStatuses.InProgress, DateTimeOffset.UtcNow, false), CancellationToken.None);
        return new ConversationContext(callSid, "MZ" + Guid.NewGuid().ToString("N"), recorded.CallId, business.Id, recorded.CustomerId, false);
    }

    /// <summary>
    /// The engine the MediaWorker would create for the call, attached to a recording output whose clock reads
    /// <paramref name="streamTime"/> now (how long ago the stream started: the call's records took that long).
    /// </summary>
    public (IStreamingConversationEngine Engine, RecordingOutput Output) CreateEngine(ConversationContext call, IConversationEngineFactory? factory = null,
        TimeSpan streamTime = default)
    {
        var engine = Assert.IsAssignableFrom<IStreamingConversationEngine>((factory ?? Worker.Services.GetRequiredService<IConversationEngineFactory>()).Create(call));
        var output = new RecordingOutput(streamTime);
        engine.Attach(output);
        return (engine, output);
    }

    /// <summary>
    /// A factory whose provider endpoint is <paramref name="connectionString"/> (e.g. one that refuses connections), with the
    /// product's default settings (the 1.5 s bound on opening a session).
    /// </summary>
    public IConversationEngineFactory FactoryFor(string connectionString) =>
        new RealtimeConversationEngineFactory(ActivatorUtilities.CreateInstance<RealtimeEngineServices>(Worker.Services,
            OpenAIConnection.Parse(connectionString), Microsoft.Extensions.Options.Options.Create(new RealtimeOptions())));

    public Task<T?> ScalarAsync<T>(string sql, params object?[] parameters) => Sql.ScalarAsync<T>(ConnectionString, sql, parameters);

    public async Task DisposeAsync()
    {
        await Worker.DisposeAsync();
        await Realtime.DisposeAsync();
    }

    public static PromptLibrary Prompts { get; } = PromptLibrary.Load(TestAudio.PromptsDirectory, "he");

    /// <summary>A caller's Hebrew utterance (espeak-ng) as 8 kHz mu-law.</summary>
    public static byte[] Caller(string fixture) => AgentLocator.Media.WavFile.Read(TestAudio.Fixture(fixture)).ToMuLaw();
}

/// <summary>
/// What a streaming engine drove on its call: audio per reply, ended replies, and posted actions (which the test runs,
/// as the receive loop would). Its clock is the wall clock from its creation (plus the stream time it was created at):
/// the line's clock in real time.
/// </summary>
public sealed class RecordingOutput(TimeSpan streamTime = default) : IConversationOutput
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly ConcurrentDictionary<string, List<byte>> _audio = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private readonly ConcurrentQueue<string> _ended = new();
    private readonly ConcurrentQueue<(string Stage, Func<CancellationToken, Task<ConversationReply>> Next)> _posted = new();

    public TimeSpan Now => streamTime + Stopwatch.GetElapsedTime(_started);

    /// <summary>Reply keys in the order their first audio came.</summary>
    public IReadOnlyList<string> Replies => _order.ToArray();

    public IReadOnlyList<string> Ended => _ended.ToArray();

    public IReadOnlyList<string> PostedStages => _posted.Select(p => p.Stage).ToArray();

    public byte[] AudioOf(string key) => _audio.TryGetValue(key, out var audio) ? Locked(audio, a => a.ToArray()) : [];

    public int TotalAudioBytes => _audio.Values.Sum(a => Locked(a, x => x.Count));

    /// <summary>When (on <see cref="Now"/>'s clock) the first audio of any reply came.</summary>
    public TimeSpan? FirstAudioAt { get; private set; }

    public void Play(string replyKey, ReadOnlySpan<byte> muLaw)
    {
        var audio = _audio.GetOrAdd(replyKey, key =>
        {
            _order.Enqueue(key);
            return [];
        });
        var bytes = muLaw.ToArray();
        lock (audio)
        {
            audio.AddRange(bytes);
        }

        FirstAudioAt ??= Now;
    }

    public void EndReply(string replyKey) => _ended.Enqueue(replyKey);

    public void Post(string stage, Func<CancellationToken, Task<ConversationReply>> next) => _posted.Enqueue((stage, next));

    /// <summary>The turns the engine reported taking: when (on <see cref="Now"/>'s clock) it said the caller's speech ended, and when it said so.</summary>
    public IReadOnlyList<(TimeSpan SpeechEndedAt, TimeSpan SpeechDuration, string Engine, TimeSpan ReportedAt)> TurnsTaken => [.. _turnsTaken];

    /// <summary>The hand-overs the engine reported: reason and where the call went.</summary>
    public IReadOnlyList<(string Reason, string Fallback)> HandOvers => [.. _handOvers];

    private readonly ConcurrentQueue<(TimeSpan, TimeSpan, string, TimeSpan)> _turnsTaken = new();
    private readonly ConcurrentQueue<(string, string)> _handOvers = new();

    public void TurnTaken(TimeSpan speechEndedAt, TimeSpan speechDuration, string engine) => _turnsTaken.Enqueue((speechEndedAt, speechDuration, engine, Now));

    public void HandedOver(string reason, string fallback) => _handOvers.Enqueue((reason, fallback));

    /// <summary>
    /// The fallback's first reply after a hand-over: the caller's turn got it when the hand-over came first, else the
    /// posted action does (the other one is then silent), as on the call's receive loop.
    /// </summary>
    public async Task<ConversationReply> TakeOverReplyAsync(ConversationReply? turnAnswer, TimeSpan timeout)
    {
        var (stage, posted) = await RunPostedAsync(timeout);
        Assert.Equal("fallback", stage);
        if (turnAnswer is { Segments.Count: > 0 })
        {
            Assert.Empty(posted.Segments);
            return turnAnswer;
        }

        return posted;
    }

    /// <summary>Waits for a posted action and runs it, as the call's receive loop would.</summary>
    public async Task<(string Stage, ConversationReply Reply)> RunPostedAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        (string Stage, Func<CancellationToken, Task<ConversationReply>> Next) posted;
        while (!_posted.TryDequeue(out posted))
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"nothing was posted within {timeout}");
            }

            await Task.Delay(10);
        }

        return (posted.Stage, await posted.Next(CancellationToken.None));
    }

    public async Task WaitAsync(Func<RecordingOutput, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!condition(this))
        {
            Assert.True(Stopwatch.GetTimestamp() < deadline, $"timed out waiting for {what}");
            await Task.Delay(10);
        }
    }

    private static T Locked<T>(List<byte> audio, Func<List<byte>, T> read)
    {
        lock (audio)
        {
            return read(audio);
        }
    }
}

/// <summary>Plays caller audio into a streaming engine on the line's clock (one 20 ms frame every 20 ms), as the pipeline does.</summary>
public static class CallerLine
{
    public const int FrameBytes = 160;

    /// <summary>
    /// Speech then <paramref name="silence"/>; tells the engine the turn ended after the local silence window, as the
    /// pipeline would, and returns the engine's answer to that turn (a reply only once it has handed over).
    /// </summary>
    public static async Task<ConversationReply?> SayAsync(IStreamingConversationEngine engine, RecordingOutput output, byte[] speech, TimeSpan silence, int turn,
        TimeSpan? silenceWindow = null)
    {
        var window = silenceWindow ?? TimeSpan.FromMilliseconds(550);
        await PlayAsync(engine, output, speech, speaking: true);
        var speechEnd = output.Now;
        var silent = new byte[FrameBytes];
        Array.Fill(silent, (byte)0xFF);
        var frames = (int)(silence.TotalMilliseconds / 20);
        ConversationReply? answer = null;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < frames; i++)
        {
            await WaitUntilAsync(start, i);
            engine.OnCallerAudio(silent, output.Now, callerSpeaking: false);
            if (answer is null && output.Now - speechEnd >= window)
            {
                answer = await engine.OnCallerTurnAsync(new CallerTurn(turn, speech, TimeSpan.FromMilliseconds(speech.Length / 8.0), null, speechEnd),
                    CancellationToken.None);
            }
        }

        return answer;
    }

    /// <summary>Silence on the line for <paramref name="duration"/>.</summary>
    public static Task SilenceAsync(IStreamingConversationEngine engine, RecordingOutput output, TimeSpan duration)
    {
        var silent = new byte[(int)(duration.TotalMilliseconds * 8)];
        Array.Fill(silent, (byte)0xFF);
        return PlayAsync(engine, output, silent, speaking: false);
    }

    private static async Task PlayAsync(IStreamingConversationEngine engine, RecordingOutput output, byte[] audio, bool speaking)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i * FrameBytes < audio.Length; i++)
        {
            await WaitUntilAsync(start, i);
            var frame = audio.AsSpan(i * FrameBytes, Math.Min(FrameBytes, audio.Length - i * FrameBytes));
            engine.OnCallerAudio(frame, output.Now, speaking);
        }
    }

    private static async Task WaitUntilAsync(long start, int frame)
    {
        var due = TimeSpan.FromMilliseconds(20 * frame) - Stopwatch.GetElapsedTime(start);
        if (due > TimeSpan.FromMilliseconds(1))
        {
            await Task.Delay(due);
        }
    }
}
