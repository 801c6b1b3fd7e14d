using AgentLocator.Media;

namespace AgentLocator.MediaWorker.SpeechDetection;

/// <summary>
/// Silero VAD v5 as the call's speech detector: each 20 ms frame is decoded to float and pushed into the
/// call's <see cref="SileroVadStream"/>; when a 32 ms window completes, its probability decides whether
/// frames are voice (at <see cref="SpeechDetectionOptions.Threshold"/> to start, 0.15 lower while speech
/// goes on, as Silero's own iterator does). Turn logic (start, gaps, end of turn) and the noise floor are
/// the energy detector's (<see cref="VoiceActivityDetector.ProcessDecision"/>), so both detectors time a
/// turn the same way and only the voicing decision differs. The model confirms an onset a window or more
/// after the voice rose (it needs context); the speech is dated from where the level rose above the noise
/// floor, at most <see cref="MaxOnsetLead"/> earlier, so the turn's audio keeps its first syllable.
/// </summary>
public sealed class SileroSpeechDetector : ISpeechDetector
{
    /// <summary>How far before the model's first voiced window an onset may be dated.</summary>
    public static readonly TimeSpan MaxOnsetLead = TimeSpan.FromMilliseconds(300);

    private const float ContinueMargin = 0.15f;

    /// <summary>A frame this far above the noise floor (and above the energy detector's floor for speech) is where voice may have begun.</summary>
    private const double OnsetMarginDb = 8;
    private static readonly float[] MuLawToFloat = BuildMuLawToFloat();

    private readonly SileroVadStream _model;
    private readonly VoiceActivityDetector _turns;
    private readonly float _threshold;
    private readonly double _gateMeanSquare;
    private bool _windowVoiced;
    private TimeSpan? _loudSince;

    public SileroSpeechDetector(SileroVadModel model, SpeechDetectionOptions options, TimeSpan endOfTurnSilence)
    {
        _model = model.CreateStream();
        _turns = new VoiceActivityDetector(new VoiceActivityOptions { EndOfTurnSilence = endOfTurnSilence });
        _threshold = options.Threshold;
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
        var loud = level > Math.Max(_turns.Options.MinSpeechDbfs, _turns.NoiseFloorDbfs + OnsetMarginDb);
        _loudSince = loud ? _loudSince ?? timestamp : null;
        var began = _loudSince is { } since && timestamp - since > MaxOnsetLead ? timestamp - MaxOnsetLead : _loudSince;
        var duration = TimeSpan.FromTicks(muLaw.Length * TimeSpan.TicksPerSecond / SileroVadModel.SampleRate);
        return _turns.ProcessDecision(_windowVoiced, level, timestamp, duration, began);
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
