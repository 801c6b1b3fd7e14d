namespace AgentLocator.Media;

/// <summary>
/// Pitch double talk where both voices are voiced: the bot's periods combed out of the line. Over a frame where the bot's audio at the
/// echo's delay is voiced, the echo repeats at the bot's period, and a room keeps that period though it smears it; a caller's voice
/// repeats at theirs. Each voiced period of the bot's audio at the delay and in the <see cref="CombTailFrames"/> frames before it (the
/// room's reverberation of the bot's earlier pitch) is cancelled from the frame in turn by a three-tap long-term predictor
/// (<c>e[n] = x[n] − Σ g_j·x[n − T + j]</c>, j = −1..1, the gains fitted to the frame by least squares: a comb). The echo alone is mostly
/// cancelled; a caller's voice is not (it does not repeat at the bot's periods), and what is left still repeats at the caller's period,
/// which a comb, being linear, keeps. A loud frame the combs leave at least <see cref="CombLeftShare"/> of, and whose remainder repeats
/// (<see cref="CombRestCorrelation"/>) at a lag that is not within 2 samples of a combed period, nor of 2 or 3 times one, nor of a half or a
/// third of one, continuing such a frame before it within <see cref="TrackStep"/> samples, is a second voice (<see cref="CombForeignFrames"/>).
/// <para>
/// barge-in-eval's room runs, seeds 1–2 (the 1,499 echo checks the spectral fit and the single-voice pitch test took for the echo alone,
/// 115 of them with a caller's voice in the window): the combs left a median 21 % of the echo alone's bot-voiced frames (90th percentile
/// 63 %, 99th 88 %) and 67 % of frames a caller's voice carried 30 % or more of (10th percentile 36 %); a room smears the bot's pitch
/// enough that a frame's share left alone does not tell them apart, and the remainder's own periodicity must confirm it.
/// </para>
/// <para>
/// Judged on demand, after the spectral fit and the single-voice test took the window for the echo alone: about 0.9 million multiply-adds
/// per delay over a 400 ms window (the reference frames' correlations once, then per loud frame up to 5 combs and the remainder's correlation).
/// </para>
/// </summary>
public sealed partial class HarmonicDoubleTalk
{
    /// <summary>Frames of the bot's audio before the one at the echo's delay whose periods are combed out too (the room's reverberation).</summary>
    public const int CombTailFrames = 4;

    /// <summary>A frame of the bot's audio repeats at its period (and is combed out) when its correlation there is at least this.</summary>
    public const float CombBotVoiced = 0.5f;

    /// <summary>Only frames where the bot's audio at the delay itself is voiced this much are judged (elsewhere <see cref="ForeignFrames"/> tells).</summary>
    public const float CombDelayVoiced = 0.8f;

    /// <summary>A frame the combs leave at least this share of (its energy) is not the bot's echo alone, if what is left repeats.</summary>
    public const float CombLeftShare = 0.55f;

    /// <summary>What the combs left repeats at a lag when its normalized correlation there is at least this.</summary>
    public const float CombRestCorrelation = 0.55f;

    /// <summary>A window with at least this many combed frames continuing a foreign pitch track is not the echo alone.</summary>
    public const int CombDoubleTalkFrames = 1;

    /// <summary>Inbound samples a combed frame needs before it: a lag's worth (and a tap) per comb, and the longest lag of the remainder's correlation.</summary>
    public const int CombHistory = (CombTailFrames + 1) * (MaxLag + 2) + MaxLag;

    private const int MaxCombs = CombTailFrames + 1;

    private readonly float[] _combed = new float[CombHistory + FrameSamples];
    private readonly float[] _rest = new float[Lags];
    private readonly int[] _combLags = new int[MaxCombs];
    private float[] _referencePeriods = [];
    private float[] _referenceVoicing = [];

    /// <summary>
    /// How many of the <paramref name="frames"/> frames of <paramref name="inbound"/> (among those of at least <paramref name="minEnergy"/>)
    /// are left by the bot's periods combed out with a remainder that repeats at a lag of its own, continuing such a frame before it.
    /// <paramref name="inbound"/>: the frames and the <see cref="CombHistory"/> samples before them. <paramref name="reference"/>: the bot's
    /// audio at the echo's delay, aligned with them, with <see cref="CombTailFrames"/> frames and <see cref="MaxLag"/> samples before them.
    /// </summary>
    public int CombForeignFrames(ReadOnlySpan<float> inbound, ReadOnlySpan<float> reference, int frames, float minEnergy)
    {
        if (inbound.Length != frames * FrameSamples + CombHistory)
        {
            throw new ArgumentException("The inbound audio is the frames and the combs' history before them.", nameof(inbound));
        }

        var referenceFrames = CombTailFrames + frames;
        if (reference.Length != referenceFrames * FrameSamples + MaxLag)
        {
            throw new ArgumentException("The reference is the frames, the tail frames before them and the longest lag before that.", nameof(reference));
        }

        if (_referencePeriods.Length < referenceFrames)
        {
            _referencePeriods = new float[referenceFrames];
            _referenceVoicing = new float[referenceFrames];
        }

        // Each reference frame's period and how well it repeats there, once a window.
        for (var m = 0; m < referenceFrames; m++)
        {
            Correlations(reference, MaxLag + m * FrameSamples, _own);
            var best = Period(_own);
            (_referencePeriods[m], _referenceVoicing[m]) = (best + MinLag, _own[best]);
        }

        var foreign = 0;
        int lastLag = -1, lastFrame = -2;
        for (var k = 0; k < frames; k++)
        {
            var start = CombHistory + k * FrameSamples;
            var energy = FixedOrderMath.Energy(inbound.Slice(start, FrameSamples));
            if (energy < Math.Max(minEnergy, float.Epsilon) || _referenceVoicing[CombTailFrames + k] < CombDelayVoiced)
            {
                continue;
            }

            var combs = 0;
            for (var m = CombTailFrames + k; m >= k && combs < MaxCombs; m--)
            {
                var lag = (int)_referencePeriods[m];
                if (_referenceVoicing[m] >= CombBotVoiced && !Near(lag, _combLags.AsSpan(0, combs)))
                {
                    _combLags[combs++] = lag;
                }
            }

            inbound.Slice(start - CombHistory, CombHistory + FrameSamples).CopyTo(_combed);
            var from = 0;
            for (var i = 0; i < combs; i++)
            {
                from += _combLags[i] + 1;
                CombOut(_combed, from, _combLags[i]);
            }

            if (FixedOrderMath.Energy(_combed.AsSpan(CombHistory)) < CombLeftShare * energy)
            {
                continue;
            }

            Correlations(_combed, CombHistory, _rest);
            var period = -1;
            for (var j = 0; j < Lags; j++)
            {
                if (!CombedAt(j + MinLag, combs) && (period < 0 || _rest[j] > _rest[period]))
                {
                    period = j;
                }
            }

            if (period < 0 || _rest[period] < CombRestCorrelation)
            {
                continue;
            }

            foreign += lastFrame == k - 1 && Math.Abs(lastLag - period) <= TrackStep ? 1 : 0;
            (lastLag, lastFrame) = (period, k);
        }

        return foreign;
    }

    /// <summary>The lag index at which a row of correlations peaks.</summary>
    private static int Period(ReadOnlySpan<float> row)
    {
        var best = 0;
        for (var j = 1; j < row.Length; j++)
        {
            best = row[j] > row[best] ? j : best;
        }

        return best;
    }

    /// <summary>Whether <paramref name="lag"/> is within 2 samples of one of <paramref name="lags"/> (the same period, combed once).</summary>
    private static bool Near(int lag, ReadOnlySpan<int> lags)
    {
        foreach (var other in lags)
        {
            if (Math.Abs(lag - other) <= 2)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the remainder's repeating at <paramref name="lag"/> may be the combed periods' own (within 2 samples of 1–3 times one, or a half or third of one).</summary>
    private bool CombedAt(int lag, int combs)
    {
        for (var i = 0; i < combs; i++)
        {
            for (var times = 1; times <= Multiples; times++)
            {
                if (Math.Abs(lag - times * _combLags[i]) <= 2 || Math.Abs(lag * times - _combLags[i]) <= 2)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// In place, from the end back to <paramref name="from"/>: x[n] −= Σ g_j·x[n − <paramref name="lag"/> + j], j = −1..1, the gains
    /// the least-squares fit over the last frame (the three taps allow for a period between samples and one drifting within the frame).
    /// </summary>
    private static void CombOut(float[] x, int from, int lag)
    {
        double r00 = 0, r01 = 0, r02 = 0, r11 = 0, r12 = 0, r22 = 0, p0 = 0, p1 = 0, p2 = 0;
        for (var n = x.Length - FrameSamples; n < x.Length; n++)
        {
            double a = x[n - lag - 1], b = x[n - lag], c = x[n - lag + 1], v = x[n];
            r00 += a * a;
            r01 += a * b;
            r02 += a * c;
            r11 += b * b;
            r12 += b * c;
            r22 += c * c;
            p0 += a * v;
            p1 += b * v;
            p2 += c * v;
        }

        // Cramer's rule on the normal equations (symmetric 3×3); a singular fit (silence) combs nothing out.
        var c00 = r11 * r22 - r12 * r12;
        var c01 = r01 * r22 - r12 * r02;
        var c02 = r01 * r12 - r11 * r02;
        var det = r00 * c00 - r01 * c01 + r02 * c02;
        if (det <= 1e-12 * Math.Max(1e-30, r00 * r11 * r22))
        {
            return;
        }

        var g0 = (p0 * c00 - r01 * (p1 * r22 - r12 * p2) + r02 * (p1 * r12 - r11 * p2)) / det;
        var g1 = (r00 * (p1 * r22 - r12 * p2) - p0 * c01 + r02 * (r01 * p2 - p1 * r02)) / det;
        var g2 = (r00 * (r11 * p2 - p1 * r12) - r01 * (r01 * p2 - p1 * r02) + p0 * c02) / det;
        for (var n = x.Length - 1; n >= from; n--)
        {
            x[n] = (float)(x[n] - g0 * x[n - lag - 1] - g1 * x[n - lag] - g2 * x[n - lag + 1]);
        }
    }
}
