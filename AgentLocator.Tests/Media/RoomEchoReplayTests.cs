using AgentLocator.Media;
using AgentLocator.Tests.SpeechDetection;

namespace AgentLocator.Tests.Media;

/// <summary>
/// barge-in-eval calls over a room's echo (<see cref="AgentLocator.Testing.Audio.EchoPathModel.Room"/>), replayed as the line carried
/// them (<see cref="FirstSoundTests.Replay"/>): the echo check before a barge-in fires (<see cref="EchoCanceller.ExplainsRecentAudioAsEcho"/>)
/// on a later reply, the adaptive filter converged.
/// </summary>
public sealed class RoomEchoReplayTests(SileroModelFixture silero) : IClassFixture<SileroModelFixture>
{
    [Fact]
    public void ALaterRepliesEchoAloneFittedAtTheWaveformsDelayWithinABlockOfTheEnvelopesIsNotACaller()
    {
        // barge-in-eval room seed 4, 250 ms, long call, replies 72 and 73 of 87 (10.5 s from 1.3 s before reply 72; the reference is the
        // audio the session scheduled). Reply 73's echo came back 2000 samples late (reply 72's at 2263), 230 ms in; the filter, converged,
        // judged it and Silero heard speech in it, so the echo check ran 479 ms into the reply on its first 230 ms of echo. The envelope
        // search and the spectral model's delay in use both said 2080 samples (10 ms after the echo): fitted there, the onsets of two
        // syllables stood 17-19 dB over the fit in 4 band-frames (780-1090 and 1560-1720 Hz; 3 are double talk), and the echo alone
        // interrupted the reply. The window's waveform search said 2065 (0.54), within a block (32 samples) of 2080, so it was not
        // tried: fitted there (or at the echo's 2000) the window is the echo alone (0-1 such band-frames, 1-4 % unexplained).
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = FirstSoundTests.Replay("eval_line_room_echo_onset", replyStarts: [1280, 79040], marksBackAt: 65600, speech);

        Assert.True(run.Listener.Echo.Adaptive is { Converged: true }, "the adaptive filter had not converged");
        Assert.Empty(run.BargeIns);
    }

    [Theory]
    [InlineData("eval_line_room_pause_180")]
    [InlineData("eval_line_room_pause_320")]
    public void AFirstRepliesEchoResumingAfterAPauseIsNotACallerInTheBandsTheWindowsFitLeftOut(string clip)
    {
        // barge-in-eval --lead-in 0 room seed 1, first replies, 180 ms (call 38, echo 1539 samples late) and 320 ms (call 13, 2653): the
        // same two sentences, the question played as the stream connects, 1.6 s from the call's start (the reference is the audio the session
        // scheduled). The bot paused 300 ms between them; 340 ms after the second one's echo came back, the echo alone, over the bar on spectral
        // frames, interrupted the reply (1380 and 1520 ms into it). The echo check's fit over its 400 ms at the delay in use explained all but 4 %
        // (no frame mostly unexplained, no held-out excess, no foreign pitch), but left 3 band-frames 12 dB under what came in (2.5-2.66 kHz
        // and 1.1-1.25 kHz in the sentence's third to fifth loud frames): double talk. A third of the window was the pause, so each band's two
        // gains were fitted on 13 frames of the sentence's onset, and in those bands one came out 0 (the reverberation, or the direct echo):
        // 14-24 dB under. The gains the model had tracked at that delay since it adopted it, 760 and 1080 ms before (on the first sentence), predict
        // those band-frames within 1-4 dB. A band-frame is a caller's only when it stands 12 dB over both.
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = FirstSoundTests.Replay(clip, replyStarts: [0], marksBackAt: 0, speech);

        Assert.True(run.Listener.Echo.Reverberant, "the line was not taken for a room's echo");
        Assert.Empty(run.BargeIns);
    }
}
