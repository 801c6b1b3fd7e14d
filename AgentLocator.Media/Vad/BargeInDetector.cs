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
    private readonly BargeInOptions _options;
    private double _playbackDbfs = AudioLevel.SilenceDbfs;
    private double _echoDbfs = AudioLevel.SilenceDbfs;
    private double _echoMarginDb;
    private bool _echoCancelled;
    private bool _inCandidate;
    private bool _fired;
    private TimeSpan _candidateStart;
    private TimeSpan _candidateVoiced;
    private TimeSpan _candidateGap;
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
        ObservePlaybackLevel(AudioLevel.MuLawDbfs(muLawFrame), FrameDuration(muLawFrame.Length));

    public void ObservePlaybackLevel(double levelDbfs, TimeSpan frameDuration)
    {
        var decayed = _playbackDbfs - _options.PlaybackReleaseDbPerSecond * frameDuration.TotalSeconds;
        _playbackDbfs = Math.Max(levelDbfs, Math.Max(decayed, AudioLevel.SilenceDbfs));
    }

    /// <summary>
    /// Whether the next caller frame had the bot's echo cancelled, and the level of the echo that was
    /// predicted in it (peak-held and decaying like the playback level), and what cancelling leaves of the echo
    /// (dB relative to it): the caller must stand out from that by <see cref="BargeInOptions.CancelledLeftoverMarginDb"/>.
    /// </summary>
    public void ObserveEcho(bool cancelled, double predictedEchoDbfs, TimeSpan frameDuration, double leftoverDb = EchoCanceller.AssumedLeftoverDb)
    {
        _echoCancelled = cancelled;
        _echoMarginDb = Math.Clamp(leftoverDb + _options.CancelledLeftoverMarginDb, _options.MinCancelledEchoMarginDb, 0);
        var decayed = _echoDbfs - _options.PlaybackReleaseDbPerSecond * frameDuration.TotalSeconds;
        _echoDbfs = Math.Max(cancelled ? predictedEchoDbfs : AudioLevel.SilenceDbfs, Math.Max(decayed, AudioLevel.SilenceDbfs));
    }

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

        var floor = _echoCancelled ? _options.CancelledMinLevelDbfs : _options.MinLevelDbfs;
        return Math.Max(floor, Math.Max(overBot, noiseFloorDbfs + _options.NoiseMarginDb));
    }

    /// <summary>
    /// Processes one caller frame (stream time <paramref name="timestamp"/>); returns true once, on
    /// the frame that completes a barge-in, with <paramref name="onset"/> its start. Call
    /// <see cref="Reset"/> when a new playback starts.
    /// </summary>
    public bool Process(ReadOnlySpan<byte> inboundMuLaw, TimeSpan timestamp, out TimeSpan onset, double noiseFloorDbfs = AudioLevel.SilenceDbfs) =>
        ProcessLevel(AudioLevel.MuLawDbfs(inboundMuLaw), timestamp, FrameDuration(inboundMuLaw.Length), out onset, noiseFloorDbfs);

    public bool ProcessLevel(double levelDbfs, TimeSpan timestamp, TimeSpan frameDuration, out TimeSpan onset, double noiseFloorDbfs = AudioLevel.SilenceDbfs)
    {
        onset = default;
        if (_fired)
        {
            return false;
        }

        // With the echo cancelled, the noise floor as it was when the caller began: a speech detector's floor creeps up
        // under their own voice. Over the level rule the floor rising under the echo is what holds the echo back.
        if (_inCandidate && _echoCancelled)
        {
            noiseFloorDbfs = Math.Min(noiseFloorDbfs, _candidateNoiseFloorDbfs);
        }

        if (levelDbfs > ThresholdDbfs(noiseFloorDbfs))
        {
            if (!_inCandidate)
            {
                _inCandidate = true;
                _candidateStart = timestamp;
                _candidateVoiced = TimeSpan.Zero;
                _candidateNoiseFloorDbfs = noiseFloorDbfs;
            }

            _candidateGap = TimeSpan.Zero;
            _candidateVoiced += frameDuration;
            var kept = timestamp + frameDuration - _candidateStart;
            // Over the echo's level rule only voiced frames count: the echo itself passes it now and then.
            var enough = _echoCancelled ? kept >= _options.MinDuration && _candidateVoiced >= _options.MinVoicedShare * kept : _candidateVoiced >= _options.MinDuration;
            if (enough)
            {
                _fired = true;
                onset = _candidateStart;
                return true;
            }
        }
        else if (_inCandidate)
        {
            _candidateGap += frameDuration;
            if (_candidateGap > (_echoCancelled ? _options.CancelledGapTolerance : _options.GapTolerance))
            {
                _inCandidate = false;
            }
        }

        return false;
    }

    /// <summary>Arms the detector for a new playback (keeps the playback level).</summary>
    public void Reset()
    {
        _inCandidate = false;
        _fired = false;
    }

    private TimeSpan FrameDuration(int samples) => TimeSpan.FromTicks(samples * TimeSpan.TicksPerSecond / _options.SampleRate);
}
