using System.Globalization;
using System.Text.RegularExpressions;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.SpeechDetection;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.MediaWorker;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;
using static AgentLocator.Tests.RealTime.RealTimeLineScenarios;
using static AgentLocator.Tests.RealTime.RealTimeScenarios;

namespace AgentLocator.Tests.RealTime;

/// <summary>
/// The echo canceller's reference (the bot's audio where the worker believes the caller's phone plays it) against what
/// the line really played, when the worker's clock and the line's part: the worker's receive loop held back 400 ms as the
/// call begins (Twilio's frames queue unread: the worker thinks the line is earlier than it is), or the peer's line
/// starting 2 s after <c>start</c> (the line is earlier than the worker's wall clock says). The worker's first reply also
/// takes 300 ms to come (an engine that connects first), so its estimate of the line is off by hundreds of ms in each
/// direction. Each reply's start mark, echoed by the peer as the reply begins, anchors it: the reference must follow what
/// the peer played to within a frame, the bot's own echo must never interrupt it, and a caller at the echo's level still
/// must. 1x, through the real <c>/ws/twilio-media</c>, the calls side by side.
/// </summary>
public sealed class RealTimeLineClockTests(RealTimeLineClockTests.LaggingLinesFixture fixture, ITestOutputHelper output)
    : IClassFixture<RealTimeLineClockTests.LaggingLinesFixture>
{
    /// <summary>How long each session's receive loop is held before it reads Twilio's first message.</summary>
    public static readonly TimeSpan WorkerHold = TimeSpan.FromMilliseconds(400);

    /// <summary>How long the engine takes to give the first reply.</summary>
    public static readonly TimeSpan EngineStart = TimeSpan.FromMilliseconds(300);

    /// <summary>How long after <c>start</c> the lagging peer's line begins (longer than the first reply takes on a loaded machine).</summary>
    public static readonly TimeSpan LineStartDelay = TimeSpan.FromSeconds(2);

    /// <summary>One frame: the peer plays on its 20 ms tick.</summary>
    private static readonly TimeSpan AlignmentBound = TimeSpan.FromMilliseconds(20);

    private static readonly TimeSpan BargeInBound = TimeSpan.FromMilliseconds(400);

    public enum Lag
    {
        /// <summary>The worker reads the line late: it believes the line is earlier than it is.</summary>
        WorkerBehind,

        /// <summary>The peer's line starts late: it is earlier than the worker's wall clock says.</summary>
        LineBehind,
    }

    [Theory]
    [InlineData(Lag.WorkerBehind, 60)]
    [InlineData(Lag.WorkerBehind, 320)]
    [InlineData(Lag.LineBehind, 60)]
    [InlineData(Lag.LineBehind, 320)]
    public async Task TheEchoReferenceFollowsWhatTheLinePlayedAndTheEchoNeverInterruptsTheBot(Lag lag, int echoDelayMs)
    {
        var (callSid, sim) = await fixture.CallAsync(EchoOnlyCall(lag, echoDelayMs));
        var worker = fixture.WorkerFor(lag);
        var log = TurnLog(worker, callSid);
        Assert.Empty(sim.ProtocolViolations);
        Assert.True(sim.Turns.Count == 1, "turn 1 was not answered: " + log);
        Assert.DoesNotContain(sim.Received, m => m.Kind == BotMessageKind.Clear);
        Assert.False(worker.Logs.Contains($"BARGE_IN {callSid}"), "the bot's echo interrupted it: " + log);

        // Where the worker anchored each reply is where the peer began playing it.
        var starts = PlaybackStarts(worker, callSid);
        var spans = sim.BotSpans;
        Assert.True(starts.Count == 2 && spans.Count == 2, $"replies anchored {starts.Count}, played {spans.Count}: {log}");
        for (var i = 0; i < 2; i++)
        {
            var error = starts[i].At - spans[i].StartedAt;
            output.WriteLine($"{lag}, echo {echoDelayMs} ms: reply {i + 1} began on the line at {spans[i].StartedAt.TotalMilliseconds:0} ms, anchored at "
                + $"{starts[i].At.TotalMilliseconds:0} ms, {starts[i].Moved.TotalMilliseconds:0} ms from the worker's estimate; simulator line up to {sim.MaxTickLag.TotalMilliseconds:0} ms late, bot audio ran dry {sim.LateFrames} frames");
            Assert.True(error.Duration() <= AlignmentBound,
                $"reply {i + 1} began on the line at {spans[i].StartedAt.TotalMilliseconds:0} ms, the worker anchored it at {starts[i].At.TotalMilliseconds:0} ms: {log}");
        }

        // The call did exercise the lag: the worker's own estimate of the first reply's start was far off, in the lag's direction.
        var moved = starts[0].Moved.TotalMilliseconds;
        Assert.True(lag == Lag.WorkerBehind ? moved >= 150 : moved <= -150, $"the worker's estimate was only {moved:0} ms off the line ({lag}): {log}");

        // The echo comes back exactly echoDelayMs after the peer played the bot's audio: a canceller that locks later (or
        // earlier) was given a reference running ahead of (or behind) what played.
        var locked = EchoPathDelays(worker, callSid);
        Assert.True(locked.Count > 0, "the echo path was never found: " + log);
        // On the first question, where the estimate was off (not only once the second reply's estimate was right).
        var lines = worker.Logs.Lines.Where(l => l.Contains(callSid, StringComparison.Ordinal)).ToList();
        var firstLock = lines.FindIndex(l => l.Contains("ECHO_PATH", StringComparison.Ordinal));
        Assert.True(firstLock < lines.FindIndex(l => l.Contains("HEBREW_SPEECH", StringComparison.Ordinal)),
            "the echo path was not found on the first question: " + log);
        var offset = locked[0] - echoDelayMs;
        output.WriteLine($"echo path locked at {locked[0]:0.0} ms: the reference {offset:0.0} ms off what played");
        Assert.True(Math.Abs(offset) <= AlignmentBound.TotalMilliseconds,
            $"the echo path locked at {locked[0]:0.0} ms on a line whose echo comes {echoDelayMs} ms after the bot played: the reference was "
            + $"{offset:0.0} ms off what the peer played (bound {AlignmentBound.TotalMilliseconds:0} ms); simulator line up to {sim.MaxTickLag.TotalMilliseconds:0} ms late; {log}");
    }

    [Theory]
    [InlineData(Lag.WorkerBehind)]
    [InlineData(Lag.LineBehind)]
    public async Task ACallerAtTheLevelOfTheBotsEchoStillInterruptsTheFirstQuestionWithin400Ms(Lag lag)
    {
        var (callSid, sim) = await fixture.CallAsync(BargeInCall(lag));
        var worker = fixture.WorkerFor(lag);
        var log = TurnLog(worker, callSid);
        Assert.Empty(sim.ProtocolViolations);
        Assert.True(sim.Turns.Count == 1, "turn 1 was not answered: " + log);
        Assert.True(worker.Logs.Contains($"BARGE_IN {callSid} reply=1"), "the caller did not interrupt the first question: " + log);
        Assert.Single(worker.Spy.TurnsOf(callSid));

        var voiceOnset = sim.UtteranceStarts[0] + TimeSpan.FromTicks(VoiceStart(AnswerAtEchoLevel) * TimeSpan.TicksPerSecond / 8000);
        var clear = Assert.Single(sim.Received, m => m.Kind == BotMessageKind.Clear);
        var detectedAfter = clear.LineTime - voiceOnset;
        output.WriteLine($"{lag}: the clear reached the line {detectedAfter.TotalMilliseconds:0} ms after the caller's voice began");
        Assert.True(detectedAfter > TimeSpan.Zero && detectedAfter <= BargeInBound,
            $"barge-in detected {detectedAfter.TotalMilliseconds:0} ms after the caller's voice began, bound {BargeInBound.TotalMilliseconds:0} ms; {log}");
    }

    public static string EchoOnlyCall(Lag lag, int echoDelayMs) => $"{lag}:echo-only:{echoDelayMs}";

    public static string BargeInCall(Lag lag) => $"{lag}:barge-in";

    /// <summary>The delays (ms) of each echo path the call's canceller locked, in order (<c>ECHO_PATH delay_ms</c>).</summary>
    private static List<double> EchoPathDelays(PipelineWorker worker, string callSid) => worker.Logs.Lines
        .Where(l => l.Contains($"ECHO_PATH {callSid} ", StringComparison.Ordinal))
        .Select(l => double.Parse(Regex.Match(l, @"delay_ms=([\d.]+)").Groups[1].Value, CultureInfo.InvariantCulture))
        .ToList();

    /// <summary>Where the worker anchored each reply on the line, and how far that moved it (<c>PLAYBACK_START</c>).</summary>
    private static List<(TimeSpan At, TimeSpan Moved)> PlaybackStarts(PipelineWorker worker, string callSid) => worker.Logs.Lines
        .Where(l => l.Contains($"PLAYBACK_START {callSid} ", StringComparison.Ordinal))
        .Select(l => Regex.Match(l, @"at_ms=(-?\d+) moved_ms=(-?\d+)"))
        .Select(m => (TimeSpan.FromMilliseconds(long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)),
            TimeSpan.FromMilliseconds(long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture))))
        .ToList();

    private static string TurnLog(PipelineWorker worker, string callSid) => string.Join(" | ", worker.Logs.Lines
        .Where(l => l.Contains(callSid, StringComparison.Ordinal) && (l.Contains("BARGE_IN", StringComparison.Ordinal)
            || l.Contains("ECHO_PATH", StringComparison.Ordinal) || l.Contains("CALLER_FIRST", StringComparison.Ordinal) || l.Contains("HEBREW_SPEECH", StringComparison.Ordinal)
            || l.Contains("SPEECH_IGNORED", StringComparison.Ordinal) || l.Contains("PLAYBACK_START", StringComparison.Ordinal)))
        .Select(l => l[l.IndexOf(']', StringComparison.Ordinal)..]));

    /// <summary>
    /// Two pipeline workers (product settings) whose engines take <see cref="EngineStart"/> for the first reply: one whose
    /// sessions are each held back <see cref="WorkerHold"/> as they begin (<see cref="Lag.WorkerBehind"/>), one that reads
    /// the line at once (<see cref="Lag.LineBehind"/>). Every call is started at once when the fixture starts.
    /// </summary>
    public sealed class LaggingLinesFixture : IAsyncLifetime
    {
        private readonly Dictionary<string, Task<(string CallSid, CallSimulator Sim)>> _calls = [];
        private PipelineWorker _heldBack = null!;
        private PipelineWorker _prompt = null!;

        public MediaPipelineFixture Pipeline { get; } = new();

        public PipelineWorker WorkerFor(Lag lag) => lag == Lag.WorkerBehind ? _heldBack : _prompt;

        public Task<(string CallSid, CallSimulator Sim)> CallAsync(string name) => _calls[name].WaitAsync(RealTimeCallsFixture.Patience * 2);

        public async Task InitializeAsync()
        {
            await Pipeline.InitializeAsync();
            _heldBack = StartWorker(holdSessions: true);
            _prompt = StartWorker(holdSessions: false);

            foreach (var lag in Enum.GetValues<Lag>())
            {
                foreach (var delay in new[] { 60, 320 })
                {
                    _calls[EchoOnlyCall(lag, delay)] = RunAsync(lag, delay, EchoOnlyThroughTwoRepliesAsync);
                }

                _calls[BargeInCall(lag)] = RunAsync(lag, 180, BargeInOverTheFirstQuestionAsync);
            }
        }

        public async Task DisposeAsync()
        {
            foreach (var call in _calls.Values)
            {
                try
                {
                    await (await call).Sim.DisposeAsync();
                }
                catch (Exception ex) when (ex is InvalidOperationException or Xunit.Sdk.XunitException)
                {
                    // A failed call: its test reported it.
                }
            }

            await Pipeline.DisposeAsync();
        }

        private PipelineWorker StartWorker(bool holdSessions) =>
            Pipeline.StartWorker(new Dictionary<string, string?> { ["MediaStream:MarkEchoGrace"] = "00:00:01.500" }, services =>
            {
                if (holdSessions)
                {
                    var detectors = services.LastOrDefault(d => d.ServiceType == typeof(ISpeechDetectorFactory));
                    services.AddSingleton<ISpeechDetectorFactory>(sp =>
                        new HeldBack(detectors?.ImplementationFactory?.Invoke(sp) as ISpeechDetectorFactory ?? new EnergySpeechDetectorFactory()));
                }

                var engines = services.Last(d => d.ServiceType == typeof(IConversationEngineFactory));
                services.AddSingleton<IConversationEngineFactory>(sp => new SlowStart((IConversationEngineFactory)engines.ImplementationFactory!(sp)));
            });

        private async Task<(string, CallSimulator)> RunAsync(Lag lag, int echoDelayMs, Func<CallSimulator, Task> script)
        {
            var options = await Pipeline.StartCallAsync(speed: 1);
            options.Line = Speakerphone(echoDelayMs);
            options.LineStartDelay = lag == Lag.LineBehind ? LineStartDelay : TimeSpan.Zero;
            var sim = await CallSimulator.ConnectAsync(WorkerFor(lag).MediaUri(), options);
            await script(sim);
            return (options.CallSid, sim);
        }

        /// <summary>The first question plays out with only its echo on the line; the caller answers; the reply plays; hang up.</summary>
        private static async Task EchoOnlyThroughTwoRepliesAsync(CallSimulator sim)
        {
            Assert.True(await sim.WaitForBotAudioAsync(RealTimeCallsFixture.Patience), "the first question never came");
            await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(600)).WaitAsync(RealTimeCallsFixture.Patience);
            await sim.SilenceAsync(TimeSpan.FromMilliseconds(700));
            await sim.SayAsync(Audio("caller_name_he.wav"));
            Assert.True(await sim.WaitForTurnAsync(1, RealTimeCallsFixture.Patience), "turn 1 was never answered");
            await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(600)).WaitAsync(RealTimeCallsFixture.Patience);
            await sim.HangUpAsync();
        }

        /// <summary>Half a second into the first question the caller talks over it at the echo's level, then waits for the reply.</summary>
        private static async Task BargeInOverTheFirstQuestionAsync(CallSimulator sim)
        {
            Assert.True(await sim.WaitForBotAudioAsync(RealTimeCallsFixture.Patience), "the first question never came");
            await sim.SayWhenBotPlayedAsync(BargeInAtBytes, AnswerAtEchoLevel);
            Assert.True(await sim.WaitForTurnAsync(1, RealTimeCallsFixture.Patience), "turn 1 was never answered");
            await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(600)).WaitAsync(RealTimeCallsFixture.Patience);
            await sim.HangUpAsync();
        }
    }

    /// <summary>
    /// The product's detectors, each made <see cref="WorkerHold"/> late: the session makes its detector before its receive
    /// loop reads the first message, so the loop starts that far behind the line (a slow, blocking set-up, as a loaded
    /// machine has).
    /// </summary>
    private sealed class HeldBack(ISpeechDetectorFactory real) : ISpeechDetectorFactory
    {
        public string Name => nameof(HeldBack);

        public ISpeechDetector Create(TimeSpan endOfTurnSilence)
        {
            Thread.Sleep(WorkerHold);
            return real.Create(endOfTurnSilence);
        }
    }

    /// <summary>The product's engines, each taking <see cref="EngineStart"/> for its first reply (as one that connects to a provider first).</summary>
    private sealed class SlowStart(IConversationEngineFactory real) : IConversationEngineFactory
    {
        public IConversationEngine Create(ConversationContext context) => new Engine(real.Create(context));

        private sealed class Engine(IConversationEngine inner) : IConversationEngine
        {
            public async Task<ConversationReply> StartAsync(CancellationToken cancellationToken)
            {
                await Task.Delay(EngineStart, cancellationToken);
                return await inner.StartAsync(cancellationToken);
            }

            public Task<ConversationReply> OnCallerTurnAsync(CallerTurn turn, CancellationToken cancellationToken) => inner.OnCallerTurnAsync(turn, cancellationToken);

            public Task<ConversationReply> OnIdleAsync(int idleCount, ReplyHeard? lastReply, CancellationToken cancellationToken) =>
                inner.OnIdleAsync(idleCount, lastReply, cancellationToken);

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}
