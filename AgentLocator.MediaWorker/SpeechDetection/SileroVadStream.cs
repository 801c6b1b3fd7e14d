using Microsoft.ML.OnnxRuntime;

namespace AgentLocator.MediaWorker.SpeechDetection;

/// <summary>
/// One call's audio through the shared <see cref="SileroVadModel"/>: samples are collected into 256-sample
/// windows, each run with the previous window's last 32 samples as context and the call's own state. A
/// window quieter than the energy gate is not run (its probability is 0): the line's silences cost nothing,
/// and after <see cref="StateResetWindows"/> of them the state starts afresh, as for a new utterance. The
/// tensors wrap arrays of this object, created once and bound to the model once (a run allocates nothing); not
/// thread-safe (one per call).
/// </summary>
public sealed class SileroVadStream : IDisposable
{
    /// <summary>Gated windows (about half a second) after which the recurrent state is reset.</summary>
    public const int StateResetWindows = 16;

    private const int InputLength = SileroVadModel.ContextSamples + SileroVadModel.WindowSamples;

    private readonly SileroVadModel _model;
    private readonly float[] _input = new float[InputLength];
    private readonly float[] _state = new float[SileroVadModel.StateLength];
    private readonly float[] _nextState = new float[SileroVadModel.StateLength];
    private readonly float[] _output = new float[1];
    private readonly OrtValue[] _inputs;
    private readonly OrtValue[] _outputs;
    private readonly OrtIoBinding _binding;
    private int _filled;
    private double _sumOfSquares;
    private int _gatedWindows;

    internal SileroVadStream(SileroVadModel model)
    {
        _model = model;
        _inputs =
        [
            OrtValue.CreateTensorValueFromMemory(_input, [1, InputLength]),
            OrtValue.CreateTensorValueFromMemory(_state, [2, 1, 128]),
            OrtValue.CreateTensorValueFromMemory(new long[] { SileroVadModel.SampleRate }, [1]),
        ];
        _outputs =
        [
            OrtValue.CreateTensorValueFromMemory(_output, [1, 1]),
            OrtValue.CreateTensorValueFromMemory(_nextState, [2, 1, 128]),
        ];
        _binding = model.Bind(_inputs, _outputs);
    }

    /// <summary>The speech probability of the last complete window (0 for a gated one).</summary>
    public float Probability { get; private set; }

    /// <summary>Windows run through the model so far.</summary>
    public long WindowsRun { get; private set; }

    /// <summary>Windows skipped by the energy gate so far.</summary>
    public long WindowsGated { get; private set; }

    /// <summary>
    /// Appends samples (8 kHz, full scale ±1); true when a window completed (then <see cref="Probability"/>
    /// is its probability). At most one window completes per call when fewer than 256 samples are pushed.
    /// </summary>
    /// <param name="gateMeanSquare">A window whose mean square is below this is not run.</param>
    public bool Push(ReadOnlySpan<float> samples, double gateMeanSquare)
    {
        var completed = false;
        while (!samples.IsEmpty)
        {
            var take = Math.Min(samples.Length, SileroVadModel.WindowSamples - _filled);
            var target = _input.AsSpan(SileroVadModel.ContextSamples + _filled, take);
            samples[..take].CopyTo(target);
            foreach (var s in target)
            {
                _sumOfSquares += s * s;
            }

            _filled += take;
            samples = samples[take..];
            if (_filled == SileroVadModel.WindowSamples)
            {
                RunWindow(gateMeanSquare);
                completed = true;
            }
        }

        return completed;
    }

    private void RunWindow(double gateMeanSquare)
    {
        if (_sumOfSquares / SileroVadModel.WindowSamples < gateMeanSquare)
        {
            Probability = 0;
            WindowsGated++;
            if (++_gatedWindows == StateResetWindows)
            {
                Array.Clear(_state);
            }
        }
        else
        {
            _model.Run(_binding);
            _nextState.CopyTo(_state, 0);
            Probability = _output[0];
            WindowsRun++;
            _gatedWindows = 0;
        }

        // The window's last 32 samples are the next window's context.
        _input.AsSpan(InputLength - SileroVadModel.ContextSamples).CopyTo(_input);
        _filled = 0;
        _sumOfSquares = 0;
    }

    public void Dispose()
    {
        _binding.Dispose();
        foreach (var value in _inputs)
        {
            value.Dispose();
        }

        foreach (var value in _outputs)
        {
            value.Dispose();
        }
    }
}
