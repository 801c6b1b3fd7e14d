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
