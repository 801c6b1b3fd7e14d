using NWaves.Transforms;

namespace AgentLocator.Media;

/// <summary>
/// Hears the caller in what the adaptive filter (<see cref="PartitionedEchoFilter"/>) leaves of a speakerphone's echo, band by
/// band, as WebRTC AEC3's residual echo estimator and suppression gain do: the residual echo of band b is estimated from the
/// filter's own echo estimate, <c>residualEcho_b = leftover_b · echo_b</c>, where the echo estimate is held over the room's
/// reverberation beyond the filter (decaying <see cref="TailDecay"/> per frame) and <c>leftover_b</c> (the inverse of the band's
/// ERLE) is learned on frames the filter cancelled well (no caller over the echo). The caller is the power of the bands
/// where the residual clearly exceeds that estimate (<see cref="Margin"/>): a loud syllable of the bot's that the filter
/// leaves more of (a clip's distortion) stays in the bands of the echo, while a caller's voice, whose spectrum is not the
/// bot's, shows in bands the echo leaves nearly clean. <see cref="Gain"/> scales the frame's residual down to that power.
/// <para>
/// Bands of <see cref="SpectralEchoModel"/> (300–3400 Hz, 256-point FFT, Hann window, over the last 256 samples). Allocation-free
/// per frame; per call, not thread-safe.
/// </para>
/// </summary>
public sealed class ResidualEchoSuppressor
{
    public const int FftSize = SpectralEchoModel.FftSize;

    public const int Bands = SpectralEchoModel.Bands;

    /// <summary>The leftover each band starts from before it is learned: the filter's convergence bar (−8 dB).</summary>
    public static readonly float AssumedLeftover = (float)Math.Pow(10, -PartitionedEchoFilter.ConvergedErleDb / 10);

    /// <summary>The residual of a band must exceed this multiple of its estimated residual echo (+6 dB) before the excess is the caller's.</summary>
    public const float Margin = 4f;

    /// <summary>How the echo estimate of a band is held after the filter's prediction fell (per 20 ms frame: about −4 dB, an RT60 of ~300 ms).</summary>
    public const float TailDecay = 0.4f;

    /// <summary>Learning frames: the frame's residual is at most this share of the echo predicted (≥ 3 dB taken out: no caller at the echo's level).</summary>
    public const float LearnShare = 0.5f;

    /// <summary>The least gain (−30 dB): what the suppression leaves of a frame it takes to be the echo alone.</summary>
    public const float GainFloor = 0.03f;

    /// <summary>Forgetting of the learned leftover per learning frame (about 1 s of them).</summary>
    private const float Forgetting = 0.95f;

    /// <summary>The weight the assumed leftover starts with, in learning frames.</summary>
    private const float PriorFrames = 10;

    private static readonly float[] Hann = BuildHann();

    private readonly RealFft _fft = new(FftSize);
    private readonly float[] _windowed = new float[FftSize];
    private readonly float[] _re = new float[FftSize / 2 + 1];
    private readonly float[] _im = new float[FftSize / 2 + 1];
    private readonly float[] _residual = new float[Bands];
    private readonly float[] _echo = new float[Bands];
    private readonly float[] _held = new float[Bands];
    private readonly float[] _leftResidual = new float[Bands];
    private readonly float[] _leftEcho = new float[Bands];

    public ResidualEchoSuppressor() => Reset();

    /// <summary>The last frame's gain on the residual: the square root of the share of its band power that is the caller's.</summary>
    public float Gain { get; private set; } = 1;

    /// <summary>The learned leftover of band <paramref name="band"/> (residual echo over echo estimate).</summary>
    public float Leftover(int band) => _leftResidual[band] / _leftEcho[band];

    /// <summary>
    /// One frame: the last <see cref="FftSize"/> samples of the filter's residual and of its echo estimate (newest last), and whether the
    /// frame teaches the leftovers (<paramref name="learn"/>: the filter converged and aligned, its frame residual under
    /// <see cref="LearnShare"/> of the echo predicted, which the caller decides). Sets <see cref="Gain"/>.
    /// </summary>
    public void Process(ReadOnlySpan<float> residual, ReadOnlySpan<float> echo, bool learn)
    {
        BandPowers(residual, _residual);
        BandPowers(echo, _echo);
        float total = 0, caller = 0;
        for (var b = 0; b < Bands; b++)
        {
            _held[b] = Math.Max(_echo[b], TailDecay * _held[b]);
            if (learn)
            {
                _leftResidual[b] = Forgetting * _leftResidual[b] + _residual[b];
                _leftEcho[b] = Forgetting * _leftEcho[b] + _held[b];
            }

            total += _residual[b];
            caller += Math.Max(0, _residual[b] - Margin * Leftover(b) * _held[b]);
        }

        Gain = total <= 0 ? 1 : Math.Max(GainFloor, MathF.Sqrt(caller / total));
    }

    /// <summary>Forgets the held echo and the learned leftovers (the filter restarted on a new path).</summary>
    public void Reset()
    {
        Array.Clear(_held);
        // A prior of PriorFrames frames at the assumed leftover, of an echo at about −30 dBFS (white: a band's windowed power ≈ 0.5).
        const float echoPower = 0.5f;
        Array.Fill(_leftEcho, PriorFrames * echoPower);
        Array.Fill(_leftResidual, PriorFrames * echoPower * AssumedLeftover);
        Gain = 1;
    }

    private void BandPowers(ReadOnlySpan<float> samples, Span<float> bands)
    {
        samples = samples[^FftSize..];
        for (var n = 0; n < FftSize; n++)
        {
            _windowed[n] = samples[n] * Hann[n];
        }

        _fft.Direct(_windowed, _re, _im);
        for (var b = 0; b < Bands; b++)
        {
            var sum = 0f;
            var from = SpectralEchoModel.LowBin + b * SpectralEchoModel.BinsPerBand;
            for (var k = from; k < from + SpectralEchoModel.BinsPerBand; k++)
            {
                sum += _re[k] * _re[k] + _im[k] * _im[k];
            }

            bands[b] = sum;
        }
    }

    private static float[] BuildHann()
    {
        var window = new float[FftSize];
        for (var n = 0; n < FftSize; n++)
        {
            window[n] = 0.5f - 0.5f * MathF.Cos(2 * MathF.PI * n / FftSize);
        }

        return window;
    }
}
