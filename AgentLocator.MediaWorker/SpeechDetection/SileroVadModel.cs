using Microsoft.ML.OnnxRuntime;

namespace AgentLocator.MediaWorker.SpeechDetection;

/// <summary>
/// The Silero VAD v5 model (<c>silero_vad_v5.onnx</c>, MIT), loaded once and shared by every call: ONNX
/// Runtime's <c>Run</c> is thread-safe, and each call keeps its own recurrent state in a
/// <see cref="SileroVadStream"/>. At 8 kHz the model takes 256-sample windows (32 ms) preceded by the
/// previous window's last 32 samples, a [2, 1, 128] state and the sample rate, and returns the window's
/// speech probability and the next state. One thread per run: the calls are the parallelism.
/// </summary>
public sealed class SileroVadModel : IDisposable
{
    public const int SampleRate = 8000;
    public const int WindowSamples = 256;
    public const int ContextSamples = 32;
    public const int StateLength = 2 * 1 * 128;

    private static readonly string[] InputNames = ["input", "state", "sr"];
    private static readonly string[] OutputNames = ["output", "stateN"];

    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();

    private SileroVadModel(InferenceSession session, string path)
    {
        _session = session;
        Path = path;
    }

    /// <summary>Where the model was loaded from.</summary>
    public string Path { get; }

    /// <summary>Loads the model; fails with the path in the message when the file is not a Silero v5 model.</summary>
    public static SileroVadModel Load(string path)
    {
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        InferenceSession session;
        try
        {
            session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException($"'{path}' is not a loadable ONNX model: {ex.Message}", ex);
        }

        var missing = InputNames.Where(n => !session.InputMetadata.ContainsKey(n))
            .Concat(OutputNames.Where(n => !session.OutputMetadata.ContainsKey(n)))
            .ToList();
        if (missing.Count > 0)
        {
            session.Dispose();
            throw new InvalidDataException($"'{path}' is not the Silero VAD v5 model: it lacks {string.Join(", ", missing)}.");
        }

        return new SileroVadModel(session, path);
    }

    /// <summary>A new call's state over this model.</summary>
    public SileroVadStream CreateStream() => new(this);

    /// <summary>
    /// A call's inputs and outputs bound to the model once (in <see cref="InputNames"/> and <see cref="OutputNames"/> order), so a run
    /// marshals no names and allocates nothing (<see cref="Run(OrtIoBinding)"/>).
    /// </summary>
    internal OrtIoBinding Bind(IReadOnlyList<OrtValue> inputs, IReadOnlyList<OrtValue> outputs)
    {
        var binding = _session.CreateIoBinding();
        for (var i = 0; i < InputNames.Length; i++)
        {
            binding.BindInput(InputNames[i], inputs[i]);
        }

        for (var i = 0; i < OutputNames.Length; i++)
        {
            binding.BindOutput(OutputNames[i], outputs[i]);
        }

        return binding;
    }

    internal void Run(OrtIoBinding binding) => _session.RunWithBinding(_runOptions, binding);

    public void Dispose()
    {
        _session.Dispose();
        _runOptions.Dispose();
    }
}
