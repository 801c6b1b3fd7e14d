namespace AgentLocator.Media;

/// <summary>
/// Energy-based voice activity detection for one caller's audio, frame by frame (20 ms = 160
/// mu-law bytes at 8 kHz, though any frame length works). A frame is voice when its RMS level is
/// a margin above an adaptive noise floor; speech starts after <see cref="VoiceActivityOptions.SpeechStartDuration"/>
/// of voice and the turn ends after <see cref="VoiceActivityOptions.EndOfTurnSilence"/> without voice.
/// Timing comes from the frames' timestamps (Twilio's <c>media.timestamp</c>), so it is deterministic
/// and testable. Allocation-free per frame; not thread-safe (one per call).
/// </summary>
public sealed class VoiceActivityDetector
{
    private readonly VoiceActivityOptions _options;
    private State _state;
    private bool _floorSeeded;
    private TimeSpan _candidateStart;
    private TimeSpan _candidateVoiced;
    private TimeSpan _candidateGap;
    private TimeSpan _speechStart;
    private TimeSpan _lastVoicedEnd;

    public VoiceActivityDetector(VoiceActivityOptions? options = null)
    {
        _options = options ?? new VoiceActivityOptions();
        _options.Validate();
        Reset();
    }

    private enum State
    {
        Silence,
        Starting,
        Speaking,
    }

    public VoiceActivityOptions Options => _options;

    /// <summary>True between SpeechStarted and SpeechEnded.</summary>
    public bool IsSpeaking => _state == State.Speaking;

    public double NoiseFloorDbfs { get; private set; }

    public double LastLevelDbfs { get; private set; } = AudioLevel.SilenceDbfs;

    public bool LastFrameVoiced { get; private set; }

    /// <summary>The onset of the current (or last) speech.</summary>
    public TimeSpan SpeechStartedAt => _speechStart;

    /// <summary>The level a frame must exceed to count as voice right now.</summary>
    public double ThresholdDbfs => Math.Max(
        _options.MinSpeechDbfs,
        NoiseFloorDbfs + (_state == State.Speaking ? _options.ContinueMarginDb : _options.SpeechMarginDb));

    public void Reset()
    {
        _state = State.Silence;
        _floorSeeded = _options.InitialNoiseFloorDbfs.HasValue;
        NoiseFloorDbfs = _options.InitialNoiseFloorDbfs ?? _options.MaxInitialNoiseFloorDbfs;
        LastLevelDbfs = AudioLevel.SilenceDbfs;
        LastFrameVoiced = false;
    }

    /// <summary>Processes one mu-law frame that starts at <paramref name="timestamp"/> (stream time).</summary>
    public VoiceActivityEvent Process(ReadOnlySpan<byte> muLaw, TimeSpan timestamp) =>
        ProcessLevel(AudioLevel.MuLawDbfs(muLaw), timestamp, FrameDuration(muLaw.Length));

    /// <summary>Processes one PCM16 frame that starts at <paramref name="timestamp"/> (stream time).</summary>
    public VoiceActivityEvent Process(ReadOnlySpan<short> pcm, TimeSpan timestamp) =>
        ProcessLevel(AudioLevel.Pcm16Dbfs(pcm), timestamp, FrameDuration(pcm.Length));

    /// <summary>The detector's core, for callers that already know a frame's level.</summary>
    public VoiceActivityEvent ProcessLevel(double levelDbfs, TimeSpan timestamp, TimeSpan frameDuration)
    {
        SeedNoiseFloor(levelDbfs);
        return ProcessDecision(levelDbfs > ThresholdDbfs, levelDbfs, timestamp, frameDuration);
    }

    /// <summary>
    /// The detector's turn logic (start, gaps, end of turn) and noise floor for a frame whose voicing was
    /// decided by other means (a speech model): <paramref name="voiced"/> replaces the energy threshold.
    /// </summary>
    /// <param name="voiceBeganAt">
    /// Where the voice of a frame that starts speech began, when the deciding model confirms it later than it
    /// rose (a model needs a window or two of context); null: at this frame.
    /// </param>
    public VoiceActivityEvent ProcessDecision(bool voiced, double levelDbfs, TimeSpan timestamp, TimeSpan frameDuration, TimeSpan? voiceBeganAt = null)
    {
        SeedNoiseFloor(levelDbfs);
        LastLevelDbfs = levelDbfs;
        LastFrameVoiced = voiced;
        UpdateNoiseFloor(levelDbfs, voiced, frameDuration);

        var frameEnd = timestamp + frameDuration;
        switch (_state)
        {
            case State.Silence when voiced:
                _state = State.Starting;
                _candidateStart = voiceBeganAt is { } began && began < timestamp ? began : timestamp;
                _candidateVoiced = TimeSpan.Zero;
                _candidateGap = TimeSpan.Zero;
                return Accumulate(frameDuration, frameEnd);

            case State.Starting when voiced:
                _candidateGap = TimeSpan.Zero;
                return Accumulate(frameDuration, frameEnd);

            case State.Starting:
                _candidateGap += frameDuration;
                if (_candidateGap > _options.StartGapTolerance)
                {
                    _state = State.Silence;
                }

                return VoiceActivityEvent.None;

            case State.Speaking when voiced:
                _lastVoicedEnd = frameEnd;
                return VoiceActivityEvent.None;

            case State.Speaking when frameEnd - _lastVoicedEnd >= _options.EndOfTurnSilence:
                _state = State.Silence;
                return new VoiceActivityEvent(VoiceActivityEventKind.SpeechEnded, _lastVoicedEnd, _lastVoicedEnd - _speechStart);

            default:
                return VoiceActivityEvent.None;
        }
    }

    private void SeedNoiseFloor(double levelDbfs)
    {
        if (!_floorSeeded)
        {
            NoiseFloorDbfs = Math.Min(levelDbfs, _options.MaxInitialNoiseFloorDbfs);
            _floorSeeded = true;
        }
    }

    private VoiceActivityEvent Accumulate(TimeSpan frameDuration, TimeSpan frameEnd)
    {
        _candidateVoiced += frameDuration;
        _lastVoicedEnd = frameEnd;
        if (_candidateVoiced < _options.SpeechStartDuration)
        {
            return VoiceActivityEvent.None;
        }

        _state = State.Speaking;
        _speechStart = _candidateStart;
        return new VoiceActivityEvent(VoiceActivityEventKind.SpeechStarted, _candidateStart, TimeSpan.Zero);
    }

    private void UpdateNoiseFloor(double levelDbfs, bool voiced, TimeSpan frameDuration)
    {
        var floor = NoiseFloorDbfs;
        if (levelDbfs < floor)
        {
            floor += (levelDbfs - floor) * _options.NoiseFloorFallRate;
        }
        else if (!voiced && _state != State.Speaking)
        {
            floor += (levelDbfs - floor) * _options.NoiseFloorRiseRate;
        }
        else
        {
            floor = Math.Min(levelDbfs, floor + _options.NoiseFloorRiseDbPerSecondDuringVoice * frameDuration.TotalSeconds);
        }

        NoiseFloorDbfs = Math.Max(floor, AudioLevel.SilenceDbfs);
    }

    private TimeSpan FrameDuration(int samples) => TimeSpan.FromTicks(samples * TimeSpan.TicksPerSecond / _options.SampleRate);
}
