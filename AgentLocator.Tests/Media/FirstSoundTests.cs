using AgentLocator.Media;
using AgentLocator.MediaWorker.SpeechDetection;
using AgentLocator.Testing.Audio;
using AgentLocator.Tests.RealTime;
using AgentLocator.Tests.SpeechDetection;

namespace AgentLocator.Tests.Media;

/// <summary>
/// A reply's first sound after a quiet line (<see cref="EchoReturnBound"/>, <see cref="BargeInListener"/>): the quiet proves the
/// least delay the echo can have; a first sound that matches the bot's audio at no such delay, and is speech, is a caller who began
/// before the echo came back. Both sides: such a caller at the echo's level interrupts the first reply within 400 ms; the echo itself,
/// as the first sound, is never taken for a caller, also when the worker's reference ran ahead of the line and was moved back mid-reply.
/// </summary>
public sealed class FirstSoundTests(SileroModelFixture silero) : IClassFixture<SileroModelFixture>
{
    private const int Frame = 160;
    private const double EchoGain = 0.5; // −6 dB
    private const double NoiseFloor = -65;

    private static byte[] Prompt(string key) => RealTimeScenarios.Prompts[key].MuLaw.ToArray();

    /// <summary>Three of the receptionist's questions back to back, as one reply (4-5 s).</summary>
    private static byte[] Reply => [.. Prompt(PromptKeys.AskName), .. Prompt(PromptKeys.AskReason), .. Prompt(PromptKeys.AskCallbackTime)];

    [Fact]
    public void AQuietLineWhileTheBotTalksProvesTheEchosLeastDelay()
    {
        var bound = new EchoReturnBound(); // bot loud from frame 10; the line quiet until frame 40
        for (var f = 0; f < 60; f++)
        {
            bound.Observe(f >= 10 ? -20 : AudioLevel.SilenceDbfs, f >= 40 ? -30 : -65, NoiseFloor);
            if (f == 40)
            {
                Assert.Equal(0, bound.FramesSinceSound);
            }
        }

        Assert.Equal(TimeSpan.FromMilliseconds(30 * 20) - EchoReturnBound.Slack, bound.Delay);
        Assert.Equal(TimeSpan.FromMilliseconds(40 * 20), bound.QuietBefore);
        Assert.Equal(19, bound.FramesSinceSound);
    }

    [Fact]
    public void NoDelayIsProvedWhenTheLineWasNotQuietBeforeTheBotsAudio()
    {
        var bound = new EchoReturnBound(); // the line loud until 60 ms before the bot's audio: its echo may have been there
        for (var f = 0; f < 60; f++)
        {
            bound.Observe(f >= 10 ? -20 : AudioLevel.SilenceDbfs, f is < 7 or >= 40 ? -30 : -65, NoiseFloor);
        }

        Assert.Equal(TimeSpan.Zero, bound.Delay);
        Assert.Equal(TimeSpan.FromMilliseconds(33 * 20), bound.QuietBefore);
    }

    [Fact]
    public void BotAudioTooSoftForItsEchoToShowProvesNothingAndJudgesNoFirstSound()
    {
        var bound = new EchoReturnBound(); // the bot at −45 dBFS: an echo 25 dB down would hide in the line's noise
        for (var f = 0; f < 60; f++)
        {
            bound.Observe(f >= 10 ? -45 : AudioLevel.SilenceDbfs, f >= 40 ? -30 : -65, NoiseFloor);
        }

        Assert.Equal(-1, bound.FramesSinceSound);
        Assert.Equal(TimeSpan.Zero, bound.Delay);
    }

    [Theory]
    [InlineData(200)]
    [InlineData(300)]
    public void ACallerWhoBeginsBeforeTheFirstRepliesEchoComesBackInterruptsWithin400Ms(int onsetMs)
    {
        // Not every caller's first 100 ms match the bot's audio this little at every delay the echo could have (by chance, the other
        // callers' fixtures reach 0.26-0.51): those are judged by the level rule, as before.
        var answer = RealTimeLineScenarios.AtEchoLevel("caller_reason_he.wav");
        var callerAt = 8 * onsetMs - RealTimeScenarios.VoiceStart(answer); // the voice begins onsetMs into the first reply, whose echo is 450 ms late
        var run = Run(Reply, echoDelay: 8 * 450, answer, callerAt);

        Assert.True(run.Listener.CallersFirst == 1, $"the first sound correlated {run.Listener.FirstSoundCorrelation:F2} with the bot's audio: not taken for a caller");
        Assert.InRange(run.Listener.FirstSoundCorrelation, 0, BargeInListener.FirstSoundCallerCorrelation);
        AssertInterruptedWithin400Ms(run, callerAt, answer);
    }

    [Theory]
    [InlineData(60, false)]
    [InlineData(250, false)]
    [InlineData(450, false)]
    [InlineData(60, true)]
    [InlineData(180, true)]
    [InlineData(320, true)]
    public void TheEchoAsTheFirstRepliesFirstSoundIsNeverTakenForACaller(int echoDelayMs, bool digitalSilence)
    {
        // The speech detector hears speech all along (the echo is speech): only the match with the bot's audio tells. On a line of
        // digital silence (as the call simulator's) the echo of the reply's faintest first samples must not be the sound judged.
        var run = Run(Reply, echoDelay: 8 * echoDelayMs, noiseDbfs: digitalSilence ? null : -65);

        Assert.Equal(0, run.Listener.CallersFirst);
        Assert.True(run.Listener.FirstSoundCorrelation >= 0.9, $"the echo's first sound correlated {run.Listener.FirstSoundCorrelation:F2}");
        Assert.Empty(run.BargeIns);
    }

    [Theory]
    [InlineData(60)]
    [InlineData(320)]
    public void TheEchoIsNotTakenForACallerWhenTheReferenceRanAheadOfTheLineAndWasMovedBack(int echoDelayMs)
    {
        // The worker anchored the reply 100 ms before the line began it (its start mark came back before its audio) and the first
        // chunk's late mark moved the rest 100 ms later, 200 ms in: the reference repeats 100 ms of audio, and the echo's apparent
        // delay shrinks by 100 ms mid-reply.
        var run = Run(Reply, echoDelay: 8 * echoDelayMs, referenceLead: 8 * 100, leadCorrectedAt: 8 * 200);

        Assert.Equal(0, run.Listener.CallersFirst);
        Assert.Empty(run.BargeIns);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ACallerWhoSpokeFirstIsJudgedOverTheNoiseUntilTheyPause(bool pauseAfterOneSyllable)
    {
        // The bot at −20 dBFS: the level rule's bar is −30 dBFS; the caller at −35 dBFS is under it, but well over the line's noise.
        var detector = new BargeInDetector();
        var frame = TimeSpan.FromMilliseconds(20);
        var fired = new List<int>();
        var levels = Enumerable.Repeat(-35.0, 5)
            .Concat(Enumerable.Repeat(pauseAfterOneSyllable ? -65.0 : -35.0, 12))
            .Concat(Enumerable.Repeat(-35.0, 30)).ToArray();
        for (var f = 0; f < levels.Length; f++)
        {
            detector.ObservePlaybackLevel(-20, frame);
            if (detector.ProcessLevel(levels[f], frame * f, frame, out _, NoiseFloor))
            {
                fired.Add(f);
            }

            if (f == 4)
            {
                Assert.True(detector.ThresholdDbfs(NoiseFloor) > -35, "the level rule's bar");
                detector.CallerFirst(TimeSpan.Zero, NoiseFloor); // the first sound, 100 ms of it, matched no delay the echo could have
                Assert.True(detector.ThresholdDbfs(NoiseFloor) < -45, "the bar over the noise");
            }
        }

        if (pauseAfterOneSyllable)
        {
            // 240 ms of quiet ended it: the sound that comes after (the echo, as far as anyone knows) is held to the level rule.
            Assert.False(detector.CallerSpokeFirst);
            Assert.Empty(fired);
        }
        else
        {
            Assert.Equal([14], fired); // 300 ms from the onset
        }
    }

    [Fact]
    public void ACallerFoundToHaveSpokenFirstInAPauseInterruptsAtOnceWhenTheirVoiceSoFarIsEnough()
    {
        // The bot at −20 dBFS: the level rule's bar is −30 dBFS, the caller at −35 dBFS under it for 320 ms, then a pause between words.
        // Only in the pause does it turn out they spoke first (the echo, fitted, showed what their first sound was): their 320 ms since
        // the onset, judged again over the noise, are a barge-in now, not at their next syllable.
        var detector = new BargeInDetector();
        var frame = TimeSpan.FromMilliseconds(20);
        var fired = new List<int>();
        var levels = Enumerable.Repeat(-35.0, 16).Concat(Enumerable.Repeat(-65.0, 8)).Concat(Enumerable.Repeat(-35.0, 10)).ToArray();
        for (var f = 0; f < levels.Length; f++)
        {
            detector.ObservePlaybackLevel(-20, frame);
            if (f == 17)
            {
                detector.CallerFirst(TimeSpan.Zero, NoiseFloor); // as the listener calls it, before the frame is judged
            }

            if (detector.ProcessLevel(levels[f], frame * f, frame, out _, NoiseFloor))
            {
                fired.Add(f);
            }
        }

        Assert.Equal([17], fired);
    }

    [Theory]
    [InlineData("caller_yes_he.wav", 450, 240)]
    [InlineData("caller_yes_he.wav", 450, 340)]
    [InlineData("caller_yes_he.wav", 320, 220)]
    [InlineData("caller_reason_he.wav", 450, 400)]
    public void ACallersFirstSoundIsNotMatchedAtADelayWhereTheBotWasTooQuietToHaveMadeIt(string clip, int echoDelayMs, int onsetMs)
    {
        // At the delays that reach back to before the reply began, the bot's audio is silence with its first sound at one end: a
        // waveform correlation there weighs a few of the caller's samples against that little of the bot's, and these callers matched
        // 0.29-0.37 by chance (a short "ken" was then held to the level rule and missed altogether). An echo is no louder than the
        // bot's audio it echoes (20 dB of room), so a delay where some frame of the sound is louder than that is not the echo's.
        var answer = RealTimeLineScenarios.AtEchoLevel(clip);
        var callerAt = 8 * onsetMs - RealTimeScenarios.VoiceStart(answer);
        var run = Run(Reply, echoDelay: 8 * echoDelayMs, answer, callerAt);

        Assert.True(run.Listener.CallersFirst == 1, $"the first sound correlated {run.Listener.FirstSoundCorrelation:F2} with the bot's audio: not taken for a caller");
        AssertInterruptedWithin400Ms(run, callerAt, answer);
    }

    [Fact]
    public void ACallerWhoBeginsAsTheFirstRepliesEchoIsDueIsNotJudgedAgainstASpectralFitOfTheirOwnVoice()
    {
        // barge-in-eval direct seed 2, 320 ms (+30 ms of jitter), utterance 1: the reply (the eval's bot voice, espeak-ng -p 70 -s 160,
        // its first sound 170 ms in) echoes 2803 samples late, and the caller, at the echo's level, begins 2743 samples into it, 60
        // samples before the echo is due and 170 ms before the echo's first sound. Their first 100 ms match the bot's audio at no delay
        // the echo could have: they spoke first. But the spectral model's first-reply fit takes their voice for the echo's onset (at a
        // delay where the bot's first sound lines up with it) and, its gains scaled to their level, predicts 6-12 dB more echo than
        // the whole frame holds once the bot's audio is due: judged over that prediction they were heard 10-20 dB under the bar and
        // interrupted only 657 ms after their voice began, on the fit's later frames. A prediction louder than the frame is not the
        // echo: such frames are judged as they came, and the caller interrupts within 400 ms (297).
        var reply = RealTimeScenarios.Audio("eval_bot_reply_p70_he.wav"); // the reply's first 1.5 s
        var answer = RealTimeScenarios.Audio("eval_caller_plumber_he.wav"); // the eval's utterance 1 at its level (the bot's active level − 6 dB), first 1.5 s
        const int callerAt = 2743;
        var run = Run(reply, echoDelay: 2803, answer, callerAt, quietMs: 1000, noiseSeed: 2);

        Assert.Equal(1, run.Listener.CallersFirst);
        Assert.True(run.Listener.SpectralPredictionsDistrusted > 0, "no spectral prediction louder than the frame: the case this reproduces did not arise");
        AssertInterruptedWithin400Ms(run, callerAt, answer);
    }

    [Theory]
    [InlineData(450, 400, 260)]
    [InlineData(320, 260, 260)]
    public void ACallerWhoseFirstSyllableTheSpeechDetectorHearsOnlyOnceTheEchoHasComeBackStillSpokeFirst(int echoDelayMs, int onsetMs, int deafMs)
    {
        // The speech detector hears nothing of the caller's soft first syllable for deafMs, within the 300 ms it is given, but by then
        // the echo (back 50-60 ms after the onset) is taken out by the canceller: the first sound matched the bot's audio at no delay the echo could have,
        // so the caller began it all the same (barge-in-eval direct seed 1, a caller 51 ms before a 450 ms echo: 421 ms, now within 400).
        var answer = RealTimeLineScenarios.AtEchoLevel("caller_reason_he.wav");
        var callerAt = 8 * onsetMs - RealTimeScenarios.VoiceStart(answer);
        var run = Run(Reply, echoDelay: 8 * echoDelayMs, answer, callerAt, speechDeafUntil: 8 * (onsetMs + deafMs));

        Assert.InRange(run.Listener.FirstSoundCorrelation, 0, BargeInListener.FirstSoundCallerCorrelation);
        Assert.True(run.SpeechOnCancelledFrame == true, "the speech detector first heard the caller on a frame the canceller took the echo out of");
        Assert.Equal(1, run.Listener.CallersFirst);
        AssertInterruptedWithin400Ms(run, callerAt, answer);
    }

    [Fact]
    public void ACallerWhoseSoftFirstSyllableSileroHearsOnlyAfter300MsStillSpokeFirst()
    {
        // barge-in-eval direct seed 2, 320 ms (+22 ms of jitter), utterance 18 ("mezeg ha'avir...", a soft "m" at the echo's level):
        // the caller begins 2882 samples into the call's first reply, whose echo is 2737 samples late and whose first sound comes back
        // 120 ms after theirs. Their first 100 ms match the bot's audio at no delay the echo could have (0.13), but Silero hears speech
        // only in "ha'avir", 380 ms after their voice began: past the 300 ms the first sound was given, it was taken for the echo's,
        // and the caller, held to the level rule and then to the fitted echo, interrupted 520 ms after their voice began.
        var reply = RealTimeScenarios.Audio("eval_bot_reply_p70_he.wav"); // the reply's first 1.5 s (the same three sentences begin it)
        var answer = RealTimeScenarios.Audio("eval_caller_weather_he.wav"); // the eval's utterance 18 at its level (the bot's active level − 6 dB), first 1.5 s
        const int callerAt = 2882;
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = Run(reply, echoDelay: 2737, answer, callerAt, quietMs: 1000, noiseSeed: 2, speech: speech);

        Assert.InRange(run.Listener.FirstSoundCorrelation, 0, BargeInListener.FirstSoundCallerCorrelation);
        Assert.Equal(1, run.Listener.CallersFirst);
        AssertInterruptedWithin400Ms(run, callerAt, answer);
    }

    [Fact]
    public void ACallerWhoseFirstSoundTheFirstRepliesPlainEchoJoinedStillSpokeFirst()
    {
        // barge-in-eval direct seed 2, 320 ms (+35 ms of jitter), utterance 19 ("shamati...", at the echo's level): the caller begins
        // 3859 samples into the call's first reply, whose echo is 2842 samples late; the echo's first syllable comes back 20 ms after
        // their voice, and their first 100 ms, the two together, match the bot's audio at 0.63 at best: as a room's echo might (0.3-0.5
        // and up), not as a plain echo does (1). Held to the bot's playback level, then paused as the echo was fitted, they interrupted
        // 578 ms after their voice began. Once a fit takes 94 % of the echo out of a frame, the echo is a plain copy, and a first sound
        // that matched it under 0.8 was not the echo alone: the caller began it, and the run since their onset is judged so.
        var reply = RealTimeScenarios.Audio("eval_bot_reply_p70_he.wav"); // the reply's first 1.5 s (the same three sentences begin it)
        var answer = RealTimeScenarios.Audio("eval_caller_restaurant_he.wav"); // the eval's utterance 19 at its level, first 1.5 s
        const int callerAt = 3859;
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = Run(reply, echoDelay: 2842, answer, callerAt, quietMs: 1000, noiseSeed: 2, speech: speech);

        Assert.InRange(run.Listener.FirstSoundCorrelation, BargeInListener.FirstSoundCallerCorrelation, BargeInListener.PlainEchoFirstSoundCorrelation);
        Assert.Equal(1, run.Listener.CallersFirst);
        AssertInterruptedWithin400Ms(run, callerAt, answer);
    }

    [Fact]
    public void ACallersStopOverAPlainEchoTakenOutDoesNotCountAgainstTheirVoice()
    {
        // Utterance 18 ("mezeg ha'avir...", at the echo's level) 2.64 s into a reply whose plain echo, 180 ms late, the canceller has
        // locked onto: a soft "me-z" (80 ms voiced, in a pause of the bot's speech: louder than the echo predicted there), then a stop
        // of 140 ms in which the line carries the echo alone, taken out 25-35 dB, then "ha'avir". Silero hears 60 ms of speech on end only
        // in "ha'avir", so the run is held to 60 % voiced: with the stop counted against it that came 420 ms after their voice began
        // (barge-in-eval direct seeds 1-3: three such callers at 423-437 ms). A frame that held nothing but the echo, in a run whose voice
        // has stood over the echo, is the caller's stop, not a dip in their voice: 340 ms.
        var answer = RealTimeLineScenarios.AtEchoLevel("eval_caller_weather_he.wav");
        var callerAt = 8 * 2640 - RealTimeScenarios.VoiceStart(answer);
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = Run(Reply, echoDelay: 8 * 180, answer, callerAt, speech: speech);

        Assert.Equal(0, run.Listener.CallersFirst); // judged over the locked echo, not as a reply's first sound
        AssertInterruptedWithin400Ms(run, callerAt, answer);
    }

    [Fact]
    public void ACallerWhoBeginsALaterReplyUnderItsPlainEchoSpokeFirstOnALineWhosePathIsLocked()
    {
        // barge-in-eval direct seed 1, 450 ms, a later reply, utterance 11, replayed as the line carried it (from the call's start, 1 s
        // before its first reply, to 600 ms into the caller's voice, mu-law; the reference is the audio the worker scheduled). The first reply locked
        // the plain echo's path at 3789 samples; the next one's echo came back at 3850 (Twilio's jitter differs reply to reply), faint
        // for its first 450 ms, under the caller, who began 65 ms into it. Their first 100 ms matched the bot's audio at 0.22 at best:
        // as a room's echo might, not as a plain echo does, so the listener waited for the echo to show itself a plain copy, which a
        // caller talking over it leaves no frame of the echo alone to show until its first loud syllable: 413 ms (553 in the eval before
        // it armed the listener for later replies). The line had shown it already: a path locked on it. Their first sound is not the
        // echo, and they spoke first.
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = Replay("eval_line_locked_later_reply", replyStarts: [8000, 57920], marksBackAt: 48160, speech);

        Assert.True(run.Listener.Echo.IsLocked);
        Assert.InRange(run.Listener.FirstSoundCorrelation, BargeInListener.FirstSoundCallerCorrelation, BargeInListener.PlainEchoFirstSoundCorrelation);
        Assert.Equal(1, run.Listener.CallersFirst);
        AssertFiredWithin400Ms(run, onset: 62294);
    }

    [Fact]
    public void ACallersStopInAPauseOfTheBotsSpeechDoesNotCountAgainstTheirVoice()
    {
        // barge-in-eval direct seed 3, 320 ms, a later reply, utterance 18 ("mezeg ha'avir...", at the echo's level) 1073 ms into it,
        // replayed as the line carried it (from the call's start to 500 ms into the caller's voice). The canceller has the
        // plain echo's path locked: "me-z" over the echo (louder than the echo predicted in it), then their stop, 140 ms, where the bot
        // paused (no echo due at the path's delay: the line holds its quiet), then "ha'avir". Silero hears nothing for 400 ms, so the run
        // is held to 60 % voiced, and with the stop counted against it that came 438 ms after their voice (518 in the eval before it
        // armed the listener for later replies). A frame of the line's quiet
        // where the path says no echo is due held the echo, none, alone: the caller's stop, as a frame whose echo was taken out is.
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = Replay("eval_line_stop_in_bot_pause", replyStarts: [8000, 68320], marksBackAt: 55040, speech);

        Assert.Equal(0, run.Listener.CallersFirst); // judged over the locked echo, not as a reply's first sound
        AssertFiredWithin400Ms(run, onset: 76980);
    }

    [Fact]
    public void ACallerWhoBeginsAtTheEchosOnsetSpokeFirstOnceAFitTakesThePlainEchoOutOnALineTakenForReverberant()
    {
        // barge-in-eval direct seed 4, 320 ms, a first reply, utterance 1, 387 ms into it, replayed as the line carried it (from the
        // call's start to main's barge-in, 692 ms after the caller's voice). The plain echo's faint onset came 67 ms before the caller:
        // their first 100 ms matched the bot's audio at 0.47 (as a room's echo might), so the listener waited for the echo to show
        // itself a plain copy. The line was quiet until the echo arrived and the spectral model explained what came in (its gains taken
        // from the caller's voice), so the canceller took the line for reverberant, and a waveform fit that took the echo out 30-36 dB
        // from 212 ms on did not count: the caller's first syllable ended, and the level rule waited for their second. A fit leaving
        // 24 dB under the echo shows a plain copy on such a line too.
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = Replay("eval_line_caller_at_echo_onset", replyStarts: [8000], marksBackAt: 8000, speech);

        Assert.True(run.Listener.Echo.Reverberant);
        Assert.InRange(run.Listener.FirstSoundCorrelation, BargeInListener.FirstSoundCallerCorrelation, BargeInListener.PlainEchoFirstSoundCorrelation);
        Assert.Equal(1, run.Listener.CallersFirst);
        AssertFiredWithin400Ms(run, onset: 11096);
    }

    [Fact]
    public void ACallerOverALaterRepliesEchoThatCameBackAtANewDelayKeepsTheirVoiceHeardSinceThatDelayWasTakenOut()
    {
        // barge-in-eval direct seed 6, 320 ms, a later reply, utterance 16 (8.36 s: the call's start to 600 ms into the caller's
        // voice). The first reply locked the plain echo's path at 2600 samples; the later reply's came back at 2689 (Twilio's jitter),
        // out of the locked filter's reach, so its first 120 ms went uncancelled (a frame of it over the level rule's bar) until a
        // search found 2689 and the fits there took it out, 23-37 dB. The caller, 20 dB under the echo, began 190 ms into it: Silero
        // heard them over the fits, and 120 ms of their voice with that echo frame 60 ms before made a run. The echo check's window
        // (400 ms, from 310 ms before their voice) matched the bot's audio at 2689 (0.996), fitted only from 60 % of the window on:
        // the echo, rightly (the run counted its frame). But the run was forgotten whole, the caller's 120 ms over the fits with it, and
        // they interrupted only at their next syllable, 409 ms after their voice. Only the frames before the fits at 2689 are forgotten
        // now: their voice since is judged again as it was, and they interrupt 229 ms after it. Not a first sound: judged over the echo.
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = Replay("eval_line_locked_path_moved", replyStarts: [8000, 57760], marksBackAt: 48320, speech);

        Assert.True(run.Listener.Echo.IsLocked && !run.Listener.Echo.Reverberant, "the line's plain path was not locked");
        Assert.Equal(1, run.Listener.EchoRejections);
        AssertFiredWithin400Ms(run, onset: 62005);
    }

    [Fact]
    public void ACallerWhoBeginsWithThePlainEchoSpokeFirstOnceAStretchOfTheEchoShowsItsDelay()
    {
        // barge-in-eval direct seed 3, 450 ms, a first reply, utterance 12, 473 ms into it, replayed as the line carried it (from the call's
        // start to main's barge-in, 406 ms after the caller's voice). The caller began 10 ms before the plain echo (3869 samples late), at
        // its level: their first 100 ms matched the bot's audio at 0.30 at best (as a room's echo might), so the listener waited for the
        // echo to show itself a plain copy. The delay search, over 800 ms whose envelope the caller's onset led, peaked at 2900 and 3290
        // samples; nothing took the echo out, and the level rule judged the caller. 40 ms where the echo stood over their voice (170-210 ms
        // in) matched the bot's audio at 0.95 at 3869: fitted there, the echo came out 12 dB, a plain copy, and the caller spoke first.
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = Replay("eval_line_caller_leads_delay_search", replyStarts: [8000], marksBackAt: 8000, speech);

        Assert.InRange(run.Listener.FirstSoundCorrelation, BargeInListener.FirstSoundCallerCorrelation, BargeInListener.PlainEchoFirstSoundCorrelation);
        AssertFiredWithin400Ms(run, onset: 11790);
        Assert.Equal(1, run.Listener.CallersFirst);
        Assert.Contains(run.Listener.Echo.PlausibleDelays, delay => Math.Abs(delay - 3869) <= 2);
    }

    [Fact]
    public void ACallersStopUnderAPlainEchoCompletesTheirRunWithoutWaitingForTheirNextSyllable()
    {
        // barge-in-eval direct seed 4, 450 ms, a first reply, utterance 5, 451 ms into it, replayed as the line carried it (from the call's
        // start to main's barge-in, 409 ms after the caller's voice). The plain echo came first (its first sound matched at 0.99: the
        // echo's) and a fit took it out from 48 ms on; the caller's faint first 60 ms stood 10 dB under it, then 160 ms of their voice over
        // it (Silero confirming it), then a stop of 60 ms in which the fit took the echo out 35 dB: the line held the echo alone. The run
        // had 160 ms of voice and, with its stop, 200 ms (ConfirmedMinDuration), but was judged only on a voiced frame: the caller's next
        // syllable, 409 ms after their voice. A frame that held the echo alone in such a run is judged as a voiced one is, the stop
        // counted against the share: 160 of 200 ms voiced, 369 ms.
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = Replay("eval_line_caller_stop_under_echo", replyStarts: [8000], marksBackAt: 8000, speech);

        Assert.True(run.Listener.FirstSoundCorrelation >= BargeInListener.PlainEchoFirstSoundCorrelation);
        Assert.Equal(0, run.Listener.CallersFirst);
        AssertFiredWithin400Ms(run, onset: 11611);
    }

    [Fact]
    public void ASoftCallersVoicedFirstSoundIsTheirsOnceTheEchoShowsItselfPlainBeforeTheSpeechDetectorHearsThem()
    {
        // barge-in-eval direct seed 5, 450 ms (echo 3814 samples late), a first reply, utterance 3 ("ha-mispar sheli...", at the echo's
        // level), 542 ms into it, replayed as the line carried it (from the call's start, 1 s before the reply, to main's barge-in). Their
        // first 100 ms (-37 to -30 dBFS) matched the bot's audio at 0.15 at best: not the echo, a caller's once the speech detector hears
        // speech in it within 500 ms. Silero heard nothing in their soft first syllables until 537 ms, past the window, and the level rule
        // let them through at 718 ms. The first sound repeated at a pitch period (voice, not a knock or a rustle), and from 377 ms on fits
        // took the echo out 25-33 dB: a plain copy, which alone would have matched about 1. Their run since the onset is judged at once.
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = Replay("eval_line_soft_voiced_caller", replyStarts: [8000], marksBackAt: 8000, speech);

        Assert.InRange(run.Listener.FirstSoundCorrelation, 0, BargeInListener.FirstSoundCallerCorrelation);
        Assert.Equal(1, run.Listener.CallersFirst);
        AssertFiredWithin400Ms(run, onset: 12340);
    }

    [Theory]
    [InlineData("eval_line_caller_before_faint_echo", 11415)]
    [InlineData("eval_line_caller_matching_by_chance", 10743)]
    public void ACallerWhoseFirstSoundMatchedAsARoomsEchoMightSpokeFirstOnceAStretchOfThePlainEchoShowsItsDelay(string clip, int onset)
    {
        // barge-in-eval direct seed 5, first replies, replayed as the line carried them (from the call's start, 1 s before the reply, to
        // the barge-in before 40 ms stretches were searched). 320 ms (echo 2793 samples late), utterance 13, 426 ms into the reply: the plain
        // echo's faint onset joined the last frames of the caller's first 100 ms, which matched the bot's audio at 0.27; 450 ms (3820),
        // utterance 9, 342 ms in: the echo came back 134 ms after the caller's voice, and their first 100 ms alone matched at 0.28 by chance.
        // Both over 0.2, as a room's echo might match, so the listener waited for the echo to show itself a plain copy; the canceller's
        // search, over 800 ms the caller's voice filled, found no delay while the echo was faint beside them: 413 and 457 ms. A 40 ms
        // stretch of the echo over their voice matches the bot's audio at its delay; fitted there, it shows itself plain.
        using var speech = silero.Factory.Create(TimeSpan.FromMilliseconds(550));
        var run = Replay(clip, replyStarts: [8000], marksBackAt: 8000, speech);

        Assert.InRange(run.Listener.FirstSoundCorrelation, BargeInListener.FirstSoundCallerCorrelation, BargeInListener.PlainEchoFirstSoundCorrelation);
        Assert.Equal(1, run.Listener.CallersFirst);
        AssertFiredWithin400Ms(run, onset);
    }

    [Theory]
    [InlineData("hum100", -40, 180)]
    [InlineData("hum100", -35, 450)]
    [InlineData("buzz120", -35, 180)]
    [InlineData("note220", -35, 180)]
    [InlineData("note147", -35, 180)]
    [InlineData("melody", -35, 450)]
    [InlineData("ring", -35, 180)]
    public void APeriodicSoundTheSpeechDetectorHearsNoSpeechInIsNotACallersFirstSound(string sound, double dbfs, int echoDelayMs)
    {
        // A first reply's plain echo (6 dB down) on a quiet line, and in the caller's room a sound that repeats at a period, from 80 ms
        // before the echo comes back to the reply's end: mains hum (100 Hz sawtooth, 120 Hz buzz), a held note, a melody of held notes,
        // a phone's ring. Its first 100 ms match the bot's audio at no delay and repeat at a period frame after frame, and the echo then
        // shows itself a plain copy; the speech detector hears no speech in it. A voice's pitch glides from frame to frame; these keep
        // one period (a melody's note for 300 ms): not a caller's first sound. Each of these was, before VoicePitchMove (barge-in at
        // 400-660 ms). What the level rule makes of the sound later (it lets these through 500-780 ms into the reply, with or without
        // the first-sound rule) is not the first sound's judgement. Silero, as the speech detector, hears speech in these synthetic
        // sounds: with it, 33 of 36 such cases interrupt the bot, the same with and without the first-sound pitch rule.
        var length = Reply.Length + 8 * echoDelayMs + 8 * 1000;
        var room = MuLaw.Encode(PeriodicSound(sound, dbfs, length));
        var run = Run(Reply, echoDelay: 8 * echoDelayMs, room, callerAt: 8 * (echoDelayMs - 80), speechDeafUntil: int.MaxValue / 2);

        Assert.True(run.Listener.CallersFirst == 0,
            $"{sound} at {dbfs} dBFS taken for a caller who spoke first (first sound matched {run.Listener.FirstSoundCorrelation:F2}; barge-in {run.BargeIns.FirstOrDefault() / 8} ms)");
    }

    /// <summary>A sound repeating at a period, at an RMS level: hum, buzz, a held note, a melody of held notes, a phone's ring.</summary>
    private static short[] PeriodicSound(string sound, double rmsDbfs, int samples)
    {
        var wave = new double[samples];
        for (var n = 0; n < samples; n++)
        {
            var t = n / 8000.0;
            wave[n] = sound switch
            {
                "hum100" => 2 * (t * 100 % 1) - 1, // sawtooth
                "buzz120" => Math.Sin(2 * Math.PI * 120 * t) + Math.Sin(2 * Math.PI * 240 * t) / 2 + Math.Sin(2 * Math.PI * 360 * t) / 3
                    + Math.Sign(Math.Sin(2 * Math.PI * 120 * t)) / 4, // a transformer's buzz: harmonics of twice the mains
                "note220" or "note147" => Note(sound == "note220" ? 220 : 147, t),
                "melody" => Note(new[] { 262.0, 330, 392, 523, 392, 330 }[(int)(t / 0.3) % 6], t),
                "ring" => (Math.Sin(2 * Math.PI * 440 * t) + Math.Sin(2 * Math.PI * 480 * t)) * (t % 3 < 2 ? 1 : 0), // 2 s on, 1 s off
                _ => throw new ArgumentOutOfRangeException(nameof(sound)),
            };
        }

        var rms = Math.Sqrt(wave.Select(w => w * w).Average());
        var gain = 32768 * Math.Pow(10, rmsDbfs / 20) / rms;
        return wave.Select(w => (short)Math.Clamp(Math.Round(w * gain), short.MinValue, short.MaxValue)).ToArray();

        static double Note(double hz, double t) =>
            Math.Sin(2 * Math.PI * hz * t) + Math.Sin(4 * Math.PI * hz * t) / 2 + Math.Sin(6 * Math.PI * hz * t) / 4 + Math.Sin(8 * Math.PI * hz * t) / 8;
    }

    /// <summary>The replayed line's only barge-in came within 400 ms of the caller's voice (<paramref name="onset"/>, samples).</summary>
    private static void AssertFiredWithin400Ms(Result run, int onset)
    {
        var fired = Assert.Single(run.BargeIns);
        Assert.InRange((fired - onset) / 8, 1, 400);
    }

    /// <summary>
    /// A barge-in-eval call replayed frame by frame: the line as it came in (<c>{clip}_inbound.wav</c>) and the bot's audio as the session
    /// scheduled it beside each frame (<c>{clip}_reference.wav</c>, mu-law silence where nothing was). The listener is armed at each of
    /// <paramref name="replyStarts"/> (samples), as the session arms it for a reply; the first reply plays until its marks come back
    /// (<paramref name="marksBackAt"/>), the last to the end. Barge-ins are where they fired (samples); the line is not cut by them.
    /// </summary>
    internal static Result Replay(string clip, int[] replyStarts, int marksBackAt, ISpeechDetector speech)
    {
        var inbound = RealTimeScenarios.Audio($"{clip}_inbound.wav");
        var reference = RealTimeScenarios.Audio($"{clip}_reference.wav");
        var silence = MuLaw.Encode((short)0);
        var listener = new BargeInListener();
        var result = new Result([], listener);
        for (var o = 0; o + Frame <= inbound.Length; o += Frame)
        {
            if (replyStarts.Contains(o))
            {
                listener.Reset(); // the session arms barge-in as it schedules a reply
            }

            var scheduled = reference.AsSpan(o, Frame);
            var playing = (o >= replyStarts[0] && o < marksBackAt) || o >= replyStarts[^1];
            var timestamp = TimeSpan.FromTicks(o * TimeSpan.TicksPerSecond / 8000);
            var heard = listener.Process(inbound.AsSpan(o, Frame), scheduled.ContainsAnyExcept(silence) ? scheduled : [], playing, timestamp,
                speech.NoiseFloorDbfs, out var bargeIn, speech.LastFrameVoiced);
            speech.Process(heard, timestamp);
            if (bargeIn)
            {
                result.BargeIns.Add(o + Frame);
            }
        }

        return result;
    }

    /// <summary>The reply was interrupted once, within 400 ms of the caller's voice (<paramref name="answer"/> from <paramref name="callerAt"/>).</summary>
    private static void AssertInterruptedWithin400Ms(Result run, int callerAt, byte[] answer)
    {
        var onset = callerAt + RealTimeScenarios.VoiceStart(answer);
        var fired = Assert.Single(run.BargeIns);
        Assert.InRange((fired - onset) / 8, 1, 400);
    }

    internal sealed record Result(List<int> BargeIns, BargeInListener Listener)
    {
        /// <summary>Whether the first frame after which the speech detector heard speech was one the canceller took the echo out of (null: none).</summary>
        public bool? SpeechOnCancelledFrame { get; set; }
    }

    /// <summary>
    /// A call's first reply, <paramref name="quietMs"/> into a quiet line: the line plays <paramref name="bot"/> and feeds it back
    /// <paramref name="echoDelay"/> later, 6 dB down, over <paramref name="noiseDbfs"/> of white noise (<paramref name="noiseSeed"/>; null: digital silence), with <paramref name="caller"/> from <paramref name="callerAt"/>
    /// (samples into the reply). The listener's reference is the reply as the worker placed it: <paramref name="referenceLead"/>
    /// ahead of what the line played until <paramref name="leadCorrectedAt"/>, then where it played. The speech detector is taken to
    /// hear speech in every frame with the caller's voice or the echo in it (as Silero does), from <paramref name="speechDeafUntil"/>
    /// (samples into the reply) on: before it, nothing (a soft first syllable); or, given <paramref name="speech"/>, it is that detector,
    /// hearing what the listener left of each frame and giving the line's noise floor.
    /// </summary>
    private static Result Run(byte[] bot, int echoDelay, byte[]? caller = null, int callerAt = 0, int referenceLead = 0, int leadCorrectedAt = 0,
        double? noiseDbfs = -65, int quietMs = 200, int noiseSeed = 7, int speechDeafUntil = 0, ISpeechDetector? speech = null)
    {
        var start = 8 * quietMs;
        var reference = MuLaw.Decode(bot);
        var length = (start + reference.Length + echoDelay + 8 * 1000) / Frame * Frame;
        var noise = noiseDbfs is { } level ? NoiseSignals.White(length, level, noiseSeed) : new short[length];
        var line = new double[length];
        var voiced = new bool[length / Frame];
        for (var n = 0; n < length; n++)
        {
            var source = n - start - echoDelay;
            var echo = source >= 0 && source < reference.Length ? reference[source] * EchoGain : 0;
            line[n] = noise[n] + echo;
            if (Math.Abs(echo) > 100)
            {
                voiced[n / Frame] = true;
            }
        }

        if (caller is not null)
        {
            var voice = MuLaw.Decode(caller);
            for (var i = 0; i < voice.Length && start + callerAt + i < length; i++)
            {
                line[start + callerAt + i] += voice[i];
                voiced[(start + callerAt + i) / Frame] |= Math.Abs(voice[i]) > 100;
            }
        }

        var inbound = MuLaw.Encode(line.Select(s => (short)Math.Clamp(Math.Round(s), short.MinValue, short.MaxValue)).ToArray());
        var listener = new BargeInListener();
        listener.Reset(); // the session arms barge-in as it schedules the reply
        var result = new Result([], listener);
        for (var o = 0; o + Frame <= length; o += Frame)
        {
            var at = o - start + (o - start < leadCorrectedAt ? referenceLead : 0); // where in the reply the worker's reference is
            var scheduled = at >= 0 && at < bot.Length ? bot.AsSpan(at, Math.Min(Frame, bot.Length - at)) : [];
            var speechHeard = speech?.LastFrameVoiced ?? (o >= Frame && voiced[o / Frame - 1] && o - Frame - start >= speechDeafUntil);
            var timestamp = TimeSpan.FromTicks(o * TimeSpan.TicksPerSecond / 8000);
            var heard = listener.Process(inbound.AsSpan(o, Frame), scheduled, playing: o >= start, timestamp,
                speech?.NoiseFloorDbfs ?? noiseDbfs ?? AudioLevel.SilenceDbfs, // the speech detector's floor on a line of digital silence
                out var bargeIn, speechHeard);
            speech?.Process(heard, timestamp); // it hears what the listener left of the frame, as in the session
            if (speechHeard)
            {
                result.SpeechOnCancelledFrame ??= listener.Echo.LastFrameCancelled; // the frame the listener was told of the speech on
            }

            if (bargeIn)
            {
                result.BargeIns.Add(o + Frame - start);
                break; // the reply is cleared: nothing more to interrupt
            }
        }

        return result;
    }
}
