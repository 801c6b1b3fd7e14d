using AgentLocator.Media;

namespace AgentLocator.MediaWorker.SpeechDetection;

/// <summary>
/// Silero VAD v5 as the call's speech detector: each 20 ms frame is decoded to float and pushed into the
/// call's <see cref="SileroVadStream"/>; when a 32 ms window completes, its probability decides whether
/// frames are voice (at <see cref="SpeechDetectionOptions.Threshold"/> to start, 0.15 lower while speech
/// goes on, as Silero's own iterator does). Turn logic (start, gaps, end of turn) and the noise floor are
/// the energy detector's (<see cref="VoiceActivityDetector.ProcessDecision"/>), so both detectors time a
/// turn the same way and only the voicing decision differs. Two corrections for the model's 32 ms windows
/// and its need for context: a frame quieter than the energy gate is never voice (so speech ends at the
/// last voiced frame, not at the end of the window that held it), and the model confirms an onset after
/// the voice rose (by a window, or a whole word a synthetic or hesitant voice began with), so speech is
/// dated from where the level rose above the noise floor (gaps up to <see cref="OnsetGapTolerance"/>), at
/// most <see cref="MaxOnsetLead"/> earlier: the turn's audio keeps its first word.
/// </summary>
public sealed class SileroSpeechDetector : ISpeechDetector
{
    /// <summary>How far before the model's first voiced window an onset may be dated.</summary>
    public static readonly TimeSpan MaxOnsetLead = TimeSpan.FromSeconds(1);

    /// <summary>Quiet between words that still belongs to the voice the onset is dated from.</summary>
    public static readonly TimeSpan OnsetGapTolerance = TimeSpan.FromMilliseconds(200);

    private const float ContinueMargin = 0.15f;

    /// <summary>A frame this far above the noise floor (and above the energy detector's floor for speech) is where voice may have begun.</summary>
    private const double OnsetMarginDb = 8;
    private static readonly float[] MuLawToFloat = BuildMuLawToFloat();

    private readonly SileroVadStream _model;
    private readonly VoiceActivityDetector _turns;
    private readonly float _threshold;
    private readonly double _gateDbfs;
    private readonly double _gateMeanSquare;
    private bool _windowVoiced;
    private TimeSpan? _loudSince;
    private TimeSpan _lastLoudEnd;

    public SileroSpeechDetector(SileroVadModel model, SpeechDetectionOptions options, TimeSpan endOfTurnSilence)
    {
        _model = model.CreateStream();
        _turns = new VoiceActivityDetector(new VoiceActivityOptions { EndOfTurnSilence = endOfTurnSilence });
        _threshold = options.Threshold;
        _gateDbfs = options.GateDbfs;
        _gateMeanSquare = Math.Pow(10, options.GateDbfs / 10);
    }

    public bool IsSpeaking => _turns.IsSpeaking;

    public bool LastFrameVoiced => _turns.LastFrameVoiced;

    public TimeSpan SpeechStartedAt => _turns.SpeechStartedAt;

    public double NoiseFloorDbfs => _turns.NoiseFloorDbfs;

    /// <summary>The last window's speech probability.</summary>
    public float Probability => _model.Probability;

    /// <summary>Windows run through the model, and windows the energy gate skipped.</summary>
    public (long Run, long Gated) Windows => (_model.WindowsRun, _model.WindowsGated);

    public VoiceActivityEvent Process(ReadOnlySpan<byte> muLaw, TimeSpan timestamp)
    {
        Span<float> samples = muLaw.Length <= 512 ? stackalloc float[muLaw.Length] : new float[muLaw.Length];
        for (var i = 0; i < muLaw.Length; i++)
        {
            samples[i] = MuLawToFloat[muLaw[i]];
        }

        // A frame longer than a window may complete two: the last decides, as the freshest.
        if (_model.Push(samples, _gateMeanSquare))
        {
            var threshold = _windowVoiced || _turns.IsSpeaking ? _threshold - ContinueMargin : _threshold;
            _windowVoiced = _model.Probability >= threshold;
        }

        var level = AudioLevel.MuLawDbfs(muLaw);
        var duration = TimeSpan.FromTicks(muLaw.Length * TimeSpan.TicksPerSecond / SileroVadModel.SampleRate);
        if (level > Math.Max(_turns.Options.MinSpeechDbfs, _turns.NoiseFloorDbfs + OnsetMarginDb))
        {
            _loudSince = _loudSince is { } since && timestamp - _lastLoudEnd <= OnsetGapTolerance ? since : timestamp;
            _lastLoudEnd = timestamp + duration;
        }
        else if (timestamp - _lastLoudEnd > OnsetGapTolerance)
        {
            _loudSince = null;
        }

        var began = _loudSince is { } loudSince && timestamp - loudSince > MaxOnsetLead ? timestamp - MaxOnsetLead : _loudSince;
        var voiced = _windowVoiced && level >= _gateDbfs;
        return _turns.ProcessDecision(voiced, level, timestamp, duration, began);
    }

    public void Dispose() => _model.Dispose();

    private static float[] BuildMuLawToFloat()
    {
        var table = new float[256];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = MuLaw.Decode((byte)i) / 32768f;
        }

        return table;
    }
}

/// <summary>Every call's <see cref="SileroSpeechDetector"/> over the one shared model, which it owns.</summary>
public sealed class SileroSpeechDetectorFactory(SileroVadModel model, SpeechDetectionOptions options) : ISpeechDetectorFactory, IDisposable
{
    public string Name => "silero";

    public SileroVadModel Model => model;

    public ISpeechDetector Create(TimeSpan endOfTurnSilence) => new SileroSpeechDetector(model, options, endOfTurnSilence);

    public void Dispose() => model.Dispose();
}
