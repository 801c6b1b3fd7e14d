namespace AgentLocator.Media;

/// <summary>Tuning of <see cref="BargeInDetector"/>.</summary>
public sealed class BargeInOptions
{
    public int SampleRate { get; set; } = 8000;

    /// <summary>Voice the caller must keep up before playback is interrupted (longer than a cough or "mm-hm").</summary>
    public TimeSpan MinDuration { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Unvoiced gap tolerated inside <see cref="MinDuration"/>.</summary>
    public TimeSpan GapTolerance { get; set; } = TimeSpan.FromMilliseconds(60);

    /// <summary>Frames quieter than this never interrupt.</summary>
    public double MinLevelDbfs { get; set; } = -38;

    /// <summary>
    /// The caller must be louder than the bot's current playback level plus this margin. The
    /// echo of the bot's own voice on a phone line is typically 15–30 dB below what was sent, so
    /// -10 dB ignores echo yet lets a normal caller through.
    /// </summary>
    public double PlaybackMarginDb { get; set; } = -10;

    /// <summary>The caller must be this much above the line's noise floor.</summary>
    public double NoiseMarginDb { get; set; } = 15;

    /// <summary>How fast the remembered playback level decays (covers echo delay and the tail after playback).</summary>
    public double PlaybackReleaseDbPerSecond { get; set; } = 20;
}

/// <summary>
/// Decides when a caller interrupts the bot's playback (barge-in → send <c>clear</c>). Stricter
/// than <see cref="VoiceActivityDetector"/>: the caller must be loud relative to the bot's own
/// playback level (so echo does not interrupt) and keep talking for <see cref="BargeInOptions.MinDuration"/>.
/// Feed it the bot's frames as they play (<see cref="ObservePlayback"/>) and the caller's frames
/// (<see cref="Process"/>). Allocation-free per frame; not thread-safe.
/// </summary>
public sealed class BargeInDetector
{
    private readonly BargeInOptions _options;
    private double _playbackDbfs = AudioLevel.SilenceDbfs;
    private bool _inCandidate;
    private bool _fired;
    private TimeSpan _candidateStart;
    private TimeSpan _candidateVoiced;
    private TimeSpan _candidateGap;

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

    /// <summary>The level the caller must exceed now.</summary>
    public double ThresholdDbfs(double noiseFloorDbfs) => Math.Max(
        _options.MinLevelDbfs,
        Math.Max(_playbackDbfs + _options.PlaybackMarginDb, noiseFloorDbfs + _options.NoiseMarginDb));

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

        if (levelDbfs > ThresholdDbfs(noiseFloorDbfs))
        {
            if (!_inCandidate)
            {
                _inCandidate = true;
                _candidateStart = timestamp;
                _candidateVoiced = TimeSpan.Zero;
            }

            _candidateGap = TimeSpan.Zero;
            _candidateVoiced += frameDuration;
            if (_candidateVoiced >= _options.MinDuration)
            {
                _fired = true;
                onset = _candidateStart;
                return true;
            }
        }
        else if (_inCandidate)
        {
            _candidateGap += frameDuration;
            if (_candidateGap > _options.GapTolerance)
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
