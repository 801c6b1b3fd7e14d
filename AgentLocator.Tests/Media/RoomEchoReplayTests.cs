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
}
