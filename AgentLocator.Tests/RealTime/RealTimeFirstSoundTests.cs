using AgentLocator.Media;
using AgentLocator.Testing.Audio;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.MediaWorker;
using static AgentLocator.Tests.RealTime.RealTimeLineScenarios;
using static AgentLocator.Tests.RealTime.RealTimeScenarios;

namespace AgentLocator.Tests.RealTime;

/// <summary>
/// A caller who says a short "ken" over the call's first question before its echo comes back (the echo 450 ms late, the voice
/// 340 ms into the question), 1x through the real <c>/ws/twilio-media</c>: their first 100 ms matched the bot's audio by chance
/// (0.37) at delays reaching back to before the question began, where the bot was silent, so they were held to the level rule and
/// never interrupted it. The echo is matched only where the bot's audio could have made it (<see cref="BargeInListener.LoudestEchoDb"/>):
/// the caller spoke first (<c>CALLER_FIRST</c>) and the question is cleared within 400 ms of their voice.
/// </summary>
public sealed class RealTimeFirstSoundTests(MediaPipelineFixture fixture) : IClassFixture<MediaPipelineFixture>
{
    private const int EchoDelayMs = 450;
    private const int VoiceAtMs = 340;
    private static readonly TimeSpan BargeInBound = TimeSpan.FromMilliseconds(400);

    [Fact]
    public async Task AShortAnswerBeforeTheFirstQuestionsEchoComesBackInterruptsItWithin400Ms()
    {
        var yes = AtEchoLevel("caller_yes_he.wav");
        var options = await fixture.StartCallAsync(speed: 1);
        options.Line = Speakerphone(EchoDelayMs);
        await using var sim = await CallSimulator.ConnectAsync(fixture.Worker.MediaUri(), options);

        Assert.True(await sim.WaitForBotAudioAsync(RealTimeCallsFixture.Patience), "the first question never came");
        await sim.SayWhenBotPlayedAsync(8 * VoiceAtMs - VoiceStart(yes), yes);
        Assert.True(await sim.WaitForTurnAsync(1, RealTimeCallsFixture.Patience), "turn 1 was never answered");
        await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(600));
        await sim.HangUpAsync();

        var log = string.Join(" | ", fixture.Worker.Logs.Lines.Where(l => l.Contains(options.CallSid, StringComparison.Ordinal)
            && (l.Contains("BARGE_IN", StringComparison.Ordinal) || l.Contains("CALLER_FIRST", StringComparison.Ordinal) || l.Contains("ECHO_PATH", StringComparison.Ordinal))));
        Assert.True(fixture.Worker.Logs.Contains($"BARGE_IN {options.CallSid} reply=1"), "no barge-in on the first question: " + log);
        var voiceOnset = sim.UtteranceStarts[0] + TimeSpan.FromTicks(VoiceStart(yes) * TimeSpan.TicksPerSecond / 8000);
        var clear = Assert.Single(sim.Received, m => m.Kind == BotMessageKind.Clear);
        var detectedAfter = clear.LineTime - voiceOnset;
        Assert.True(detectedAfter > TimeSpan.Zero && detectedAfter <= BargeInBound,
            $"barge-in detected {detectedAfter.TotalMilliseconds:0} ms after the caller's voice began, bound {BargeInBound.TotalMilliseconds:0} ms; {log}");
        Assert.True(fixture.Worker.Logs.Contains($"CALLER_FIRST {options.CallSid}"), "the caller's first sound was taken for the echo: " + log);
    }

    /// <summary>A caller's clip at the level of the bot's echo: the first question's active level − 6 dB.</summary>
    private static byte[] AtEchoLevel(string clip)
    {
        var question = MuLaw.Decode(Prompts[PromptKeys.AskName].MuLaw.Span);
        var answer = MuLaw.Decode(Audio(clip));
        var gainDb = NoiseSignals.ActiveLevelDbfs(question) - 6 - NoiseSignals.ActiveLevelDbfs(answer);
        return Quieter(Audio(clip), -gainDb);
    }
}
