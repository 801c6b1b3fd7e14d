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

    /// <summary>
    /// <paramref name="residual"/> as what the canceller left of a -18 dBFS echo (the bot at -12 dBFS), with the speech detector
    /// hearing speech from <paramref name="speechFrom"/> on (never when null). Returns the onset and the end of the frame that fired.
    /// </summary>
    private static (TimeSpan Onset, TimeSpan FiredAt)? RunCancelled(byte[] residual, TimeSpan? speechFrom)
    {
        var bot = Signals.Tone(400, -12, residual.Length / 8);
        var detector = new BargeInDetector();
        for (var offset = 0; offset + 160 <= residual.Length; offset += 160)
        {
            var at = TimeSpan.FromMilliseconds(offset / 8);
            detector.ObservePlayback(bot.AsSpan(offset, 160));
            detector.ObserveEcho(cancelled: true, -18, TimeSpan.FromMilliseconds(20));
            // The speech detector runs after the barge-in detector: it has heard up to the previous frame.
            var speechHeard = speechFrom is { } from && at > from;
            if (detector.Process(residual.AsSpan(offset, 160), at, out var onset, noiseFloorDbfs: -60, speechHeard))
            {
                return (onset, at + TimeSpan.FromMilliseconds(20));
            }
        }

        return null;
    }

    [Fact]
    public void ACallerTheSpeechDetectorConfirmsInterruptsAfterTheShorterRunAndOneOnlyLevelsSpeakForAfterTheFullOne()
    {
        var residual = Signals.Concat(Signals.Silence(1000), Signals.Tone(220, -26, 1000));
        var options = new BargeInOptions();

        var confirmed = RunCancelled(residual, speechFrom: TimeSpan.FromMilliseconds(1000));
        Assert.Equal((TimeSpan.FromMilliseconds(1000), TimeSpan.FromMilliseconds(1000) + options.ConfirmedMinDuration), confirmed);

        var levelsOnly = RunCancelled(residual, speechFrom: null);
        Assert.Equal((TimeSpan.FromMilliseconds(1000), TimeSpan.FromMilliseconds(1000) + options.MinDuration), levelsOnly);
    }

    [Fact]
    public void SpeechHeardForLessThanItTakesToConfirmACallerDoesNotShortenTheRun()
    {
        // The speech detector hears a 40 ms burst, then nothing: the caller's run needs the full minimum duration.
        var residual = Signals.Concat(Signals.Silence(1000), Signals.Tone(220, -26, 1000));
        var bot = Signals.Tone(400, -12, 2000);
        var detector = new BargeInDetector();
        TimeSpan? firedAt = null;
        for (var offset = 0; offset + 160 <= residual.Length && firedAt is null; offset += 160)
        {
            var at = TimeSpan.FromMilliseconds(offset / 8);
            detector.ObservePlayback(bot.AsSpan(offset, 160));
            detector.ObserveEcho(cancelled: true, -18, TimeSpan.FromMilliseconds(20));
            var speechHeard = at > TimeSpan.FromMilliseconds(1000) && at <= TimeSpan.FromMilliseconds(1040);
            if (detector.Process(residual.AsSpan(offset, 160), at, out _, noiseFloorDbfs: -60, speechHeard))
            {
                firedAt = at + TimeSpan.FromMilliseconds(20);
            }
        }

        Assert.Equal(TimeSpan.FromMilliseconds(1300), firedAt);
    }

    /// <summary>
    /// As <see cref="RunCancelled"/>, with the speech detector hearing speech in the frames <paramref name="speech"/> says (by start, ms);
    /// <paramref name="subtracted"/>: whether the echo was taken out of the waveform (false: the spectral model judged the frames).
    /// </summary>
    private static TimeSpan? FiredAtOverCancelledEcho(byte[] residual, Func<int, bool> speech, bool subtracted = true) =>
        FiredOverEcho(residual, (detector, _) => detector.ObserveEcho(cancelled: true, -18, TimeSpan.FromMilliseconds(20), subtracted: subtracted), speech);

    /// <summary>
    /// <paramref name="residual"/> (what the canceller left) frame by frame while a −12 dBFS bot tone plays, the echo cancelled in each frame
    /// as <paramref name="observeEcho"/> tells the detector (given the frame's start, ms), and the speech detector hearing speech in the
    /// frames <paramref name="speech"/> says (by start, ms). Returns the end of the frame that fired.
    /// </summary>
    private static TimeSpan? FiredOverEcho(byte[] residual, Action<BargeInDetector, int> observeEcho, Func<int, bool> speech)
    {
        var bot = Signals.Tone(400, -12, residual.Length / 8);
        var detector = new BargeInDetector();
        for (var offset = 0; offset + 160 <= residual.Length; offset += 160)
        {
            var at = TimeSpan.FromMilliseconds(offset / 8);
            detector.ObservePlayback(bot.AsSpan(offset, 160));
            observeEcho(detector, offset / 8);
            var speechHeard = offset >= 160 && speech(offset / 8 - 20); // heard up to the previous frame
            if (detector.Process(residual.AsSpan(offset, 160), at, out _, noiseFloorDbfs: -60, speechHeard))
            {
                return at + TimeSpan.FromMilliseconds(20);
            }
        }

        return null;
    }

    [Fact]
    public void ACallerConfirmedOnTheirFirstSyllableKeepsTheShorterRunOverThePauseAfterIt()
    {
        // A 100 ms syllable, 120 ms of quiet, then the next word: the speech detector hears the end of the first syllable (60 ms of
        // it, which confirms the caller) and not the pause, nor yet the next word's start. The run is theirs, confirmed: 240 ms of it,
        // half voiced, is enough (the full rule waits for 300 ms, 60 % voiced).
        var residual = Signals.Concat(Signals.Silence(1000), Signals.Tone(220, -26, 100), Signals.Silence(120), Signals.Tone(220, -26, 600));
        var fired = FiredAtOverCancelledEcho(residual, ms => ms is >= 1040 and < 1100);

        Assert.Equal(TimeSpan.FromMilliseconds(1240), fired);
        Assert.Equal(TimeSpan.FromMilliseconds(1300), FiredAtOverCancelledEcho(residual, _ => false));
    }

    [Fact]
    public void SpeechHeardInWhatTheSpectralModelLeftConfirmsOnlyWhileItLasts()
    {
        // The same caller over an echo the spectral model judged (the frame scaled down, not the echo taken out): the speech detector
        // may hear the echo's own speech in what is left, so a moment of it does not carry over the pause.
        var residual = Signals.Concat(Signals.Silence(1000), Signals.Tone(220, -26, 100), Signals.Silence(120), Signals.Tone(220, -26, 600));

        Assert.Equal(TimeSpan.FromMilliseconds(1300), FiredAtOverCancelledEcho(residual, ms => ms is >= 1040 and < 1100, subtracted: false));
    }

    /// <summary>
    /// A caller over the echo a filter not yet proven on this reply took out (<c>provisional</c>): a 100 ms syllable whose first 40 ms
    /// the filter left louder than the echo it predicted (<paramref name="overFirst40Ms"/>), 120 ms of quiet, the next word; the
    /// speech detector hears the syllable's end. Returns the end of the frame that fired.
    /// </summary>
    private static TimeSpan? FiredOverAProvisionalFilter(bool overFirst40Ms)
    {
        var residual = Signals.Concat(Signals.Silence(1000), Signals.Tone(220, -26, 100), Signals.Silence(120), Signals.Tone(220, -26, 600));
        return FiredOverEcho(residual, (detector, ms) => detector.ObserveEcho(cancelled: true, -18, TimeSpan.FromMilliseconds(20), subtracted: false,
            overPrediction: overFirst40Ms && ms is >= 1000 and < 1040, provisional: true), ms => ms is >= 1040 and < 1100);
    }

    [Fact]
    public void SpeechOverAProvisionalFilterConfirmsTheRunOnlyOnceTheRunWasLouderThanTheEcho()
    {
        // With 40 ms the filter left louder than the echo it predicted (a caller's voice standing over it), the speech heard later in the
        // run confirms them for the rest of it, over the pause (as on a proven filter: 1240 ms); without, it confirms only while it lasts
        // (an echo the filter follows badly leaves less than itself, and the speech detector may hear the bot in it): the full rule, 1300.
        Assert.Equal(TimeSpan.FromMilliseconds(1240), FiredOverAProvisionalFilter(overFirst40Ms: true));
        Assert.Equal(TimeSpan.FromMilliseconds(1300), FiredOverAProvisionalFilter(overFirst40Ms: false));
    }

    /// <summary>
    /// A sound of <paramref name="voiceMs"/> over a plain echo (louder than the echo a locked path predicted in it), the speech detector
    /// hearing 80 ms from its start, then a stop of <paramref name="stopMs"/> whose frames the path took the echo out of leaving nothing
    /// (<paramref name="stopHeldTheEchoAlone"/>; otherwise the line's quiet, the path's verdict unknown), then <paramref name="nextWordMs"/>
    /// of voice. Returns the end of the frame that fired.
    /// </summary>
    private static TimeSpan? FiredOverAPlainEchoWithAStop(int voiceMs, int stopMs, int nextWordMs, bool stopHeldTheEchoAlone)
    {
        var residual = Signals.Concat(Signals.Silence(1000), Signals.Tone(220, -26, voiceMs), Signals.Silence(stopMs), Signals.Tone(220, -26, nextWordMs),
            Signals.Silence(400));
        return FiredOverEcho(residual, (detector, ms) => detector.ObserveEcho(cancelled: true, -18, TimeSpan.FromMilliseconds(20),
            echoOnly: stopHeldTheEchoAlone && ms >= 1000 + voiceMs && ms < 1000 + voiceMs + stopMs, overPlainEcho: ms >= 1000 && ms < 1000 + voiceMs),
            ms => ms is >= 1000 and < 1080);
    }

    [Fact]
    public void ACallersStopThatHeldThePlainEchoAloneCompletesTheirConfirmedRunWithTheVoiceHeardSoFar()
    {
        // 160 ms of confirmed voice and 40 ms of the stop make the confirmed run's 200 ms, 80 % voiced: it fires in the stop (1200), not at
        // the next word (1380). A stop of the line's quiet the path did not vouch for is judged as before: at the next word's frames.
        Assert.Equal(TimeSpan.FromMilliseconds(1200), FiredOverAPlainEchoWithAStop(160, 200, 600, stopHeldTheEchoAlone: true));
        Assert.True(FiredOverAPlainEchoWithAStop(160, 200, 600, stopHeldTheEchoAlone: false) > TimeSpan.FromMilliseconds(1360));

        // 40 ms over the echo's prediction (a later reply's echo back sooner than the locked path: barge-in-eval direct seed 5, 320 ms),
        // then the echo alone taken out: the stop counts against the share when the run is judged in it, and 40 of 200 ms is not enough.
        Assert.Null(FiredOverAPlainEchoWithAStop(40, 300, 0, stopHeldTheEchoAlone: true));
    }

    [Fact]
    public void ACallerConfirmedInARunThatEndedDoesNotShortenTheNext()
    {
        // A confirmed "mm" (100 ms), 300 ms of quiet (longer than the gap tolerance: its run ended), then a second of leftover echo
        // that passes the bar every other frame and is never speech: the confirmed rule (200 ms, half voiced) would take it for a
        // caller, the full one (300 ms, 60 % voiced) does not.
        var blips = Enumerable.Range(0, 25).Select(_ => Signals.Concat(Signals.Tone(220, -26, 20), Signals.Silence(20))).ToArray();
        var residual = Signals.Concat([Signals.Silence(1000), Signals.Tone(220, -26, 100), Signals.Silence(300), .. blips, Signals.Silence(200)]);

        Assert.Null(FiredAtOverCancelledEcho(residual, ms => ms is >= 1020 and < 1100));
    }

    [Fact]
    public void BlipsOfLeftoverEchoBeforeTheCallerBeganDoNotHoldTheirBargeInBack()
    {
        // 20 ms blips 180 ms apart (what a canceller leaves of a loud syllable now and then), then the caller from 1100 ms:
        // counted from the first blip, the run is too thin until 1600 ms; counted from where the voice holds, it is enough by 1400.
        var blip = Signals.Concat(Signals.Tone(220, -26, 20), Signals.Silence(160));
        var residual = Signals.Concat(Signals.Silence(700), blip, blip, Signals.Silence(40), Signals.Tone(220, -26, 1000));

        var run = RunCancelled(residual, speechFrom: null);
        Assert.NotNull(run);
        Assert.InRange(run.Value.FiredAt, TimeSpan.FromMilliseconds(1300), TimeSpan.FromMilliseconds(1400));
    }

    /// <summary>
    /// The bot talks for 500 ms (its echo predicted at −18 dBFS), then pauses (no echo predicted), and a caller at −34 dBFS begins
    /// 240 ms into the pause; the levels the canceller reports are the residual's. Returns the end of the frame that fired.
    /// <paramref name="spectral"/>: the spectral echo model predicted the echo (its prediction carries the room's reverberation).
    /// </summary>
    private static TimeSpan? FiredAfterAPauseOfTheBot(bool spectral)
    {
        var bot = Signals.Concat(Signals.Tone(400, -12, 500), Signals.Silence(1500));
        var residual = Signals.Concat(Signals.Silence(740), Signals.Tone(220, -34, 1260));
        var detector = new BargeInDetector();
        for (var offset = 0; offset + 160 <= residual.Length; offset += 160)
        {
            var at = TimeSpan.FromMilliseconds(offset / 8);
            detector.ObservePlayback(bot.AsSpan(offset, 160));
            detector.ObserveEcho(cancelled: true, at < TimeSpan.FromMilliseconds(500) ? -18 : AudioLevel.SilenceDbfs, TimeSpan.FromMilliseconds(20),
                EchoCanceller.AssumedSpectralLeftoverDb, subtracted: !spectral, spectral: spectral);
            if (detector.Process(residual.AsSpan(offset, 160), at, out _, noiseFloorDbfs: -65))
            {
                return at + TimeSpan.FromMilliseconds(20);
            }
        }

        return null;
    }

    /// <summary>
    /// On frames the spectral echo model judged, the remembered echo decays at <see cref="BargeInOptions.SpectralEchoReleaseDbPerSecond"/>
    /// (60 dB/s): a caller 16 dB under the echo, beginning 240 ms into a pause of the bot's speech, is over the bar at once and interrupts
    /// after the full 300 ms run (barge-in-eval room seed 2: such first-reply callers stayed under a bar held at 20 dB/s). Over an echo a
    /// filter or fit took out, the held echo still decays at <see cref="BargeInOptions.PlaybackReleaseDbPerSecond"/>: the same caller is
    /// under the bar for its first 300 ms.
    /// </summary>
    [Fact]
    public void TheEchoHeldOverAPauseDecaysAsTheRoomsReverberationOnSpectralFramesOnly()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(1040), FiredAfterAPauseOfTheBot(spectral: true));

        var held = FiredAfterAPauseOfTheBot(spectral: false);
        Assert.NotNull(held);
        Assert.InRange(held.Value, TimeSpan.FromMilliseconds(1300), TimeSpan.FromMilliseconds(1500));
    }
}
