using AgentLocator.Media;
using AgentLocator.Testing.Audio;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Tests.Media;
using AgentLocator.Tests.MediaWorker;

namespace AgentLocator.Tests.RealTime;

/// <summary>
/// Whole calls at real speed (1x) through the real <c>/ws/twilio-media</c> endpoint of a MediaWorker on
/// Kestrel, with real Postgres and Redis and a fake Twilio REST API, each driven by the
/// <see cref="CallSimulator"/> (Twilio's side as documented). Every scenario is started at once when
/// the fixture starts, so they all run side by side (about 40 s of wall time for all of them); each
/// test then awaits its own call and asserts on it.
/// </summary>
public sealed class RealTimeCallsFixture : IAsyncLifetime
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly Dictionary<string, Task<RealTimeCall>> _scenarios = [];
    private RedisServer _redis = null!;

    public MediaPipelineFixture Pipeline { get; } = new();

    public PipelineWorker Worker { get; private set; } = null!;

    /// <summary>The product's settings: the worker runs with its defaults (silence window, idle re-prompt, mark-echo grace).</summary>
    public TimeSpan SilenceWindow => TimeSpan.FromMilliseconds(550);

    public TimeSpan IdleReprompt => TimeSpan.FromSeconds(8);

    public async Task InitializeAsync()
    {
        await Pipeline.InitializeAsync();
        _redis = await RedisServer.StartAsync();
        Worker = Pipeline.StartWorker(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = _redis.ConnectionString,
            ["MediaStream:MarkEchoGrace"] = "00:00:01.500",
        });

        foreach (var (name, script) in RealTimeScenarios.All)
        {
            _scenarios[name] = RunAsync(name, script, line: null);
        }

        foreach (var (name, line, script) in RealTimeLineScenarios.All)
        {
            _scenarios[name] = RunAsync(name, script, line);
        }
    }

    /// <summary>The call of scenario <paramref name="name"/>, once its script has run.</summary>
    public Task<RealTimeCall> CallAsync(string name) => _scenarios[name].WaitAsync(Patience * 2);

    private async Task<RealTimeCall> RunAsync(string name, Func<CallSimulator, Task> script, LineConditions? line)
    {
        var options = await Pipeline.StartCallAsync(speed: 1);
        options.Line = line;
        var sim = await CallSimulator.ConnectAsync(Worker.MediaUri(), options);
        try
        {
            await script(sim);
        }
        catch (Exception ex)
        {
            var turnLog = Worker.Logs.Lines.Where(l => l.Contains(options.CallSid, StringComparison.Ordinal)
                && (l.Contains("HEBREW_SPEECH", StringComparison.Ordinal) || l.Contains("SPEECH_IGNORED", StringComparison.Ordinal)
                    || l.Contains("BARGE_IN", StringComparison.Ordinal) || l.Contains("ECHO_PATH", StringComparison.Ordinal)
                    || l.Contains("CALL_ENDING", StringComparison.Ordinal)));
            throw new InvalidOperationException($"scenario '{name}' failed at line time {sim.LineTime.TotalSeconds:0.00} s; " +
                $"turns {string.Join(", ", sim.Turns.Select(t => $"{t.Latency.TotalMilliseconds:0} ms"))}; marks echoed {sim.EchoedMarks.Count}; " +
                string.Join(" | ", turnLog), ex);
        }

        return new RealTimeCall(name, options.CallSid, sim);
    }

    public async Task DisposeAsync()
    {
        foreach (var scenario in _scenarios.Values)
        {
            try
            {
                await (await scenario).Sim.DisposeAsync();
            }
            catch (InvalidOperationException)
            {
                // A failed scenario: its test reported it.
            }
        }

        await Pipeline.DisposeAsync();
        await _redis.DisposeAsync();
    }
}

/// <summary>One real-time call: its CallSid and the simulator that played Twilio's side (what it sent, heard and timed).</summary>
public sealed record RealTimeCall(string Name, string CallSid, CallSimulator Sim);

/// <summary>The callers the real-time tests play: their audio and scripts.</summary>
public static class RealTimeScenarios
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Patience = RealTimeCallsFixture.Patience;

    public static PromptLibrary Prompts => PipelineAssertions.Prompts;

    public static byte[] Audio(string fixture) => WavFile.Read(TestAudio.Fixture(fixture)).ToMuLaw();

    /// <summary>The same audio <paramref name="db"/> dB quieter (a soft-spoken caller: too quiet to interrupt the bot).</summary>
    public static byte[] Quieter(byte[] muLaw, double db)
    {
        var gain = Math.Pow(10, -db / 20);
        return MuLaw.Encode(MuLaw.Decode(muLaw).Select(s => (short)Math.Round(s * gain)).ToArray());
    }

    /// <summary>Where voice (a 20 ms frame above -45 dBFS) begins in <paramref name="muLaw"/>, in bytes.</summary>
    public static int VoiceStart(ReadOnlySpan<byte> muLaw)
    {
        for (var offset = 0; offset < muLaw.Length; offset += 160)
        {
            if (AudioLevel.MuLawDbfs(muLaw.Slice(offset, Math.Min(160, muLaw.Length - offset))) > -45)
            {
                return offset;
            }
        }

        return muLaw.Length;
    }

    /// <summary>Where voice ends in <paramref name="muLaw"/>, in bytes (the end of its last voiced frame).</summary>
    public static int VoiceEnd(ReadOnlySpan<byte> muLaw)
    {
        var end = 0;
        for (var offset = 0; offset < muLaw.Length; offset += 160)
        {
            var length = Math.Min(160, muLaw.Length - offset);
            if (AudioLevel.MuLawDbfs(muLaw.Slice(offset, length)) > -45)
            {
                end = offset + length;
            }
        }

        return end;
    }

    public static IEnumerable<(string Name, Func<CallSimulator, Task> Script)> All
    {
        get
        {
            foreach (var fixture in new[] { "caller_name_he.wav", "caller_problem_4s_he.wav", "caller_problem_8s_he.wav" })
            {
                yield return (Utterance(fixture), sim => AnswerOnceAsync(sim, Audio(fixture)));
            }

            foreach (var seconds in new[] { 2, 5, 12 })
            {
                yield return (Pause(seconds), sim => PauseThenAnswerTwiceAsync(sim, TimeSpan.FromSeconds(seconds)));
            }

            yield return (TalkOver, TalkOverTheFirstQuestionAsync);
            foreach (var ms in new[] { 100, 300, 600 })
            {
                yield return (EarlyAnswer(ms), sim => AnswerBeforeTheQuestionEndsAsync(sim, Audio("caller_name_he.wav"), ms));
            }

            yield return (QuietEarlyAnswer, sim => AnswerBeforeTheQuestionEndsAsync(sim, Quieter(Audio("caller_name_he.wav"), 16), 300));
            yield return (BackChannel, BackChannelAsTheQuestionEndsAsync);
            yield return (Silence, StaySilentAsync);
            for (var i = 0; i < ConcurrentCalls; i++)
            {
                yield return (Concurrent(i), FullIntakeAsync);
            }
        }
    }

    public const int ConcurrentCalls = 20;
    public const string TalkOver = "talk-over";
    public const string QuietEarlyAnswer = "quiet-early-answer";
    public const string BackChannel = "back-channel";
    public const string Silence = "silence";

    public static string Utterance(string fixture) => "utterance:" + fixture;

    public static string Pause(int seconds) => $"pause:{seconds}";

    public static string EarlyAnswer(int ms) => $"early:{ms}";

    public static string Concurrent(int i) => $"concurrent:{i}";

    /// <summary>The question plays; the caller answers half a second later; the reply plays; the caller hangs up.</summary>
    private static async Task AnswerOnceAsync(CallSimulator sim, byte[] answer)
    {
        await QuestionPlayedAsync(sim);
        await sim.SilenceAsync(TimeSpan.FromMilliseconds(500));
        await sim.SayAsync(answer);
        await AnsweredAsync(sim, 1);
        await sim.HangUpAsync();
    }

    /// <summary>Before each of two answers (1 s, then 4 s) the caller is silent for <paramref name="pause"/> after the bot stops.</summary>
    private static async Task PauseThenAnswerTwiceAsync(CallSimulator sim, TimeSpan pause)
    {
        await QuestionPlayedAsync(sim);
        await sim.SilenceAsync(pause);
        await sim.SayAsync(Audio("caller_name_he.wav"));
        await AnsweredAsync(sim, 1);
        await sim.SilenceAsync(pause);
        await sim.SayAsync(Audio("caller_problem_4s_he.wav"));
        await AnsweredAsync(sim, 2);
        await sim.HangUpAsync();
    }

    /// <summary>The caller starts talking 300 ms into the first question, says their name over it, then waits.</summary>
    private static async Task TalkOverTheFirstQuestionAsync(CallSimulator sim)
    {
        Assert.True(await sim.WaitForBotAudioAsync(Patience), "the first question never came");
        await sim.SayWhenBotPlayedAsync(300 * 8, Audio("caller_name_he.wav"));
        await AnsweredAsync(sim, 1);
        await sim.SilenceAsync(TimeSpan.FromSeconds(2));
        await sim.HangUpAsync();
    }

    /// <summary>The caller's voice starts <paramref name="beforeEndMs"/> before the first question's voice ends.</summary>
    private static async Task AnswerBeforeTheQuestionEndsAsync(CallSimulator sim, byte[] answer, int beforeEndMs)
    {
        var startAt = VoiceEnd(Prompts[PromptKeys.AskName].MuLaw.Span) - beforeEndMs * 8 - VoiceStart(answer);
        Assert.True(await sim.WaitForBotAudioAsync(Patience), "the first question never came");
        await sim.SayWhenBotPlayedAsync(startAt, answer);
        await AnsweredAsync(sim, 1);
        await sim.HangUpAsync();
    }

    /// <summary>
    /// A soft "yes" that starts 100 ms before the first question's audio ends (so it goes on about 200 ms
    /// past it): a back-channel, not an answer. Then three seconds of silence, then the real answer.
    /// </summary>
    private static async Task BackChannelAsTheQuestionEndsAsync(CallSimulator sim)
    {
        var yes = Quieter(Audio("caller_yes_he.wav"), 12);
        Assert.True(await sim.WaitForBotAudioAsync(Patience), "the first question never came");
        await sim.SayWhenBotPlayedAsync(Prompts[PromptKeys.AskName].MuLaw.Length - 100 * 8 - VoiceStart(yes), yes);
        await sim.SilenceAsync(TimeSpan.FromSeconds(3));
        await sim.SayAsync(Audio("caller_name_he.wav"));
        await AnsweredAsync(sim, 1);
        await sim.HangUpAsync();
    }

    /// <summary>The caller never says a word: the line carries silence until the bot ends the call.</summary>
    private static async Task StaySilentAsync(CallSimulator sim)
    {
        await QuestionPlayedAsync(sim);
        await sim.Closed.WaitAsync(Patience);
    }

    /// <summary>The whole intake: name, reason, callback time, each 700 ms after the question; the bot confirms, says goodbye and hangs up.</summary>
    private static async Task FullIntakeAsync(CallSimulator sim)
    {
        await QuestionPlayedAsync(sim);
        foreach (var answer in new[] { "caller_name_he.wav", "caller_reason_he.wav" })
        {
            await sim.SilenceAsync(TimeSpan.FromMilliseconds(700));
            await sim.SayAsync(Audio(answer));
            await AnsweredAsync(sim, sim.Turns.Count + 1);
        }

        await sim.SilenceAsync(TimeSpan.FromMilliseconds(700));
        await sim.SayAsync(Audio("caller_callback_time_he.wav"));
        Assert.True(await sim.WaitForTurnAsync(3, Patience), "turn 3 was never answered");
        await sim.Closed.WaitAsync(Patience); // the confirmation and goodbye play, then the bot hangs up
    }

    private static async Task QuestionPlayedAsync(CallSimulator sim)
    {
        Assert.True(await sim.WaitForBotAudioAsync(Patience), "the first question never came");
        await sim.UntilBotQuietAsync(Quiet);
    }

    /// <summary>Turn <paramref name="turn"/> was answered on the line, and the reply has played out.</summary>
    private static async Task AnsweredAsync(CallSimulator sim, int turn)
    {
        Assert.True(await sim.WaitForTurnAsync(turn, Patience), $"turn {turn} was never answered");
        await sim.UntilBotQuietAsync(Quiet);
    }
}
