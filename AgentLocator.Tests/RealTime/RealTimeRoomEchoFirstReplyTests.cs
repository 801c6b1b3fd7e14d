using AgentLocator.Media;
using AgentLocator.Testing.Audio;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.Media;
using AgentLocator.Tests.MediaWorker;
using Xunit.Abstractions;
using static AgentLocator.Tests.RealTime.RealTimeLineScenarios;
using static AgentLocator.Tests.RealTime.RealTimeScenarios;

namespace AgentLocator.Tests.RealTime;

/// <summary>
/// A caller at the level of a speakerphone's room echo who talks over the call's first question, before the adaptive filter has
/// converged, 1x through the real <c>/ws/twilio-media</c> (as <c>RoomEchoDoubleTalkTests.ACallerVoicedAtAPitchTheBotsAudioLacksIsNotTurnedDownWithTheEcho</c>
/// runs the listener alone): the question is the room-echo tests' reply (<see cref="RoomEchoReply.Reply"/>, three questions back to back),
/// played as the stream connects (as the worker's greeting is), echoed through room 5 (<see cref="EchoPathModel.Room"/>) 180 ms late, 6 dB
/// down, over −65 dBFS noise, and the caller's voice begins 620 ms into it. The spectral model is fitted once the echo has come in, though
/// the call is not yet 800 ms old (the line before the call is silence); its fit takes the caller's voice for the echo, but their voiced
/// frames repeat at a period the bot's audio at the echo's delay lacks (<see cref="HarmonicDoubleTalk"/>), so the echo check does not turn
/// them down with the echo and the question is cleared within 400 ms of their voice (280–320 ms in 6 of 6 runs at load 1–3; without the
/// pitch test 560 ms, 2 of 2; with the model fitted only once the call is 800 ms old 440 ms, 2 of 2. With a second of silence before the
/// question, which is how this test first ran: 280–340 ms in 16 of 16 runs at load 4–12, without the pitch test 520–580 ms in 10 of 10).
/// </summary>
public sealed class RealTimeRoomEchoFirstReplyTests(MediaPipelineFixture fixture, ITestOutputHelper output) : IClassFixture<MediaPipelineFixture>
{
    private static readonly TimeSpan BargeInBound = TimeSpan.FromMilliseconds(400);

    private const int RoomSeed = 5;
    private const int EchoDelayMs = 180;
    private const int VoiceAtMs = 620;

    [Fact]
    public async Task ACallerVoicedAtAPitchTheBotsAudioLacksInterruptsTheFirstQuestionOverARoomEchoWithin400Ms()
    {
        var reply = RoomEchoReply.Reply;
        var worker = fixture.StartWorkerWithFirstQuestion(reply);
        var room = EchoPathModel.Room(RoomSeed, rt60Ms: null, clipDrive: 2);
        room.Calibrate(MuLaw.Decode(reply));
        var answer = AnswerAtEchoLevel;
        var options = await fixture.StartCallAsync(speed: 1);
        options.Line = new LineConditions
        {
            EchoGainDb = -6, EchoDelay = TimeSpan.FromMilliseconds(EchoDelayMs), EchoPath = room, Noise = NoiseSignals.White(8000, -65, EchoDelayMs),
        };
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);

        Assert.True(await sim.WaitForBotAudioAsync(RealTimeCallsFixture.Patience), "the first question never came");
        await sim.SayWhenBotPlayedAsync(8 * VoiceAtMs - VoiceStart(answer), answer);
        Assert.True(await sim.WaitForTurnAsync(1, RealTimeCallsFixture.Patience), "turn 1 was never answered");
        await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(600));
        await sim.HangUpAsync();

        var log = string.Join(" | ", worker.Logs.Lines.Where(l => l.Contains(options.CallSid, StringComparison.Ordinal)
            && (l.Contains("BARGE_IN", StringComparison.Ordinal) || l.Contains("ECHO_PATH", StringComparison.Ordinal) || l.Contains("SPEECH_IGNORED", StringComparison.Ordinal))));
        Assert.True(worker.Logs.Contains($"BARGE_IN {options.CallSid} reply=1"), "no barge-in on the first question: " + log);
        var voiceOnset = sim.UtteranceStarts[0] + TimeSpan.FromTicks(VoiceStart(answer) * TimeSpan.TicksPerSecond / 8000);
        var clear = Assert.Single(sim.Received, m => m.Kind == BotMessageKind.Clear);
        var detectedAfter = clear.LineTime - voiceOnset;
        output.WriteLine($"room {RoomSeed}, {EchoDelayMs} ms, {VoiceAtMs} ms in: cleared {detectedAfter.TotalMilliseconds:0} ms after the caller's voice began");
        Assert.True(detectedAfter > TimeSpan.Zero && detectedAfter <= BargeInBound,
            $"barge-in detected {detectedAfter.TotalMilliseconds:0} ms after the caller's voice began, bound {BargeInBound.TotalMilliseconds:0} ms; {log}");
    }
}
