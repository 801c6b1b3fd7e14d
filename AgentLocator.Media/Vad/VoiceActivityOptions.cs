namespace AgentLocator.Media;

/// <summary>Tuning of <see cref="VoiceActivityDetector"/>; the defaults suit 8 kHz phone audio in 20 ms frames.</summary>
public sealed class VoiceActivityOptions
{
    public int SampleRate { get; set; } = 8000;

    /// <summary>Voiced time needed before <see cref="VoiceActivityEventKind.SpeechStarted"/> (clicks and coughs are shorter).</summary>
    public TimeSpan SpeechStartDuration { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Unvoiced gap tolerated while the start is accumulating; a longer gap discards the candidate.</summary>
    public TimeSpan StartGapTolerance { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Silence after the last voiced frame that ends the caller's turn (the hangover).</summary>
    public TimeSpan EndOfTurnSilence { get; set; } = TimeSpan.FromMilliseconds(550);

    /// <summary>A frame starts speech when it is this much louder than the noise floor.</summary>
    public double SpeechMarginDb { get; set; } = 12;

    /// <summary>During speech a frame continues it at this (lower) margin: hysteresis against chopping soft syllables.</summary>
    public double ContinueMarginDb { get; set; } = 8;

    /// <summary>Frames quieter than this are never voice, whatever the noise floor.</summary>
    public double MinSpeechDbfs { get; set; } = -45;

    /// <summary>Noise floor before the first frame; null seeds it from the first frame (clamped to <see cref="MaxInitialNoiseFloorDbfs"/>).</summary>
    public double? InitialNoiseFloorDbfs { get; set; }

    /// <summary>Upper bound of a seeded floor, so a caller who talks at once is still heard.</summary>
    public double MaxInitialNoiseFloorDbfs { get; set; } = -35;

    /// <summary>Per-frame smoothing toward a quieter frame (fast: the floor follows pauses down at once).</summary>
    public double NoiseFloorFallRate { get; set; } = 0.3;

    /// <summary>Per-frame smoothing toward a louder unvoiced frame (slow).</summary>
    public double NoiseFloorRiseRate { get; set; } = 0.03;

    /// <summary>How fast the floor may creep up under continuous "voice", so that a step up in line noise is eventually learned.</summary>
    public double NoiseFloorRiseDbPerSecondDuringVoice { get; set; } = 3;

    internal void Validate()
    {
        if (SampleRate <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(SampleRate), SampleRate, "The sample rate must be positive.");
        }

        if (SpeechStartDuration < TimeSpan.Zero || EndOfTurnSilence <= TimeSpan.Zero || StartGapTolerance < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(EndOfTurnSilence), "Durations must not be negative, and the end-of-turn silence must be positive.");
        }
    }
}
