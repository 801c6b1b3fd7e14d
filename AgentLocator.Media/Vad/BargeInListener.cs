namespace AgentLocator.Media;

/// <summary>
/// What a call hears of its caller while the bot talks: each caller frame has the bot's echo removed
/// (<see cref="EchoCanceller"/>) and, while a reply plays, goes to the barge-in detector, which compares the
/// caller with what is left of the echo once the canceller has the echo path, and with the bot's playback level
/// until then. The speech detector's verdict on
/// the previous frame confirms a caller, who then interrupts after a shorter run (<see cref="BargeInOptions.ConfirmedMinDuration"/>).
/// A barge-in is checked before it is reported: when the last 400 ms of inbound audio turn out to be the bot's echo,
/// not taken out, after all (a path the canceller had not locked onto yet, or one that moved, or a reverberant echo its
/// spectral model explains), the canceller locks onto it (or the model takes its fit) and the detector starts over (from where fits at
/// the echo's new delay took it out, on a line whose plain path is locked: <see cref="EchoCanceller.EchoTakenOutSamples"/>).
/// A reply's first sound after a quiet line is judged on its own (<see cref="EchoReturnBound"/>): if it were the echo, the echo's
/// delay would be one the quiet has not ruled out, and its waveform would match the bot's audio there; when it matches at no such
/// delay (<see cref="FirstSoundCallerCorrelation"/>) and the speech detector hears speech in it, a caller began it before the echo
/// came back, and is judged as over a cancelled echo (<see cref="BargeInDetector.CallerFirst"/>), not by the level rule. So is a caller
/// whose first sound matched as a room's echo might but a plain echo does not, once the echo shows it is a plain copy
/// (<see cref="PlainEchoFirstSoundCorrelation"/>): the echo joined their voice within the first sound's 100 ms. One per
/// call; not thread-safe.
/// </summary>
public sealed class BargeInListener
{
    private readonly byte[] _heard = new byte[EchoCanceller.FrameSamples];

    /// <summary>Frames of the reply's first sound judged before deciding whether a caller began it (100 ms).</summary>
    public const int FirstSoundFrames = 5;

    /// <summary>The line must have been quiet this long before the reply's first sound for it to be judged a new sound (200 ms).</summary>
    public static readonly TimeSpan FirstSoundQuiet = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The reply's first sound is a caller's when it correlates with the bot's audio below this at every delay the echo could have
    /// (<see cref="EchoCanceller.BestCorrelation"/>): a plain echo correlates near 1, a reverberant one 0.3–0.5.
    /// </summary>
    public const double FirstSoundCallerCorrelation = 0.2;

    /// <summary>
    /// The first sound is the echo only at a delay where the bot's audio, frame by frame, is loud enough to have made it: no frame of the
    /// sound louder than the bot's audio there (that frame and the 100 ms before) by more than this (20 dB; a speakerphone's echo is
    /// 6–30 dB under what was sent). Without it the delays at which the bot was still silent (before the reply began) matched a caller by
    /// chance at 0.20–0.33 with a little of the bot's first sound at the window's end: barge-in-eval within 400 ms, direct seed 1
    /// 232 -> 235 of 240, seed 3 234 -> 236, room seed 1 161 -> 166, seed 2 165 -> 168; the same at 6 and 10 dB.
    /// </summary>
    public const double LoudestEchoDb = 20;

    /// <summary>
    /// A first sound that correlated with the bot's audio below this at every delay the echo could have, yet not below
    /// <see cref="FirstSoundCallerCorrelation"/> (a room's echo reaches 0.3-0.5), was not the echo alone once the echo turns out to be a
    /// plain copy of the bot's audio (<see cref="PlainEchoLeftDb"/>): a plain echo alone correlates 0.99-1 (barge-in-eval direct, 900 first
    /// sounds: never under 1.00); with a caller at its level in the same 100 ms, 0.3-0.7.
    /// </summary>
    public const double PlainEchoFirstSoundCorrelation = 0.8;

    /// <summary>
    /// The echo is a plain copy of the bot's audio when a waveform (a locked path or a fit at a plausible delay, neither the adaptive filter
    /// nor the spectral model) takes it out of a frame leaving this much less than it predicted (12 dB: 94 % of the frame, a correlation
    /// of 0.97; a room's echo, correlating 0.3-0.5 with the bot's audio, leaves more than a fit explains). 20 dB caught one caller fewer
    /// in barge-in-eval direct seed 1 (a caller's voice in the frame is left too): the fit came 60 ms later, 401 ms after their voice.
    /// </summary>
    public const double PlainEchoLeftDb = 12;

    /// <summary>A first sound quieter than this over its judged frames is not judged (its waveform is a few mu-law steps: it matches nothing).</summary>
    public const double FirstSoundMinDbfs = -50;

    /// <summary>
    /// Voiced frames of a run, judged on the adaptive filter's residual, whose residual was louder than the echo the filter predicted
    /// (60 ms), after which the run's barge-in is not checked against the echo (<see cref="EchoCanceller.ExplainsRecentAudioAsEcho"/>).
    /// </summary>
    public const int CallerOverEchoFrames = 3;

    public BargeInListener(BargeInOptions? options = null) => Detector = new BargeInDetector(options);

    public EchoCanceller Echo { get; } = new();

    /// <summary>What the line proved about the echo when the reply's first sound came (<see cref="EchoReturnBound"/>).</summary>
    public EchoReturnBound FirstSound { get; } = new();

    /// <summary>Where the reply's first sound began, when it matched the bot's audio at no delay the echo could have (until the speech detector hears speech in it).</summary>
    private TimeSpan? _firstSoundNotEcho;

    /// <summary>
    /// Where the reply's first sound began, when it matched the bot's audio as a room's echo might but not as a plain echo does
    /// (<see cref="PlainEchoFirstSoundCorrelation"/>): until the echo shows which it is, within <see cref="FirstSoundSpeechWithin"/>.
    /// </summary>
    private TimeSpan? _firstSoundUnlikePlainEcho;

    /// <summary>The least delay the echo of the reply's first sound could have (samples; <see cref="EchoReturnBound.Delay"/>, fixed once it began).</summary>
    private int FirstSoundMinDelay => (int)(FirstSound.Delay.Ticks * Detector.Options.SampleRate / TimeSpan.TicksPerSecond);

    /// <summary>
    /// Samples matched against the bot's audio, each frame while a first sound waits for the echo to show itself plain or not, for the plain
    /// echo's delay (<see cref="EchoCanceller.FindPlainEchoDelay"/>; 40 ms: a stretch where the echo stands over a caller's voice at its
    /// level, as between their syllables; a caller alone matches some delay at 0.3-0.5 by chance, a plain echo alone 0.95-1 at its own).
    /// </summary>
    public const int PlainEchoWindow = 2 * EchoCanceller.FrameSamples;

    /// <summary>
    /// Whether the reply's first sound, matching the bot's audio under <see cref="FirstSoundCallerCorrelation"/>, was voiced
    /// (<see cref="FirstSoundVoicedFrames"/>): it is then a caller's also before the speech detector hears speech in it, once the echo
    /// shows itself a plain copy of the bot's audio (<see cref="EchoIsPlainNow"/>) within <see cref="FirstSoundSpeechWithin"/>. A soft first
    /// syllable Silero hears nothing in for 500 ms (barge-in-eval direct seed 5, 450 ms, utterance 3: 537 ms) was otherwise left to the level rule.
    /// </summary>
    private bool _firstSoundVoiced;

    /// <summary>
    /// Frames of the first sound's <see cref="FirstSoundFrames"/> that must repeat at a pitch period continuing one before them
    /// (<see cref="EchoCanceller.VoicedFrames"/>) for it to be voice without the speech detector's word: a knock, a rustle of the handset
    /// or the line's noise repeats at no period.
    /// </summary>
    public const int FirstSoundVoicedFrames = 2;

    /// <summary>Whether the speech detector has heard speech since the reply's first sound began.</summary>
    private bool _speechSinceFirstSound;

    /// <summary>
    /// How long after the first sound's onset the speech detector may take to hear speech in it (500 ms): a caller's soft first syllable
    /// and the stop after it ("mezeg ha'avir") can be 350-400 ms of voice Silero hears nothing in. At 300 ms such a caller was held to the
    /// level rule (barge-in-eval direct seed 2: two of utterance 18, 520 and 547 ms, now within 400; 235 -> 237 of 240, the other seven
    /// runs unchanged, 0 false barge-ins; <c>FirstSoundTests</c>).
    /// </summary>
    public static readonly TimeSpan FirstSoundSpeechWithin = TimeSpan.FromMilliseconds(500);

    /// <summary>The last first sound judged: its best correlation with the bot's audio at a delay the echo could have (−1: none yet).</summary>
    public double FirstSoundCorrelation { get; private set; } = -1;

    /// <summary>Replies whose first sound was a caller's (<see cref="BargeInDetector.CallerFirst"/>).</summary>
    public int CallersFirst { get; private set; }

    public BargeInDetector Detector { get; }

    /// <summary>
    /// Frames of a caller who spoke first (<see cref="BargeInDetector.CallerFirst"/>) on which the spectral model predicted more echo than
    /// the frame's own power, judged as they came instead.
    /// </summary>
    public int SpectralPredictionsDistrusted { get; private set; }

    /// <summary>Barge-ins the echo check turned down (the audio was the bot's echo).</summary>
    public int EchoRejections { get; private set; }

    /// <summary>
    /// One caller frame and the bot's frame scheduled at the same stream time (<paramref name="bot"/>: empty when
    /// nothing is scheduled). <paramref name="playing"/>: whether a reply is playing (barge-in is armed).
    /// Returns the caller's audio without the echo (valid until the next call), for speech detection;
    /// <paramref name="bargeIn"/> is true on the frame that completes a barge-in. <paramref name="speechHeard"/>: whether the
    /// speech detector heard speech in the previous frame this returned (it confirms a caller: <see cref="BargeInOptions.ConfirmedMinDuration"/>).
    /// </summary>
    public ReadOnlySpan<byte> Process(ReadOnlySpan<byte> inbound, ReadOnlySpan<byte> bot, bool playing, TimeSpan timestamp, double noiseFloorDbfs,
        out bool bargeIn, bool speechHeard = false)
    {
        bargeIn = false;
        var heard = inbound;
        if (inbound.Length == EchoCanceller.FrameSamples)
        {
            Echo.Process(inbound, bot, _heard);
            heard = _heard;
        }

        var frameDuration = Detector.Duration(inbound.Length);
        FirstSound.Observe(bot.IsEmpty ? AudioLevel.SilenceDbfs : AudioLevel.MuLawDbfs(bot), AudioLevel.MuLawDbfs(inbound), noiseFloorDbfs);
        if (!playing)
        {
            Detector.ObservePlaybackLevel(AudioLevel.SilenceDbfs, frameDuration);
            return heard;
        }

        if (bot.IsEmpty)
        {
            Detector.ObservePlaybackLevel(AudioLevel.SilenceDbfs, frameDuration);
        }
        else
        {
            Detector.ObservePlayback(bot);
        }

        // Speech heard once confirms the caller for the rest of the run only on frames whose echo a proven path took out of the waveform,
        // or whose residual is louder than the echo the filter predicted there (a caller; a badly followed echo leaves less than itself),
        // or, in the filter's first 400 ms of judging a reply, once the run has had such a frame.
        // The echo the spectral model predicts carries the room's reverberation: held only as long as it rings, while it is all the line
        // has to go on (before the adaptive filter first converged: a call's first reply).
        // A caller who spoke first, on a frame the spectral model predicts more echo in than the frame's own power: that prediction is not
        // the echo (a fit that took the caller's voice for the echo's onset, its gains scaled to their level), and the frame is judged as it
        // came, over the line's noise, as their run began.
        var distrusted = inbound.Length == EchoCanceller.FrameSamples && Detector.CallerSpokeFirst && Echo.LastFrameSpectral && Echo.EchoDbfs > Echo.InboundDbfs;
        if (distrusted)
        {
            heard = inbound;
            SpectralPredictionsDistrusted++;
        }

        var overEcho = Echo.LastFrameAdaptive && Echo.ResidualDbfs > Echo.EchoDbfs;
        // A frame a plain copy of the bot's audio took the echo out of, leaving nothing at a voice's level, is a caller's stop once
        // their voice has stood over such an echo (louder than it predicted: that path leaves less than the echo), not a dip in it. So is a
        // frame of the line's quiet in a pause of the bot's speech that such a path follows (no echo due at its delay): it held the echo,
        // none, alone.
        Detector.ObserveEcho(Echo.LastFrameCancelled && !distrusted, Echo.EchoDbfs, frameDuration, Echo.EchoLeftoverDb,
            subtracted: !Echo.LastFrameSpectral && (!Echo.LastFrameAdaptive || Echo.LastFrameAdaptiveTrusted || overEcho), overPrediction: overEcho,
            provisional: Echo.LastFrameAdaptive && !Echo.LastFrameAdaptiveTrusted,
            spectral: Echo.LastFrameSpectral && Echo.Adaptive is not { Converged: true }, echoOnly: LineHeldEchoAlone(noiseFloorDbfs),
            overPlainEcho: EchoTakenOutPlainly && Echo.ResidualDbfs > Echo.EchoDbfs);
        if (FirstSound.FramesSinceSound == FirstSoundFrames - 1 && FirstSound.QuietBefore >= FirstSoundQuiet && inbound.Length == EchoCanceller.FrameSamples)
        {
            JudgeFirstSound(timestamp - frameDuration * (FirstSoundFrames - 1));
        }

        // While a first sound a room's echo might have made waits for the echo to show which it is, a stretch where the echo stands over
        // the caller's voice shows the plain echo's delay that the delay search, led by the caller's onset, has not found: fits take the
        // echo out at it from the next frame on, and show it plain (or not).
        if (_firstSoundUnlikePlainEcho is not null && !Detector.CallerSpokeFirst && inbound.Length == EchoCanceller.FrameSamples)
        {
            Echo.FindPlainEchoDelay(PlainEchoWindow, FirstSoundMinDelay, FirstSoundMinDbfs, LoudestEchoDb);
        }

        // A first sound that is not the echo is taken for a caller once the speech detector hears speech in it (it lags the onset), also
        // when the echo has come back meanwhile and the canceller takes it out: a caller whose soft first syllable the speech detector
        // hears only once the echo joins it is still the one who began the sound (the match, not the frame, told them apart).
        _speechSinceFirstSound |= speechHeard && FirstSound.FramesSinceSound >= 1; // heard in the first sound's frames or after
        var firstSoundWindowOver = FirstSound.FramesSinceSound >= FirstSoundSpeechWithin / frameDuration;
        if (_firstSoundNotEcho is { } onset && (speechHeard || (_firstSoundVoiced && EchoIsPlainNow)))
        {
            _firstSoundNotEcho = null;
            CallerBegan(onset, noiseFloorDbfs);
        }
        else if (firstSoundWindowOver)
        {
            _firstSoundNotEcho = null;
        }

        // A first sound a room's echo might have made, on a line whose echo turns out to be a plain copy (a waveform takes 94 % of it out
        // of a frame), was not the echo alone: a caller began with it (their voice and the echo's first syllable in the same 100 ms).
        if (_firstSoundUnlikePlainEcho is { } mixedOnset && !Detector.CallerSpokeFirst && (EchoIsPlainNow || EchoFittedPlainlyOnReverberantLine))
        {
            _firstSoundUnlikePlainEcho = null;
            if (_speechSinceFirstSound)
            {
                CallerBegan(mixedOnset, noiseFloorDbfs);
            }
        }
        else if (firstSoundWindowOver)
        {
            _firstSoundUnlikePlainEcho = null;
        }

        if (Detector.Process(heard, timestamp, out _, noiseFloorDbfs, speechHeard))
        {
            // A run that began with a sound the echo could not have made is not checked again: the spectral check takes a caller over
            // an echo that joins them for the echo (it explains most of the power), and would start them over. Nor is one with 60 ms of
            // voice the adaptive filter left louder than the echo it predicted (the filter, in its first 400 ms of judging a reply, is
            // checked by the spectral model, which turns such a caller down with the echo; the echo it follows badly leaves less than itself).
            if (!Detector.CallerSpokeFirst && Detector.RunFramesOverEcho < CallerOverEchoFrames && Echo.ExplainsRecentAudioAsEcho())
            {
                EchoRejections++;
                if (Echo.EchoTakenOutSamples is { } takenOut)
                {
                    // The echo was counted until fits at its new delay took it out; what was heard since is judged again as it was.
                    Detector.ForgetBefore(timestamp + frameDuration - Detector.Duration(takenOut));
                }
                else
                {
                    Detector.Reset(); // the bot's own echo: the canceller has its path now
                }
            }
            else
            {
                bargeIn = true;
            }
        }

        return heard;
    }

    /// <summary>
    /// The reply's first sound after a quiet line, <see cref="FirstSoundFrames"/> frames of it from <paramref name="onset"/>: if it is
    /// the bot's echo, the echo's delay is one the line has not ruled out (<see cref="EchoReturnBound.Delay"/> or more), so it matches
    /// the bot's audio at such a delay. When it matches at none, and the speech detector hears speech in it, a caller began it.
    /// On a line whose echo an earlier reply showed to be a plain copy of the bot's audio (a path locked on it: independent estimates
    /// that correlated at <see cref="EchoCanceller.LockCorrelation"/>), matching under <see cref="PlainEchoFirstSoundCorrelation"/> is
    /// matching at none: the plain echo alone matches at 0.99-1, and what a room's echo might match is no question there.
    /// </summary>
    private void JudgeFirstSound(TimeSpan onset)
    {
        FirstSoundCorrelation = Echo.BestCorrelation(FirstSoundFrames * EchoCanceller.FrameSamples, FirstSoundMinDelay, FirstSoundMinDbfs, LoudestEchoDb);
        var callerBelow = Echo.IsLocked && !Echo.Reverberant ? PlainEchoFirstSoundCorrelation : FirstSoundCallerCorrelation;
        _firstSoundNotEcho = FirstSoundCorrelation < callerBelow ? onset : null;
        // Its pitch is the first sound's own only where the echo played no part in it (on a locked line one under 0.8 may be half echo).
        _firstSoundVoiced = FirstSoundCorrelation < FirstSoundCallerCorrelation && Echo.VoicedFrames(FirstSoundFrames) >= FirstSoundVoicedFrames;
        _firstSoundUnlikePlainEcho = FirstSoundCorrelation >= callerBelow && FirstSoundCorrelation < PlainEchoFirstSoundCorrelation ? onset : null;
    }

    /// <summary>The reply's first sound, from <paramref name="onset"/>, was a caller's: their run is judged as over a cancelled echo.</summary>
    private void CallerBegan(TimeSpan onset, double noiseFloorDbfs)
    {
        CallersFirst++;
        Detector.CallerFirst(onset, noiseFloorDbfs);
    }

    /// <summary>Whether the last frame's echo was taken out as a plain copy of the bot's audio (<see cref="PlainEchoLeftDb"/>).</summary>
    private bool EchoIsPlainNow => EchoTakenOutPlainly && EchoLeftUnder(PlainEchoLeftDb);

    /// <summary>Whether the last frame had an echo of a sound's level and the canceller left at least <paramref name="db"/> under it.</summary>
    private bool EchoLeftUnder(double db) => Echo.EchoDbfs >= FirstSoundMinDbfs && Echo.ResidualDbfs <= Echo.EchoDbfs - db;

    /// <summary>
    /// Whether a waveform fit (not a locked path: the line is <see cref="EchoCanceller.Reverberant"/>, none locks there) took the last
    /// frame's echo out leaving <see cref="ReverberantLinePlainLeftDb"/> less than it predicted: the echo is a plain copy after all. A first
    /// reply's line is taken for reverberant when it was quiet until the echo arrived and the spectral model explained what came in
    /// (<see cref="EchoCanceller.Reverberant"/>), also when a caller began right after the echo's onset and the model's gains took their
    /// voice for the echo's.
    /// </summary>
    private bool EchoFittedPlainlyOnReverberantLine => Echo.Reverberant && EchoTakenOutByWaveform && EchoLeftUnder(ReverberantLinePlainLeftDb);

    /// <summary>
    /// What a waveform fit must leave under the echo it predicted on a line taken for reverberant for the echo to be a plain copy (24 dB: a
    /// correlation of 0.998; a room's echo, 0.3-0.5, leaves a few dB). Twice <see cref="PlainEchoLeftDb"/>: this overrules the canceller.
    /// </summary>
    public const double ReverberantLinePlainLeftDb = 24;

    /// <summary>
    /// Whether the last frame held the echo and nothing at a voice's level, by a plain copy of the bot's audio: the echo taken out
    /// (<see cref="EchoIsPlainNow"/>), or the line's quiet (<see cref="EchoReturnBound.QuietBelowDbfs"/>) where such a path says no echo
    /// is due (the bot paused). Unvoiced in a caller's run, either is their stop.
    /// </summary>
    private bool LineHeldEchoAlone(double noiseFloorDbfs) =>
        EchoIsPlainNow || (EchoTakenOutPlainly && Echo.InboundDbfs <= EchoReturnBound.QuietBelowDbfs(noiseFloorDbfs));

    /// <summary>Whether the last frame's echo was taken out by a plain copy of the bot's audio: a locked path or a fit, not the adaptive filter nor the spectral model.</summary>
    private bool EchoTakenOutPlainly => EchoTakenOutByWaveform && !Echo.Reverberant;

    /// <summary>Whether the last frame's echo was taken out by a locked path or a fit (a waveform), not the adaptive filter nor the spectral model.</summary>
    private bool EchoTakenOutByWaveform => Echo.LastFrameCancelled && !Echo.LastFrameSpectral && !Echo.LastFrameAdaptive;

    /// <summary>Arms barge-in for a new playback.</summary>
    public void Reset()
    {
        Detector.Reset();
        FirstSound.Reset();
        _firstSoundNotEcho = null;
        _firstSoundUnlikePlainEcho = null;
        _firstSoundVoiced = false;
        _speechSinceFirstSound = false;
    }
}
