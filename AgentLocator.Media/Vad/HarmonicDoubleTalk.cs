namespace AgentLocator.Media;

/// <summary>
/// Double talk told by the voice's pitch: voiced speech repeats itself every pitch period, and an echo, however a speakerphone in
/// a room bends it (band-passed, soft-clipped, reverberant), repeats at the period of the bot's audio it echoes. A caller's voice
/// repeats at their own. Per 20 ms frame, the normalized correlation of the frame with the audio τ samples before it
/// (<c>Σ x[n]·x[n−τ] / √(Σ x[n]² · Σ x[n−τ]²)</c>, τ from <see cref="MinLag"/> to <see cref="MaxLag"/>: 400–80 Hz) peaks near 1 at its
/// period. A loud frame that repeats (<see cref="VoicedCorrelation"/>) at a lag at which the bot's audio at the echo's delay does not
/// (below <see cref="BotCorrelation"/> within ±<see cref="LagTolerance"/>, nor at 2 or 3 times it, in the frame at the delay or the one
/// either side: the room's reverberation and a delay a block off), and the frame before it did so too at nearly the same lag (a pitch track, not a chance
/// peak), is a voice that is not the bot's (<see cref="ForeignFrames"/>).
/// <para>
/// Where it helps: a caller at the echo's level whose voice the spectral fit takes into its gains, in the frames where the bot's
/// audio at the delay is unvoiced or silent (between its words) and the caller's is voiced. Over frames where both are voiced, the
/// echo's periodicity mostly wins, and a caller at the bot's pitch, or an octave or a twelfth above it, is not told apart:
/// the test only adds evidence, it never takes a caller for the echo. No octave between the voices is assumed (barge-in-eval's bot
/// voice is at 95–140 Hz, its callers' at 85–120 Hz). Judged on demand (a barge-in's echo check: about 550 thousand multiply-adds, vectorized,
/// per delay over a 400 ms window), not per frame. Allocation-free after the first call; not thread-safe.
/// </para>
/// </summary>
public sealed partial class HarmonicDoubleTalk
{
    public const int FrameSamples = 160;

    /// <summary>The shortest period looked for (400 Hz) and the longest (80 Hz), in samples at 8 kHz.</summary>
    public const int MinLag = 20;

    public const int MaxLag = 100;

    /// <summary>A frame repeats at its period when its correlation there is at least this (voiced speech alone: 0.7–0.99).</summary>
    public const float VoicedCorrelation = 0.7f;

    /// <summary>The bot's audio repeats at a lag when its correlation there is at least this.</summary>
    public const float BotCorrelation = 0.7f;

    /// <summary>Samples either side of the frame's period at which the bot's audio is looked at.</summary>
    public const int LagTolerance = 1;

    /// <summary>Frames of the bot's audio before the one at the echo's delay whose period may still sound in the frame (the room's reverberation; a delay estimated short).</summary>
    public const int TailFrames = 1;

    /// <summary>Frames of the bot's audio after it (a delay estimated long).</summary>
    public const int LeadFrames = 1;

    /// <summary>The bot's audio repeats at the frame's period also when it repeats at up to this many times it: the frame's period is a fraction of the bot's (its echo, band-limited, keeps only higher harmonics).</summary>
    public const int Multiples = 3;

    /// <summary>How far (samples) the period of two consecutive foreign frames may differ for the second to continue the first's pitch track.</summary>
    public const int TrackStep = 4;

    /// <summary>
    /// A window with at least this many foreign frames is not the echo alone. (In barge-in-eval's room runs the echo checks the spectral
    /// fit explained of the echo alone had none: seed 5, 566 checks; seeds 1 and 2, 1,067 checks without <see cref="Multiples"/>, which
    /// only makes fewer. Without it seed 5's echo alone had 5, at a third of the bot's period, and interrupted two replies. Of seed 5's
    /// 276 such checks in its caller runs, 17 had some.)
    /// </summary>
    public const int DoubleTalkFrames = 1;

    private const int Lags = MaxLag - MinLag + 1;

    private readonly float[] _dots = new float[Lags];
    private readonly float[] _own = new float[Lags];
    private float[] _reference = [];

    /// <summary>
    /// How many of the <paramref name="frames"/> frames of <paramref name="inbound"/> (among those of at least <paramref name="minEnergy"/>,
    /// a sum of squares over the frame) repeat at a lag the bot's audio does not, continuing a foreign pitch track from the frame before.
    /// <paramref name="inbound"/>: the frames and the <see cref="MaxLag"/> samples before them. <paramref name="reference"/>: the bot's audio
    /// at the echo's delay, aligned with them, with <see cref="TailFrames"/> frames and <see cref="MaxLag"/> samples before them and
    /// <see cref="LeadFrames"/> frames after them when <paramref name="after"/> (the delay is that long at least).
    /// </summary>
    public int ForeignFrames(ReadOnlySpan<float> inbound, ReadOnlySpan<float> reference, int frames, bool after, float minEnergy)
    {
        if (inbound.Length != frames * FrameSamples + MaxLag)
        {
            throw new ArgumentException("The inbound audio is the frames and the longest lag before them.", nameof(inbound));
        }

        var referenceFrames = TailFrames + frames + (after ? LeadFrames : 0);
        if (reference.Length != referenceFrames * FrameSamples + MaxLag)
        {
            throw new ArgumentException("The reference is the frames, the frames either side and the longest lag before them.", nameof(reference));
        }

        if (_reference.Length < referenceFrames * Lags)
        {
            _reference = new float[referenceFrames * Lags];
        }

        for (var m = 0; m < referenceFrames; m++)
        {
            Correlations(reference, MaxLag + m * FrameSamples, _reference.AsSpan(m * Lags, Lags));
        }

        return TrackedFrames(inbound, frames, minEnergy, referenceFrames);
    }

    /// <summary>
    /// How many of the <paramref name="frames"/> frames of <paramref name="inbound"/> (among those of at least <paramref name="minEnergy"/>)
    /// repeat at a period (<see cref="VoicedCorrelation"/>) continuing a pitch track from the frame before: voiced speech, whoever's.
    /// <paramref name="inbound"/>: the frames and the <see cref="MaxLag"/> samples before them.
    /// </summary>
    public int VoicedFrames(ReadOnlySpan<float> inbound, int frames, float minEnergy)
    {
        if (inbound.Length != frames * FrameSamples + MaxLag)
        {
            throw new ArgumentException("The inbound audio is the frames and the longest lag before them.", nameof(inbound));
        }

        return TrackedFrames(inbound, frames, minEnergy, referenceFrames: 0, minPitchMove: VoicePitchMove);
    }

    /// <summary>
    /// How far (samples of period) a voice's pitch moves over the frames it is tracked in (<see cref="VoicedFrames"/>), at the least: a
    /// speaker's pitch glides from frame to frame; mains hum, a transformer's buzz, a held note or a phone's ring keeps one period.
    /// </summary>
    public const int VoicePitchMove = 2;

    /// <summary>
    /// Frames repeating at a period, continuing such a frame before them within <see cref="TrackStep"/>; with <paramref name="referenceFrames"/>
    /// of the bot's audio prepared (<see cref="ForeignFrames"/>), only at a period the bot's audio there lacks.
    /// </summary>
    private int TrackedFrames(ReadOnlySpan<float> inbound, int frames, float minEnergy, int referenceFrames, int minPitchMove = 0)
    {
        var tracked = 0;
        int lastLag = -1, lastFrame = -2; // the last such frame and its period (none yet)
        int lowest = int.MaxValue, highest = int.MinValue; // the periods of the tracked frames and those they continue
        for (var k = 0; k < frames; k++)
        {
            var start = MaxLag + k * FrameSamples;
            if (FixedOrderMath.Energy(inbound.Slice(start, FrameSamples)) < Math.Max(minEnergy, float.Epsilon))
            {
                continue;
            }

            Correlations(inbound, start, _own);
            var period = Period(_own);

            if (_own[period] < VoicedCorrelation || (referenceFrames > 0 && BotRepeatsAt(period, k, referenceFrames)))
            {
                continue;
            }

            if (lastFrame == k - 1 && Math.Abs(lastLag - period) <= TrackStep)
            {
                tracked++;
                lowest = Math.Min(lowest, Math.Min(lastLag, period));
                highest = Math.Max(highest, Math.Max(lastLag, period));
            }

            (lastLag, lastFrame) = (period, k);
        }

        return tracked > 0 && highest - lowest >= minPitchMove ? tracked : 0;
    }

    /// <summary>
    /// Whether the bot's audio repeats within ±<see cref="LagTolerance"/> of lag index <paramref name="period"/>, or of a multiple of it up to
    /// <see cref="Multiples"/>, at inbound frame <paramref name="k"/>'s delay, in the <see cref="TailFrames"/> frames before or the <see cref="LeadFrames"/> after.
    /// </summary>
    private bool BotRepeatsAt(int period, int k, int referenceFrames)
    {
        // Reference frame TailFrames + k is the one at the delay.
        for (var m = k; m <= Math.Min(referenceFrames - 1, k + TailFrames + LeadFrames); m++)
        {
            var row = _reference.AsSpan(m * Lags, Lags);
            for (var times = 1; times <= Multiples && times * (period + MinLag) - LagTolerance <= MaxLag; times++)
            {
                var lag = times * (period + MinLag) - MinLag;
                for (var j = Math.Max(0, lag - LagTolerance); j <= Math.Min(Lags - 1, lag + LagTolerance); j++)
                {
                    if (row[j] >= BotCorrelation)
                    {
                        return true;
                    }
                }
            }
        }

        return false;
    }

    /// <summary><paramref name="into"/>[τ − <see cref="MinLag"/>]: the normalized correlation of the frame at <paramref name="start"/> with the audio τ samples before it.</summary>
    private void Correlations(ReadOnlySpan<float> audio, int start, Span<float> into)
    {
        var frame = audio.Slice(start, FrameSamples);
        var frameEnergy = FixedOrderMath.Energy(frame);
        if (frameEnergy <= 1e-9f)
        {
            into.Clear();
            return;
        }

        // _dots[j] = Σ frame[i]·audio[start − MaxLag + j + i]: lag τ = MaxLag − j.
        var from = start - MaxLag;
        FixedOrderMath.DotAtLags(frame, audio.Slice(from, FrameSamples + Lags - 1), _dots);

        // The energy of the frame-long stretch τ samples back, slid one sample per lag.
        var shifted = FixedOrderMath.Energy(audio.Slice(from, FrameSamples));
        for (var j = 0; j < Lags; j++)
        {
            if (j > 0)
            {
                var gone = audio[from + j - 1];
                var come = audio[from + j - 1 + FrameSamples];
                shifted = Math.Max(0, shifted - gone * gone + come * come);
            }

            into[MaxLag - j - MinLag] = shifted <= 1e-9f ? 0 : _dots[j] / MathF.Sqrt(frameEnergy * shifted);
        }
    }
}
