using System.ComponentModel.DataAnnotations;

namespace AgentLocator.MediaWorker.SpeechDetection;

/// <summary>Which speech detector runs and its tuning (configuration section <c>SpeechDetection</c>).</summary>
public sealed class SpeechDetectionOptions
{
    public const string Section = "SpeechDetection";

    /// <summary>The file name the build puts under <c>vad/</c> beside the executable (from assets/vad).</summary>
    public const string ModelFileName = "silero_vad_v5.onnx";

    /// <summary>
    /// The Silero VAD v5 model; default <c>vad/silero_vad_v5.onnx</c> beside the executable. When the file
    /// is absent the energy detector runs instead (logged at start as <c>SPEECH_DETECTOR</c>).
    /// </summary>
    public string ModelPath { get; set; } = Path.Combine(AppContext.BaseDirectory, "vad", ModelFileName);

    /// <summary>A window whose speech probability reaches this starts speech (Silero's default, 0.5).</summary>
    [Range(0.05, 0.95)]
    public float Threshold { get; set; } = 0.5f;

    /// <summary>
    /// Windows quieter than this are not run through the model (probability 0): line silence costs nothing.
    /// Below the energy detector's floor for speech (-45 dBFS), so no caller the energy detector hears is gated.
    /// </summary>
    [Range(-96.0, -20.0)]
    public double GateDbfs { get; set; } = -55;
}
