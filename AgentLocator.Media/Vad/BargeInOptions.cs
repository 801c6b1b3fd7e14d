namespace AgentLocator.Media;

/// <summary>Tuning of <see cref="BargeInDetector"/>.</summary>
public sealed class BargeInOptions
{
    public int SampleRate { get; set; } = 8000;

    /// <summary>Voice the caller must keep up before playback is interrupted (longer than a cough or "mm-hm"), pauses between syllables included.</summary>
    public TimeSpan MinDuration { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>
    /// With the echo cancelled, the voice that is enough once the speech detector hears speech in what is left
    /// (<see cref="ConfirmingSpeech"/> of it without a break, up to the frame before): a caller the model confirms
    /// interrupts sooner than one only the levels speak for. What is left of the echo alone is rarely speech to the
    /// model (about 6 frames a minute in barge-in-eval's hour of −6 dB echo), and such a frame must still pass the level bar.
    /// </summary>
    public TimeSpan ConfirmedMinDuration { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>With the echo cancelled and the caller confirmed, the share of the run that must be voiced (instead of <see cref="MinVoicedShare"/>): a first syllable and a pause after it.</summary>
    public double ConfirmedVoicedShare { get; set; } = 0.5;

    /// <summary>How long the speech detector must have heard speech, without a break, to confirm a caller (<see cref="ConfirmedMinDuration"/>).</summary>
    public TimeSpan ConfirmingSpeech { get; set; } = TimeSpan.FromMilliseconds(60);

    /// <summary>
    /// With the echo cancelled, the share of <see cref="MinDuration"/> that must be voiced frames (the rest: the
    /// dips between a caller's syllables, each at most the gap tolerance); counting voiced frames only would make
    /// the bound depend on how many dips the first words happen to have. Without it (the level rule, which the
    /// echo itself passes now and then), <see cref="MinDuration"/> of voiced frames.
    /// </summary>
    public double MinVoicedShare { get; set; } = 0.6;

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

    /// <summary>
    /// With the bot's echo cancelled (<see cref="EchoCanceller"/>: a locked path or plausible delays), the caller's
    /// residual must be louder than what cancelling leaves of the echo (<see cref="EchoCanceller.EchoLeftoverDb"/>,
    /// measured on the line) plus this margin.
    /// </summary>
    public double CancelledLeftoverMarginDb { get; set; } = 10;

    /// <summary>
    /// Bounds of the resulting margin relative to the predicted echo: a caller never has to be louder than the
    /// echo itself, nor is the bar lower than this under it (what the canceller leaves of the simulated line is
    /// 30–35 dB under the echo, so a caller at the echo's own level, or 15 dB under it, is heard).
    /// </summary>
    public double MinCancelledEchoMarginDb { get; set; } = -30;

    /// <summary>With the echo cancelled, the caller still needs to be above the bot's playback level plus this (a floor for a faint echo path).</summary>
    public double CancelledPlaybackMarginDb { get; set; } = -30;

    /// <summary>
    /// With the echo cancelled, frames quieter than this never interrupt (instead of <see cref="MinLevelDbfs"/>): the
    /// residual is the caller's own voice, whose softer syllables would otherwise break the run of voice.
    /// </summary>
    public double CancelledMinLevelDbfs { get; set; } = -48;

    /// <summary>With the echo cancelled, the unvoiced gap tolerated (instead of <see cref="GapTolerance"/>): the pause between two words.</summary>
    public TimeSpan CancelledGapTolerance { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The caller must be this much above the line's noise floor.</summary>
    public double NoiseMarginDb { get; set; } = 15;

    /// <summary>How fast the remembered playback level decays (covers echo delay and the tail after playback).</summary>
    public double PlaybackReleaseDbPerSecond { get; set; } = 20;

    /// <summary>
    /// How fast the remembered echo level decays on frames the spectral echo model judged (<see cref="EchoCanceller.LastFrameSpectral"/>)
    /// before the adaptive filter first converged (a call's first reply): the model's prediction already carries the room's reverberation
    /// (60 dB in about 300 ms), so holding it at <see cref="PlaybackReleaseDbPerSecond"/> kept the bar on echo that was gone (a caller at
    /// the echo's level who began in a pause of the bot's speech stayed 3–10 dB under a bar held from its last syllable). barge-in-eval
    /// room, within 400 ms: seed 1 156 -> 158 of 240 (first replies 51, unchanged), seed 2 152 -> 159 (first replies 53 -> 60); 0 false
    /// barge-ins. 120 gave seed 2 62 on first replies but cost seed 1's later replies.
    /// </summary>
    public double SpectralEchoReleaseDbPerSecond { get; set; } = 60;
}
