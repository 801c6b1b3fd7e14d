using AgentLocator.Media;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.Infrastructure;
using static AgentLocator.Tests.RealTime.RealTimeScenarios;

namespace AgentLocator.Tests.RealTime;

/// <summary>
/// The live call at real speed (1x): every turn of every caller gets audible bot audio within the
/// silence window + 300 ms of the caller's last voiced frame (timed on the line's own clock), and the
/// marks Twilio echoed account for every chunk the bot sent. The calls all run at once in
/// <see cref="RealTimeCallsFixture"/>; each test asserts on its own.
/// </summary>
public sealed partial class RealTimeCallTests(RealTimeCallsFixture fixture) : IClassFixture<RealTimeCallsFixture>
{
    private const int ChunkBytes = 10 * 160;

    private TimeSpan ReplyBound => fixture.SilenceWindow + TimeSpan.FromMilliseconds(300);

    [Theory]
    [InlineData("caller_name_he.wav")]
    [InlineData("caller_problem_4s_he.wav")]
    [InlineData("caller_problem_8s_he.wav")]
    public async Task AnAnswerOfOneFourOrEightSecondsIsAnsweredWithinTheSilenceWindow(string utterance)
    {
        var call = await fixture.CallAsync(Utterance(utterance));
        AssertEveryTurnAnswered(call, turns: 1);
        AssertMarksAccountForEveryChunk(call.Sim);
        var turn = Assert.Single(fixture.Worker.Spy.TurnsOf(call.CallSid));
        var voiced = (VoiceEnd(Audio(utterance)) - VoiceStart(Audio(utterance))) / 8.0;
        Assert.InRange(turn.SpeechDuration.TotalMilliseconds, voiced - 300, voiced + 100);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(12)]
    public async Task ACallerWhoPausesBeforeEachAnswerIsAnsweredEveryTime(int pauseSeconds)
    {
        var call = await fixture.CallAsync(Pause(pauseSeconds));
        AssertEveryTurnAnswered(call, turns: 2);
        AssertMarksAccountForEveryChunk(call.Sim);
        Assert.Equal(2, fixture.Worker.Spy.TurnsOf(call.CallSid).Count);
        // A pause longer than the idle window brings a re-prompt (audible, in time) and the call goes on.
        var reprompted = fixture.Worker.Logs.Contains($"IDLE {call.CallSid} count=1");
        Assert.Equal(pauseSeconds > fixture.IdleReprompt.TotalSeconds, reprompted);
        Assert.False(fixture.Worker.Logs.Contains($"IDLE {call.CallSid} count=2"));
        if (reprompted)
        {
            var spans = call.Sim.BotSpans;
            Assert.Contains(spans.Zip(spans.Skip(1)), pair => pair.Second.StartedAt - pair.First.EndedAt >= fixture.IdleReprompt
                && pair.Second.StartedAt - pair.First.EndedAt <= fixture.IdleReprompt + TimeSpan.FromMilliseconds(300) && pair.Second.AudibleAt is not null);
        }
    }

    [Fact]
    public async Task ACallerWhoTalksOverTheFirstQuestionAndThenWaitsIsAnswered()
    {
        var call = await fixture.CallAsync(TalkOver);
        AssertEveryTurnAnswered(call, turns: 1);
        AssertMarksAccountForEveryChunk(call.Sim);
        Assert.Contains(call.Sim.Received, m => m.Kind == BotMessageKind.Clear);
        Assert.True(fixture.Worker.Logs.Contains($"BARGE_IN {call.CallSid} reply=1"));
        Assert.Single(fixture.Worker.Spy.TurnsOf(call.CallSid));
    }

    [Theory]
    [InlineData(100)]
    [InlineData(300)]
    [InlineData(600)]
    public async Task AnAnswerThatStartsBeforeTheQuestionEndsIsAnswered(int beforeEndMs)
    {
        var call = await fixture.CallAsync(EarlyAnswer(beforeEndMs));
        AssertEveryTurnAnswered(call, turns: 1);
        AssertMarksAccountForEveryChunk(call.Sim);
        Assert.Single(fixture.Worker.Spy.TurnsOf(call.CallSid));
        Assert.True(fixture.Worker.Logs.Contains($"HEBREW_SPEECH {call.CallSid} turn=1"));
    }

    [Fact]
    public async Task ASoftAnswerThatStartsAsTheQuestionTrailsOffIsATurnWithoutBargeIn()
    {
        var call = await fixture.CallAsync(QuietEarlyAnswer);
        AssertEveryTurnAnswered(call, turns: 1);
        AssertMarksAccountForEveryChunk(call.Sim);
        Assert.DoesNotContain(call.Sim.Received, m => m.Kind == BotMessageKind.Clear);
        Assert.Single(fixture.Worker.Spy.TurnsOf(call.CallSid));
    }

    [Fact]
    public async Task AShortBackChannelAsTheQuestionEndsIsNotATurn()
    {
        var call = await fixture.CallAsync(BackChannel);
        AssertEveryTurnAnswered(call, turns: 1);
        AssertMarksAccountForEveryChunk(call.Sim);
        // The "yes" got no reply: the bot spoke twice (the question, the reply to the name), and the engine heard one turn.
        Assert.Equal(2, call.Sim.BotSpans.Count);
        Assert.Single(fixture.Worker.Spy.TurnsOf(call.CallSid));
        Assert.True(fixture.Worker.Logs.Contains($"SPEECH_IGNORED {call.CallSid}"));
    }

    [Fact]
    public async Task TwentySecondsOfSilenceBringAReprompThenTheIdleGoodbye()
    {
        var call = await fixture.CallAsync(Silence);
        var spans = call.Sim.BotSpans;
        Assert.Equal(3, spans.Count); // the question, the re-prompt, the idle goodbye
        Assert.All(spans, s => Assert.NotNull(s.AudibleAt));
        foreach (var (before, after) in spans.Zip(spans.Skip(1)))
        {
            Assert.InRange(after.StartedAt - before.EndedAt, fixture.IdleReprompt, fixture.IdleReprompt + TimeSpan.FromMilliseconds(300));
        }

        Assert.Equal(Prompts[PromptKeys.IdleGoodbye].MuLaw.Length, (int)((spans[2].EndedAt - spans[2].StartedAt).Ticks * 8000 / TimeSpan.TicksPerSecond));
        Assert.NotNull(call.Sim.CloseStatus);
        Assert.Contains(fixture.Pipeline.Twilio.GetCall(call.CallSid)!.Updates, u => u.Contains(new("Status", "completed")));
        AssertMarksAccountForEveryChunk(call.Sim);
        Assert.Empty(call.Sim.ProtocolViolations);
    }

    [Fact]
    public async Task TwentyConcurrentCallsAreEachAnsweredOnEveryTurnAndCompleted()
    {
        var calls = await Task.WhenAll(Enumerable.Range(0, ConcurrentCalls).Select(i => fixture.CallAsync(Concurrent(i))));
        foreach (var call in calls)
        {
            AssertEveryTurnAnswered(call, turns: 3);
            AssertMarksAccountForEveryChunk(call.Sim);
            Assert.Equal(3, fixture.Worker.Spy.TurnsOf(call.CallSid).Count);
            Assert.True(await Sql.ScalarAsync<bool>(fixture.Pipeline.ConnectionString,
                "SELECT conversation_completed FROM calls WHERE call_sid = $1", call.CallSid), $"{call.CallSid} was not completed");
            Assert.Contains(fixture.Pipeline.Twilio.GetCall(call.CallSid)!.Updates, u => u.Contains(new("Status", "completed")));
        }
    }

    /// <summary>Every caller turn got audible bot audio within the silence window + 300 ms of the caller's last voiced frame, on the line's clock.</summary>
    private void AssertEveryTurnAnswered(RealTimeCall call, int turns)
    {
        var sim = call.Sim;
        Assert.Empty(sim.ProtocolViolations);
        Assert.False(fixture.Worker.Logs.Contains($"WS_LOOP_FAILED {call.CallSid}") || fixture.Worker.Logs.Contains($"WS_SEND_FAILED {call.CallSid}"),
            "the call's loop failed");
        Assert.Equal(turns, sim.Turns.Count);
        Assert.All(sim.Turns, t => Assert.True(t.Latency > TimeSpan.Zero && t.Latency <= ReplyBound,
            $"{call.Name}: turn {t.Turn} answered {t.Latency.TotalMilliseconds:0} ms after the caller's last voiced frame (line time; wall {t.WallLatency.TotalMilliseconds:0} ms), bound {ReplyBound.TotalMilliseconds:0} ms; the simulator's own line ran up to {sim.MaxTickLag.TotalMilliseconds:0} ms late"));
    }

    /// <summary>
    /// Twilio echoed every mark the bot sent, in order, and each mark closed one chunk of audio
    /// (at most 10 frames since the previous one), but a reply's start mark (<c>s{id}</c>), which opens it before
    /// any of its audio; audio sent after the last mark was dropped by a clear.
    /// </summary>
    private static void AssertMarksAccountForEveryChunk(CallSimulator sim)
    {
        var sent = sim.Received.Where(m => m.Kind == BotMessageKind.Mark).Select(m => m.MarkName!).ToList();
        Assert.NotEmpty(sent);
        Assert.True(sent.SequenceEqual(sim.EchoedMarks),
            $"marks sent [{string.Join(", ", sent)}], echoed [{string.Join(", ", sim.EchoedMarks)}]; bot audio ran dry inside a reply for {sim.LateFrames} frames; the simulator's own line ran up to {sim.MaxTickLag.TotalMilliseconds:0} ms late");
        var unmarked = 0;
        foreach (var message in sim.Received)
        {
            switch (message.Kind)
            {
                case BotMessageKind.Media:
                    unmarked += message.Audio!.Length;
                    break;
                case BotMessageKind.Mark when message.MarkName!.StartsWith('s'):
                    Assert.Equal(0, unmarked);
                    break;
                case BotMessageKind.Mark:
                    Assert.InRange(unmarked, 1, ChunkBytes);
                    unmarked = 0;
                    break;
                case BotMessageKind.Clear:
                    unmarked = 0;
                    break;
            }
        }

        Assert.Equal(0, unmarked);
    }
}
