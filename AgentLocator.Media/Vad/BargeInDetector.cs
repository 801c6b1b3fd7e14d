namespace AgentLocator.Media;

/// <summary>
/// Decides when a caller interrupts the bot's playback (barge-in → send <c>clear</c>). Stricter
/// than <see cref="VoiceActivityDetector"/>: the caller must be loud relative to the bot's own
/// playback level (so echo does not interrupt) and keep talking for <see cref="BargeInOptions.MinDuration"/>.
/// Feed it the bot's frames as they play (<see cref="ObservePlayback"/>) and the caller's frames
/// (<see cref="Process"/>). When the caller's frames have had the bot's echo removed
/// (<see cref="EchoCanceller"/>), say so per frame with the echo that was predicted in it
/// (<see cref="ObserveEcho"/>): the caller then only has to stand out from what is left of the echo
/// (<see cref="BargeInOptions.CancelledLeftoverMarginDb"/>), not from the bot's playback level.
/// Allocation-free per frame; not thread-safe.
/// </summary>
public sealed class BargeInDetector
{
    /// <summary>Frames remembered for the run of voice (1.28 s of 20 ms frames: the longest run the rules look back over, gaps included).</summary>
    private const int HistoryFrames = 64;

    private readonly BargeInOptions _options;
    private double _playbackDbfs = AudioLevel.SilenceDbfs;
    private double _echoDbfs = AudioLevel.SilenceDbfs;
    private double _echoMarginDb;
    private bool _echoCancelled;
    private bool _echoSubtracted;
    private bool _echoOverPrediction;
    private bool _echoProvisional;
    private bool _inCandidate;
    private bool _fired;
    private bool _rejudged;
    private bool _confirmedInRun;
    private bool _echoOnly;
    private bool _overPlainEcho;
    private readonly (TimeSpan Start, TimeSpan Duration, bool Voiced, double Level, bool EchoOnly)[] _history =
        new (TimeSpan, TimeSpan, bool, double, bool)[HistoryFrames];
    private TimeSpan? _callerFrom;
    private int _historyAt;
    private int _historyCount;
    private TimeSpan _candidateGap;
    private TimeSpan _speechHeard;
    private double _candidateNoiseFloorDbfs;

    public BargeInDetector(BargeInOptions? options = null)
    {
        _options = options ?? new BargeInOptions();
        if (_options.SampleRate <= 0 || _options.MinDuration < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "The sample rate must be positive and the minimum duration not negative.");
        }
    }

    public BargeInOptions Options => _options;

    /// <summary>The remembered (peak-held, decaying) level of the bot's playback.</summary>
    public double PlaybackLevelDbfs => _playbackDbfs;

    /// <summary>Records one frame of bot audio as it plays to the caller.</summary>
    public void ObservePlayback(ReadOnlySpan<byte> muLawFrame) =>
        ObservePlaybackLevel(AudioLevel.MuLawDbfs(muLawFrame), Duration(muLawFrame.Length));

    public void ObservePlaybackLevel(double levelDbfs, TimeSpan frameDuration)
    {
        var decayed = _playbackDbfs - _options.PlaybackReleaseDbPerSecond * frameDuration.TotalSeconds;
        _playbackDbfs = Math.Max(levelDbfs, Math.Max(decayed, AudioLevel.SilenceDbfs));
    }

    /// <summary>
    /// Whether the next caller frame had the bot's echo cancelled, and the level of the echo that was
    /// predicted in it (peak-held and decaying like the playback level), and what cancelling leaves of the echo
    /// (dB relative to it): the caller must stand out from that by <see cref="BargeInOptions.CancelledLeftoverMarginDb"/>.
    /// <paramref name="subtracted"/>: whether the echo was taken out of the frame's waveform (the filter or a fit), not only judged by its
    /// power (the spectral model scales the frame down, and the speech detector may still hear the echo's speech in it): only then does
    /// speech heard once confirm the caller for the rest of their run.
    /// <paramref name="overPrediction"/>: whether what was left is louder than the echo predicted in the frame (a filter that took the echo
    /// out of the waveform leaves less than the echo it follows, even a badly followed one: more is a caller's voice); voiced frames of a run
    /// so judged are counted (<see cref="RunFramesOverEcho"/>). <paramref name="provisional"/>: the echo was taken out by a filter not yet
    /// proven on this reply, which may follow it badly (its leftover of the bot's loud syllables is speech to the speech detector): speech
    /// heard on such a frame confirms the caller for the rest of the run only when the run has had a frame louder than the echo predicted.
    /// <paramref name="spectral"/>: the echo was predicted by the spectral model, whose prediction carries the room's reverberation: the
    /// remembered echo then decays at <see cref="BargeInOptions.SpectralEchoReleaseDbPerSecond"/>.
    /// <paramref name="echoOnly"/>: a plain copy of the bot's audio (a locked path or a fit) took the echo out of the frame, leaving far less
    /// than the echo (<see cref="BargeInListener.PlainEchoLeftDb"/>): the frame held the echo and nothing at a voice's level. Unvoiced, it
    /// is a caller's stop ("mezeg": a soft "me-z", then 140 ms of nothing; or the line's quiet where such a path says no echo is due: the
    /// stop fell in a pause of the bot's), and once the run has had a voiced frame louder than the echo such
    /// a path predicted in it (<paramref name="overPlainEcho"/>; <see cref="RunFramesOverPlainEcho"/>), it does not count against the run's
    /// voiced share (<see cref="BargeInOptions.MinVoicedShare"/>): the run's duration still counts it, and its gaps still end the run; the
    /// run is judged on it as on a voiced frame (the caller need not speak again for their run to be long enough).
    /// </summary>
    public void ObserveEcho(bool cancelled, double predictedEchoDbfs, TimeSpan frameDuration, double leftoverDb = EchoCanceller.AssumedLeftoverDb,
        bool subtracted = true, bool overPrediction = false, bool provisional = false, bool spectral = false, bool echoOnly = false, bool overPlainEcho = false)
    {
        _echoOnly = cancelled && echoOnly;
        _overPlainEcho = cancelled && overPlainEcho;
        _echoProvisional = cancelled && provisional;
        _echoCancelled = cancelled;
        _echoSubtracted = cancelled && subtracted;
        _echoOverPrediction = cancelled && overPrediction;
        _echoMarginDb = Math.Clamp(leftoverDb + _options.CancelledLeftoverMarginDb, _options.MinCancelledEchoMarginDb, 0);
        var release = cancelled && spectral ? _options.SpectralEchoReleaseDbPerSecond : _options.PlaybackReleaseDbPerSecond;
        var decayed = _echoDbfs - release * frameDuration.TotalSeconds;
        _echoDbfs = Math.Max(cancelled ? predictedEchoDbfs : AudioLevel.SilenceDbfs, Math.Max(decayed, AudioLevel.SilenceDbfs));
    }

    /// <summary>
    /// The line's first sound in this reply, from <paramref name="onset"/> on, is a caller's, not the bot's echo (it came after a
    /// quiet line and matches the bot's audio at no delay the echo could have: <see cref="BargeInListener"/>). Until the echo is
    /// cancelled the caller is then judged as over a cancelled echo with nothing left of it: above the line's noise
    /// (<see cref="BargeInOptions.CancelledMinLevelDbfs"/>, <see cref="BargeInOptions.NoiseMarginDb"/>) for
    /// <see cref="BargeInOptions.MinDuration"/> of which <see cref="BargeInOptions.MinVoicedShare"/> voiced, not held to the bot's
    /// playback level; the frames since the onset are judged again so. It ends when the caller pauses longer than
    /// <see cref="BargeInOptions.CancelledGapTolerance"/> (the echo that comes after a short "mm" is judged as before), and at <see cref="Reset"/>.
    /// The next frame weighs the run so judged even when it is not voiced itself: it may be found in a pause between the caller's words
    /// (<see cref="BargeInListener.PlainEchoFirstSoundCorrelation"/>), and their voice since the onset is enough now, not at their next syllable.
    /// </summary>
    public void CallerFirst(TimeSpan onset, double noiseFloorDbfs)
    {
        _callerFrom = onset;
        var bar = CallerFirstThreshold(noiseFloorDbfs);
        var end = TimeSpan.MinValue;
        var lastVoicedEnd = TimeSpan.MinValue;
        for (var k = 0; k < _historyCount; k++)
        {
            ref var frame = ref _history[(_historyAt - 1 - k + HistoryFrames) % HistoryFrames];
            if (frame.Start >= onset)
            {
                frame.Voiced = frame.Level > bar;
                end = end == TimeSpan.MinValue ? frame.Start + frame.Duration : end;
                lastVoicedEnd = frame.Voiced && lastVoicedEnd == TimeSpan.MinValue ? frame.Start + frame.Duration : lastVoicedEnd;
            }
        }

        // The run since the onset is the candidate; it ends, and this with it, once the caller pauses longer than the gap tolerance.
        _inCandidate = true;
        _candidateNoiseFloorDbfs = noiseFloorDbfs;
        _candidateGap = lastVoicedEnd == TimeSpan.MinValue ? TimeSpan.Zero : end - lastVoicedEnd;
        _rejudged = true; // the next frame weighs the run so judged, voiced or not: the caller may be between syllables
    }

    /// <summary>Whether the caller spoke first in this reply (<see cref="CallerFirst"/>).</summary>
    public bool CallerSpokeFirst => _callerFrom is not null;

    private double CallerFirstThreshold(double noiseFloorDbfs) =>
        Math.Max(_options.CancelledMinLevelDbfs, noiseFloorDbfs + _options.NoiseMarginDb);

    /// <summary>Judged as over a cancelled echo: the echo is cancelled, or the caller spoke before it (<see cref="CallerFirst"/>).</summary>
    private bool JudgedAsCancelled => _echoCancelled || _callerFrom is not null;

    /// <summary>The remembered (peak-held, decaying) level of the echo predicted in the caller's frames.</summary>
    public double EchoLevelDbfs => _echoDbfs;

    /// <summary>The level the caller must exceed now.</summary>
    public double ThresholdDbfs(double noiseFloorDbfs)
    {
        var overBot = _playbackDbfs + _options.PlaybackMarginDb;
        if (_echoCancelled)
        {
            overBot = Math.Min(overBot, Math.Max(_echoDbfs + _echoMarginDb, _playbackDbfs + _options.CancelledPlaybackMarginDb));
        }

        if (!_echoCancelled && _callerFrom is not null)
        {
            return CallerFirstThreshold(noiseFloorDbfs);
        }

        var floor = _echoCancelled ? _options.CancelledMinLevelDbfs : _options.MinLevelDbfs;
        return Math.Max(floor, Math.Max(overBot, noiseFloorDbfs + _options.NoiseMarginDb));
    }

    /// <summary>
    /// Whether the speech detector has heard speech long enough to confirm a caller (<see cref="BargeInOptions.ConfirmingSpeech"/>), now or
    /// earlier in the run of voice being judged: a caller's soft first syllable and the pause after it are not speech to it, their
    /// next syllable is, and the run stays theirs.
    /// </summary>
    private bool Confirmed => _confirmedInRun || SpeechConfirmsNow;

    /// <summary>Whether speech heard earlier in the run being judged confirmed the caller for the rest of it (<see cref="Confirmed"/>; diagnostics).</summary>
    public bool ConfirmedInRun => _confirmedInRun;

    /// <summary>
    /// Voiced frames of the run being judged in which what the canceller left was louder than the echo it predicted there
    /// (<see cref="ObserveEcho"/>'s <c>overPrediction</c>): the caller's own voice standing over the echo.
    /// </summary>
    public int RunFramesOverEcho { get; private set; }

    /// <summary>
    /// Voiced frames of the run being judged louder than the echo a plain copy of the bot's audio predicted in them
    /// (<see cref="ObserveEcho"/>'s <c>overPlainEcho</c>): what such a path leaves of the echo is less than the echo, so the voice is a
    /// caller's. Once there is one, the run's frames that held nothing but the echo (<c>echoOnly</c>) do not count against its
    /// voiced share: the caller's stop, not a dip in their voice.
    /// </summary>
    public int RunFramesOverPlainEcho { get; private set; }

    private bool SpeechConfirmsNow => _options.ConfirmingSpeech > TimeSpan.Zero && _speechHeard >= _options.ConfirmingSpeech;

    /// <summary>
    /// Processes one caller frame (stream time <paramref name="timestamp"/>); returns true once, on
    /// the frame that completes a barge-in, with <paramref name="onset"/> its start. Call
    /// <see cref="Reset"/> when a new playback starts.
    /// </summary>
    public bool Process(ReadOnlySpan<byte> inboundMuLaw, TimeSpan timestamp, out TimeSpan onset, double noiseFloorDbfs = AudioLevel.SilenceDbfs, bool speechHeard = false) =>
        ProcessLevel(AudioLevel.MuLawDbfs(inboundMuLaw), timestamp, Duration(inboundMuLaw.Length), out onset, noiseFloorDbfs, speechHeard);

    public bool ProcessLevel(double levelDbfs, TimeSpan timestamp, TimeSpan frameDuration, out TimeSpan onset, double noiseFloorDbfs = AudioLevel.SilenceDbfs)
        => ProcessLevel(levelDbfs, timestamp, frameDuration, out onset, noiseFloorDbfs, speechHeard: false);

    /// <summary>
    /// As <see cref="ProcessLevel(double, TimeSpan, TimeSpan, out TimeSpan, double)"/>, with whether the speech detector heard
    /// speech in the caller's previous frame (with the echo taken out): a run of it confirms the caller
    /// (<see cref="BargeInOptions.ConfirmedMinDuration"/>).
    /// </summary>
    public bool ProcessLevel(double levelDbfs, TimeSpan timestamp, TimeSpan frameDuration, out TimeSpan onset, double noiseFloorDbfs, bool speechHeard)
    {
        onset = default;
        _speechHeard = speechHeard ? _speechHeard + frameDuration : TimeSpan.Zero;
        if (_fired)
        {
            return false;
        }

        // With the echo cancelled, the noise floor as it was when the caller began: a speech detector's floor creeps up
        // under their own voice. Over the level rule the floor rising under the echo is what holds the echo back.
        if (_inCandidate && JudgedAsCancelled)
        {
            noiseFloorDbfs = Math.Min(noiseFloorDbfs, _candidateNoiseFloorDbfs);
        }

        var voiced = levelDbfs > ThresholdDbfs(noiseFloorDbfs);
        Remember(timestamp, frameDuration, voiced, levelDbfs, !voiced && _echoOnly);
        RunFramesOverEcho += voiced && _echoOverPrediction ? 1 : 0;
        RunFramesOverPlainEcho += voiced && _overPlainEcho ? 1 : 0;
        _confirmedInRun |= (voiced || _inCandidate) && (_echoSubtracted || (_echoProvisional && RunFramesOverEcho > 0)) && SpeechConfirmsNow;
        if (voiced)
        {
            if (!_inCandidate)
            {
                _inCandidate = true;
                _candidateNoiseFloorDbfs = noiseFloorDbfs;
            }

            _candidateGap = TimeSpan.Zero;
            if (EnoughVoice(timestamp + frameDuration, out onset))
            {
                _fired = true;
                return true;
            }
        }
        else if (_inCandidate)
        {
            _candidateGap += frameDuration;
            if (_candidateGap > GapToleranceNow)
            {
                _inCandidate = false;
                _confirmedInRun = false;
                RunFramesOverEcho = 0;
                RunFramesOverPlainEcho = 0;
                _callerFrom = null; // the caller who spoke first stopped: what follows is judged as before
            }
            // A frame that held the echo alone, in a run whose voice stood over a plain echo, is the caller's stop: the run, whose duration
            // counts it, is judged on it as on a voiced frame, not only at the caller's next syllable (barge-in-eval direct seed 4, 450 ms:
            // 160 ms of confirmed voice, then 60 ms of the echo alone taken out 35 dB; judged at the next syllable 409 ms after the voice),
            // its stops counted against its voiced share: the voice heard so far must be enough by itself. (Left out of the share, 40 ms
            // of a later reply's echo that came back sooner than the locked path, over its prediction, and 160 ms of it taken out made a
            // run: barge-in-eval direct seed 5, 320 ms, fired by the echo.)
            else if ((_rejudged || (_echoOnly && RunFramesOverPlainEcho > 0))
                && EnoughVoice(timestamp + frameDuration, out onset, stopsCount: !_rejudged))
            {
                _rejudged = false;
                _fired = true;
                return true;
            }
        }

        _rejudged = false;
        return false;
    }

    /// <summary>
    /// Whether the frames up to <paramref name="end"/> hold a run of the caller's voice: going back from the newest
    /// frame over gaps no longer than the gap tolerance, some voiced frame starts a run long enough
    /// (<see cref="BargeInOptions.MinDuration"/>, or less once confirmed) and voiced enough (<see cref="BargeInOptions.MinVoicedShare"/>);
    /// over the echo's level rule, one with <see cref="BargeInOptions.MinDuration"/> of voiced frames. In a run whose voice stood over a
    /// plain echo (<see cref="RunFramesOverPlainEcho"/>), the frames that held only the echo, taken out, are left out of the share, unless
    /// <paramref name="stopsCount"/> (the run judged in such a stop: the voice heard so far must be enough by itself).
    /// Every start is tried,
    /// so what came before the caller began (the echo's last frames before the canceller took it out) does not dilute them.
    /// <paramref name="onset"/>: where the run starts.
    /// </summary>
    private bool EnoughVoice(TimeSpan end, out TimeSpan onset, bool stopsCount = false)
    {
        var minDuration = _echoCancelled ? MinDurationNow : _options.MinDuration;
        var asCancelled = JudgedAsCancelled;
        var share = Confirmed && _echoCancelled ? Math.Min(_options.ConfirmedVoicedShare, _options.MinVoicedShare) : _options.MinVoicedShare;
        var tolerance = GapToleranceNow;
        var voiced = TimeSpan.Zero;
        var echoOnly = TimeSpan.Zero;
        var gap = TimeSpan.Zero;
        var next = end;
        for (var k = 0; k < _historyCount; k++)
        {
            var (start, duration, isVoiced, _, isEchoOnly) = _history[(_historyAt - 1 - k + HistoryFrames) % HistoryFrames];
            gap += next - (start + duration); // time no frame covered (nothing was played then) is a gap too
            if (gap > tolerance)
            {
                break;
            }

            if (isVoiced)
            {
                voiced += duration;
                gap = TimeSpan.Zero;
                var kept = end - start;
                // Over the echo's level rule only voiced frames count: the echo itself passes it now and then.
                var counted = RunFramesOverPlainEcho > 0 && !stopsCount ? kept - echoOnly : kept;
                if (asCancelled ? kept >= minDuration && voiced >= share * counted : voiced >= minDuration)
                {
                    onset = start;
                    return true;
                }
            }
            else
            {
                gap += duration;
                echoOnly += isEchoOnly ? duration : TimeSpan.Zero;
            }

            if (gap > tolerance)
            {
                break;
            }

            next = start;
        }

        onset = default;
        return false;
    }

    private void Remember(TimeSpan start, TimeSpan duration, bool voiced, double level, bool echoOnly)
    {
        _history[_historyAt] = (start, duration, voiced, level, echoOnly);
        _historyAt = (_historyAt + 1) % HistoryFrames;
        _historyCount = Math.Min(_historyCount + 1, HistoryFrames);
    }

    private TimeSpan GapToleranceNow => JudgedAsCancelled ? _options.CancelledGapTolerance : _options.GapTolerance;

    /// <summary>With the echo cancelled, the voice needed now: less once the speech detector confirms the caller.</summary>
    private TimeSpan MinDurationNow => Confirmed && _options.ConfirmedMinDuration < _options.MinDuration ? _options.ConfirmedMinDuration : _options.MinDuration;

    /// <summary>
    /// Forgets the run's frames that began before <paramref name="from"/> (the echo held them, not taken out), keeping those since, judged
    /// as they were; the run's confirmation by speech and its counts of frames over the echo are earned again from here. Not a new playback.
    /// </summary>
    public void ForgetBefore(TimeSpan from)
    {
        var kept = 0;
        var voiced = false;
        while (kept < _historyCount)
        {
            var frame = _history[(_historyAt - 1 - kept + HistoryFrames) % HistoryFrames];
            if (frame.Start < from)
            {
                break;
            }

            voiced |= frame.Voiced;
            kept++;
        }

        StartRunOver(kept, voiced);
    }

    /// <summary>Arms the detector for a new playback (keeps the playback level).</summary>
    public void Reset()
    {
        StartRunOver(0, inCandidate: false);
        _callerFrom = null;
    }

    /// <summary>Keeps the newest <paramref name="keptFrames"/> frames of the run and nothing it earned: it is judged from them as it comes.</summary>
    private void StartRunOver(int keptFrames, bool inCandidate)
    {
        _historyCount = keptFrames;
        _inCandidate = inCandidate;
        _confirmedInRun = false;
        RunFramesOverEcho = 0;
        RunFramesOverPlainEcho = 0;
        _fired = false;
        _rejudged = false;
    }

    /// <summary>How long <paramref name="samples"/> samples of the line last.</summary>
    public TimeSpan Duration(int samples) => TimeSpan.FromTicks(samples * TimeSpan.TicksPerSecond / _options.SampleRate);
}
