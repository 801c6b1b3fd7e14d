using AgentLocator.Media;

namespace AgentLocator.Tests.Media;

public class BargeInDetectorTests
{
    /// <summary>Plays <paramref name="bot"/> and feeds <paramref name="caller"/> frame by frame; returns the barge-in onset, if any.</summary>
    private static TimeSpan? Run(BargeInDetector detector, byte[] bot, byte[] caller)
    {
        for (var offset = 0; offset + 160 <= caller.Length; offset += 160)
        {
            if (offset + 160 <= bot.Length)
            {
                detector.ObservePlayback(bot.AsSpan(offset, 160));
            }

            if (detector.Process(caller.AsSpan(offset, 160), TimeSpan.FromMilliseconds(offset / 8), out var onset, noiseFloorDbfs: -60))
            {
                return onset;
            }
        }

        return null;
    }

    [Fact]
    public void EchoOfTheBotsOwnVoiceDoesNotInterrupt()
    {
        var bot = Signals.Tone(400, -12, 3000);
        var echo = Signals.Tone(400, -30, 3000); // 18 dB echo return loss
        Assert.Null(Run(new BargeInDetector(), bot, echo));
    }

    [Fact]
    public void ACallerTalkingOverTheBotInterruptsAfterTheMinimumDuration()
    {
        var bot = Signals.Tone(400, -12, 3000);
        var caller = MuLaw.Encode(Signals.Mix(
            Signals.TonePcm(400, -30, 3000),
            Signals.Delay(Signals.TonePcm(220, -14, 1000), 1000)));
        var detector = new BargeInDetector(new BargeInOptions { MinDuration = TimeSpan.FromMilliseconds(300) });
        Assert.Equal(TimeSpan.FromMilliseconds(1000), Run(detector, bot, caller));
    }

    [Fact]
    public void ABurstShorterThanTheMinimumDurationDoesNotInterrupt()
    {
        var bot = Signals.Tone(400, -12, 3000);
        var caller = Signals.Concat(Signals.Silence(1000), Signals.Tone(220, -10, 200), Signals.Silence(1800));
        Assert.Null(Run(new BargeInDetector(new BargeInOptions { MinDuration = TimeSpan.FromMilliseconds(300) }), bot, caller));
    }

    [Fact]
    public void ACallerAsLoudAsTheVadWantsIsEnoughWhenTheBotIsSilent()
    {
        var caller = Signals.Concat(Signals.Silence(500), Signals.Tone(220, -30, 600));
        var detector = new BargeInDetector();
        Assert.Equal(TimeSpan.FromMilliseconds(500), Run(detector, Signals.Silence(1100), caller));
        // It fires once per playback until re-armed.
        Assert.False(detector.Process(Signals.Tone(220, -30, 20), TimeSpan.FromSeconds(2), out _));
        detector.Reset();
        Assert.Equal(TimeSpan.FromMilliseconds(500), Run(detector, Signals.Silence(1100), caller));
    }

    [Fact]
    public void ThePlaybackLevelIsHeldThenReleased()
    {
        var detector = new BargeInDetector(new BargeInOptions { PlaybackReleaseDbPerSecond = 20 });
        detector.ObservePlayback(Signals.Tone(400, -12, 20));
        Assert.InRange(detector.PlaybackLevelDbfs, -12.5, -11.5);
        for (var i = 0; i < 50; i++)
        {
            detector.ObservePlayback(Signals.Silence(20));
        }

        Assert.InRange(detector.PlaybackLevelDbfs, -32.5, -31.5);
    }

    /// <summary>A caller 14 dB under the bot (8 dB under what the old rule wants) over what the canceller left of a -18 dBFS echo.</summary>
    private static TimeSpan? RunOverCancelledEcho(bool cancelled)
    {
        var bot = Signals.Tone(400, -12, 3000);
        var residual = MuLaw.Encode(Signals.Mix(Signals.TonePcm(400, -50, 3000), Signals.Delay(Signals.TonePcm(220, -26, 2000), 1000)));
        var detector = new BargeInDetector();
        for (var offset = 0; offset + 160 <= residual.Length; offset += 160)
        {
            detector.ObservePlayback(bot.AsSpan(offset, 160));
            detector.ObserveEcho(cancelled, cancelled ? -18 : AudioLevel.SilenceDbfs, TimeSpan.FromMilliseconds(20));
            if (detector.Process(residual.AsSpan(offset, 160), TimeSpan.FromMilliseconds(offset / 8), out var onset, noiseFloorDbfs: -60))
            {
                return onset;
            }
        }

        return null;
    }

    [Fact]
    public void WithTheEchoCancelledACallerUnderTheBotsLevelInterruptsAndWhatIsLeftOfTheEchoDoesNot()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(1000), RunOverCancelledEcho(cancelled: true));
        Assert.Null(RunOverCancelledEcho(cancelled: false));
    }
}
