using NWaves.Transforms;

namespace AgentLocator.Media;

/// <summary>
/// Predicts how much power the bot's echo puts in each frequency band of a caller frame, for a speakerphone echo that a
/// sample-by-sample filter cannot follow (a telephone-band loudspeaker, a soft clip, a room's reverberation: the echo's
/// waveform correlates 0.3–0.5 with the bot's audio, its power spectrum over time still follows the bot's closely).
/// As WebRTC AEC3's residual echo estimator does, per band b and 20 ms frame t:
/// <c>echo_b(t) = direct_b · X_b(t − D) + tail_b · Σ_{j≥1} ρ^(j−1) · X_b(t − D − j)</c>, where X is the bot's audio's
/// power spectrum (256-point FFT, Hann window, 300–3400 Hz in <see cref="Bands"/> bands), D the echo delay the
/// canceller's envelope search estimates (<see cref="Offer"/>), and the reverberation's decay ρ fixed
/// (<see cref="TailDecay"/>: an RT60 of about 300 ms). The two gains per band are least-squares fits: over the last
/// <see cref="FitFrames"/> frames when a delay is offered, then tracked on frames the model explains (no caller over
/// the echo). Phase, clipping and reverberation do not matter to a power model, and a fit needs only a second of the
/// bot talking, so it works on a call's first reply.
/// <para>
/// What it says of a frame: the echo's power, and what the inbound audio has beyond it — the sum over bands of the power
/// above <see cref="Overestimate"/> × the predicted echo (<see cref="UnexplainedEnergy"/>): little for the echo alone,
/// most of a caller's voice when someone talks over it. Allocation-free per frame; per call, not thread-safe.
/// </para>
/// </summary>
public sealed class SpectralEchoModel
{
    public const int FrameSamples = 160;

    public const int FftSize = 256;

    /// <summary>The first bin modelled (312.5 Hz) and how many (to 3,406 Hz): the telephone band.</summary>
    public const int LowBin = 10;

    public const int BinCount = 100;

    public const int BinsPerBand = 5;

    public const int Bands = BinCount / BinsPerBand;

    /// <summary>Frames a delay's gains are fitted over: 800 ms, the canceller's search window.</summary>
    public const int FitFrames = 40;

    /// <summary>Frames of reverberation modelled (320 ms) and how its power decays per frame (ρ: 60 dB in about 300 ms).</summary>
    public const int TailFrames = 16;

    public const float TailDecay = 0.4f;

    /// <summary>The echo is taken to reach this much over its prediction (+3 dB) before what is above counts as unexplained.</summary>
    public const float Overestimate = 2f;

    /// <summary>A frame whose unexplained power is at most this share of its power teaches the gains (the echo alone).</summary>
    public const float LearnShare = 0.15f;

    /// <summary>
    /// Double talk: a fit over a window the caller talked in explains the window on the whole (its gains rise to take the
    /// caller's power in), but not the frames where the caller's voice stands alone (the bot between two words, a band the
    /// bot leaves empty). A window with at least this many frames that carry <see cref="DoubleTalkLoudShare"/> of its mean
    /// power and of which the fit leaves more than <see cref="DoubleTalkFrameShare"/> unexplained is not the echo alone.
    /// (In barge-in-eval's room runs the echo alone left 2 such frames among those with a quarter of the mean power in a few
    /// windows, one of which then interrupted a first reply; among those with half of it, none did.)
    /// </summary>
    public const int DoubleTalkFrames = 2;

    /// <summary>The share of a frame's power the fit must leave unexplained for the frame to count toward <see cref="DoubleTalkFrames"/>.</summary>
    public const float DoubleTalkFrameShare = 0.5f;

    /// <summary>Frames quieter than this share of the window's mean power say nothing about double talk (the line's noise, a tail).</summary>
    public const float DoubleTalkLoudShare = 0.5f;

    /// <summary>
    /// Double talk per band: a caller's voice puts power in bands where the bot's audio at the echo's delay has little at that moment (their
    /// harmonics, their vowels between the bot's), which a fit's gains, one pair per band over the window, cannot follow. A window with at
    /// least this many band-frames (among the frames counted for <see cref="DoubleTalkFrames"/>, bands with at least the frame's mean band
    /// power) more than <see cref="DoubleTalkBandMargin"/> over the echo the fit predicts there is not the echo alone. (In barge-in-eval's
    /// room runs, seeds 1 and 2, the 1,500 checks the fit explained of the echo alone left at most 2 such band-frames, 1,418 of them none;
    /// of the 185 it explained with a caller's voice in the window, 34 left 3 or more.) At the delay in use, adopted before the window began,
    /// a band-frame must also stand that far over the echo the tracked gains predict there: a window a third of which is a pause between
    /// the bot's sentences fits each band's gains on the next sentence's first frames, and where one comes out 0 (the reverberation, or the
    /// direct echo) the echo alone stood 14-24 dB over the fit in 3 band-frames (barge-in-eval --lead-in 0 room seed 1, two first replies),
    /// 1-4 dB over the tracked gains' echo.
    /// </summary>
    public const int DoubleTalkBands = 3;

    /// <summary>How far a band's power must be over the echo the fit predicts in it (×16: 12 dB) to count toward <see cref="DoubleTalkBands"/>.</summary>
    public const float DoubleTalkBandMargin = 16f;

    /// <summary>
    /// Held-out double talk, on a first reply: a fit over a window the caller talks in takes part of their voice into its gains (a caller at
    /// the echo's level adds about 3 dB, the fit's echo is good to about ±4 dB a band-frame), but gains fitted on the echo alone before them
    /// (the <see cref="HeldOutHistoryFrames"/> frames before the last <see cref="HeldOutTestFrames"/>, whose bot's audio at the delay had
    /// at least <see cref="HeldOutMinHistoryEcho"/> of the power it has in those) do not: their voice stands in the test frames as power
    /// over that prediction in many band-frames (those of frames with at least <see cref="DoubleTalkLoudShare"/> of the test frames' mean
    /// power, in bands with at least the frame's mean band power). A mean of at least <see cref="HeldOutExcessDb"/> over at least
    /// <see cref="HeldOutMinBandFrames"/> of them is not the echo alone. (barge-in-eval room seeds 1–3, first replies: of 1,181 checks the
    /// window's fit took for the echo alone, 572 had such a history, their mean excess at most 6.95 dB, 99th percentile 5.4, median 1.6:
    /// the gains of loud history frames, soft-clipped, under-predict quieter test frames; of 159 such checks with a caller in the window,
    /// 32 within 400 ms of their voice had such a history, 5 of them with 9 dB or more.)
    /// </summary>
    public const int HeldOutTestFrames = 15;

    /// <summary>The frames before the test frames the held-out gains are fitted over (500 ms; with the test frames, <see cref="FitFrames"/>).</summary>
    public const int HeldOutHistoryFrames = FitFrames - HeldOutTestFrames;

    /// <summary>The least power the bot's audio at the delay has in the history, as a share of what it has in the test frames: an echo to fit gains on.</summary>
    public const float HeldOutMinHistoryEcho = 0.25f;

    /// <summary>The mean excess of the test frames' band-frames over the held-out echo (dB) that is double talk.</summary>
    public const float HeldOutExcessDb = 9f;

    /// <summary>The band-frames the held-out mean needs (fewer say too little).</summary>
    public const int HeldOutMinBandFrames = 10;

    /// <summary>How far (dB) one band-frame's excess counts at most, either way: a band the bot left silent at that moment is not a caller's by itself.</summary>
    private const float HeldOutClampDb = 20f;

    /// <summary>A band's power of the line's noise floor (white noise at −65 dBFS): added to both sides of the excess, so silence says nothing.</summary>
    private const float HeldOutFloor = 1.5e-4f;

    /// <summary>Forgetting of the tracked fit per frame (≈ 2 s of frames).</summary>
    private const double Forgetting = 0.99;

    private const int MaxDelayFrames = EchoCanceller.MaxDelay / FrameSamples + 2;

    /// <summary>Reference spectra kept: the longest delay, a fit window and its reverberation's run-in.</summary>
    private const int ReferenceFrames = MaxDelayFrames + FitFrames + TailFrames + 1;

    /// <summary>Frame energy (sum of squares over 160 samples) per unit of summed one-sided FFT power (Hann window, Parseval).</summary>
    private static readonly float PowerToFrameEnergy = 2f * FrameSamples / (0.375f * FftSize * FftSize);

    private static readonly float[] Hann = BuildHann();

    private readonly RealFft _fft = new(FftSize);
    private readonly float[] _windowed = new float[FftSize];
    private readonly float[] _re = new float[FftSize / 2 + 1];
    private readonly float[] _im = new float[FftSize / 2 + 1];
    private readonly float[] _reference = new float[ReferenceFrames * Bands];
    private readonly float[] _inbound = new float[FitFrames * Bands];
    private readonly float[] _aligned = new float[Bands];
    private readonly float[] _tail = new float[Bands];
    private readonly float[] _direct = new float[Bands];
    private readonly float[] _tailGain = new float[Bands];
    private readonly double[] _sums = new double[Bands * 5];

    // Scratch of a window fit: per frame and band, the inbound, the aligned reference and its tail.
    private readonly float[] _fitAligned = new float[FitFrames * Bands];
    private readonly float[] _fitTail = new float[FitFrames * Bands];
    private readonly float[] _fitDirect = new float[Bands];
    private readonly float[] _fitTailGain = new float[Bands];
    private readonly double[] _fitSums = new double[Bands * 5];
    private readonly double[] _otherSums = new double[Bands * 5];

    /// <summary>
    /// Frames seen, counted from <see cref="FitFrames"/>: the rings start zeroed, which is the line's silence before the call's first frame
    /// (as the canceller's search takes its own rings), so a first question that starts as the stream connects is fitted once its echo
    /// has come in and the call is <see cref="MinCallFrames"/> old, not only once it is 800 ms old (barge-in-eval `--lead-in 0`, room
    /// seeds 1 and 2: 151 and 156 of 240 callers within 400 ms waiting for 800 ms, 167 and 174 not).
    /// </summary>
    private long _frames = FitFrames;

    /// <summary>
    /// Frames of the call a fit needs (400 ms): a window of the call's first few frames and the silence before it is fitted by any
    /// delay (on a line without echo, a fit 100 ms into the call explained its noise with the bot's first frames).
    /// </summary>
    private const int MinCallFrames = 20;

    /// <summary>The frame count when the delay in use and its gains were last adopted (a window's fit; learned since on the frames they explained).</summary>
    private long _adoptedAt = long.MinValue / 2;

    /// <summary>The delay the model predicts at, in samples (null until one is adopted).</summary>
    public int? DelaySamples { get; private set; }

    /// <summary>How many times a delay and its gains were adopted.</summary>
    public int Adoptions { get; private set; }

    /// <summary>The last frame's predicted echo, the inbound power beyond it, and the inbound power (frame energies: sums of squares over its 160 samples, full scale 1).</summary>
    public float EchoEnergy { get; private set; }

    public float UnexplainedEnergy { get; private set; }

    public float InboundEnergy { get; private set; }

    /// <summary>The unexplained share of the window the last <see cref="Offer"/> or <see cref="Explains"/> fitted (1 when it fitted nothing).</summary>
    public float LastFitShare { get; private set; } = 1;

    /// <summary>
    /// How many frames of the window the last fit left more than <see cref="DoubleTalkFrameShare"/> of unexplained (among those
    /// with at least <see cref="DoubleTalkLoudShare"/> of the window's mean power): a caller's voice over the echo.
    /// </summary>
    public int LastUnexplainedFrames { get; private set; }

    /// <summary>
    /// How many band-frames of the window the last fit left more than <see cref="DoubleTalkBandMargin"/> under (in the frames counted for
    /// <see cref="LastUnexplainedFrames"/>, bands with at least the frame's mean band power): a caller's voice where the echo has little.
    /// </summary>
    public int LastUnexplainedBands { get; private set; }

    /// <summary>
    /// The mean excess (dB) of the last test frames' loud band-frames over the echo gains fitted on the frames before them predict
    /// (<see cref="HeldOutExcessDb"/>), from the last <see cref="Explains"/> asked to hold out; null when it was not, or the history had
    /// too little echo, or the test frames too few loud band-frames.
    /// </summary>
    public float? LastHeldOutExcessDb { get; private set; }

    /// <summary>
    /// One 20 ms frame: the last <see cref="FftSize"/> inbound samples and reference samples (the bot's audio as scheduled),
    /// newest last. <paramref name="referenceSilent"/> skips the reference's transform (the bot is silent: zero power).
    /// Predicts the frame's echo when a delay is adopted, and learns from the frame when the prediction explains it.
    /// </summary>
    public void Process(ReadOnlySpan<float> inbound, ReadOnlySpan<float> reference, bool referenceSilent)
    {
        Span<float> bins = stackalloc float[BinCount];
        var referenceRow = _reference.AsSpan((int)(_frames % ReferenceFrames) * Bands, Bands);
        if (referenceSilent)
        {
            referenceRow.Clear();
        }
        else
        {
            Spectrum(reference, bins);
            ToBands(bins, referenceRow);
        }

        Spectrum(inbound, bins);
        var inboundRow = InboundRow(_frames);
        ToBands(bins, inboundRow);
        _frames++;

        var total = 0f;
        for (var b = 0; b < Bands; b++)
        {
            total += inboundRow[b];
        }

        InboundEnergy = total * PowerToFrameEnergy;
        if (DelaySamples is not { } delay)
        {
            EchoEnergy = UnexplainedEnergy = 0;
            return;
        }

        // The reverberation of the frames before this one, then this frame's reference at the delay.
        for (var b = 0; b < Bands; b++)
        {
            _tail[b] = _aligned[b] + TailDecay * _tail[b];
        }

        Aligned(_frames - 1, delay, _aligned);
        float echo = 0, unexplained = 0;
        for (var b = 0; b < Bands; b++)
        {
            var predicted = _direct[b] * _aligned[b] + _tailGain[b] * _tail[b];
            echo += predicted;
            unexplained += Math.Max(0, inboundRow[b] - Overestimate * predicted);
        }

        EchoEnergy = echo * PowerToFrameEnergy;
        UnexplainedEnergy = unexplained * PowerToFrameEnergy;
        if (echo > 0 && unexplained <= LearnShare * total)
        {
            Learn(inboundRow);
        }
    }

    /// <summary>A frame with the bot out of reach of any echo: nothing to transform, the rings move on with silence.</summary>
    public void Skip()
    {
        _reference.AsSpan((int)(_frames % ReferenceFrames) * Bands, Bands).Clear();
        InboundRow(_frames).Clear();
        _frames++;
        EchoEnergy = UnexplainedEnergy = InboundEnergy = 0;
        if (DelaySamples is not null)
        {
            Array.Clear(_tail);
            Array.Clear(_aligned);
        }
    }

    /// <summary>
    /// A delay the canceller's search found (samples): fitted over the last <see cref="FitFrames"/> frames and adopted
    /// when it explains all but <paramref name="maxShare"/> of their power and more than the delay in use does.
    /// Returns whether it was adopted.
    /// </summary>
    public bool Offer(int delay, float maxShare)
    {
        var share = Fit(delay, FitFrames, _fitDirect, _fitTailGain, _fitSums);
        LastFitShare = share;
        if (share > maxShare)
        {
            return false;
        }

        if (DelaySamples is { } current && current != delay)
        {
            // The delay in use, fitted over the same frames: the offer must explain clearly more.
            Span<float> direct = stackalloc float[Bands];
            Span<float> tail = stackalloc float[Bands];
            var currentShare = Fit(current, FitFrames, direct, tail, _otherSums);
            if (share >= currentShare - 0.02f)
            {
                return false;
            }

            Fit(delay, FitFrames, _fitDirect, _fitTailGain, _fitSums); // the scratch again holds the offer's fit
        }

        Adopt(delay);
        return true;
    }

    /// <summary>
    /// Whether the last <paramref name="frames"/> frames are the bot's echo at <paramref name="delay"/>, alone: a fit there leaves
    /// at most <paramref name="maxShare"/> of their power unexplained, and fewer than <see cref="DoubleTalkFrames"/> of its
    /// frames mostly unexplained (a caller over the echo). With <paramref name="heldOut"/> (a first reply: no filter has learned the echo), also
    /// fewer than <see cref="HeldOutExcessDb"/> over what gains fitted on the frames before the last <see cref="HeldOutTestFrames"/> predict in
    /// them (<see cref="HeldOutExcess"/>). When it does, the model adopts the delay and the fit.
    /// </summary>
    public bool Explains(int delay, int frames, float maxShare, bool heldOut = false)
    {
        frames = Math.Clamp(frames, 4, FitFrames);
        LastHeldOutExcessDb = null;
        var share = Fit(delay, frames, _fitDirect, _fitTailGain, _fitSums, bandsOverTracked: delay == DelaySamples && _frames - _adoptedAt >= frames);
        LastFitShare = share;
        if (share > maxShare || LastUnexplainedFrames >= DoubleTalkFrames || LastUnexplainedBands >= DoubleTalkBands)
        {
            return false;
        }

        if (heldOut && HeldOutExcess(delay) is { } excess)
        {
            LastHeldOutExcessDb = excess;
            if (excess >= HeldOutExcessDb)
            {
                return false;
            }
        }

        Adopt(delay);
        return true;
    }

    /// <summary>
    /// The share of the last <see cref="FitFrames"/> frames' power a fit at the delay in use leaves unexplained (1 with none in use),
    /// with <see cref="LastUnexplainedFrames"/> set; adopts nothing.
    /// </summary>
    public float ShareInUse()
    {
        if (DelaySamples is not { } delay)
        {
            return 1;
        }

        Span<float> direct = stackalloc float[Bands];
        Span<float> tail = stackalloc float[Bands];
        return Fit(delay, FitFrames, direct, tail, _otherSums);
    }

    /// <summary>
    /// The mean excess (dB) of the last <see cref="HeldOutTestFrames"/> frames' loud band-frames over the echo predicted at
    /// <paramref name="delay"/> by gains fitted on the <see cref="HeldOutHistoryFrames"/> frames before them: null when the bot's audio at
    /// the delay had too little power in those (<see cref="HeldOutMinHistoryEcho"/>) or the test frames have too few loud band-frames.
    /// </summary>
    private float? HeldOutExcess(int delay)
    {
        // The window fit's scratch is free again: the frames of the history and the test frames, at the delay.
        var first = _frames - FitFrames;
        AlignFrames(delay, first, _fitAligned, _fitTail);
        Span<double> sums = stackalloc double[Bands * 5];
        double historyEcho = 0, testEcho = 0;
        for (var f = first; f < _frames; f++)
        {
            var i = (int)(f - first) * Bands;
            var aligned = _fitAligned.AsSpan(i, Bands);
            if (f >= first + HeldOutHistoryFrames)
            {
                testEcho += FixedOrderMath.Sum(aligned);
                continue;
            }

            historyEcho += FixedOrderMath.Sum(aligned);
            AddToSums(sums, InboundRow(f), aligned, _fitTail.AsSpan(i, Bands));
        }

        if (testEcho <= 0 || historyEcho / HeldOutHistoryFrames < HeldOutMinHistoryEcho * testEcho / HeldOutTestFrames)
        {
            return null;
        }

        Span<float> direct = stackalloc float[Bands];
        Span<float> tailGain = stackalloc float[Bands];
        for (var b = 0; b < Bands; b++)
        {
            (direct[b], tailGain[b]) = Solve(sums.Slice(b * 5, 5));
        }

        double testPower = 0;
        for (var f = _frames - HeldOutTestFrames; f < _frames; f++)
        {
            testPower += FixedOrderMath.Sum(InboundRow(f));
        }

        var loud = DoubleTalkLoudShare * testPower / HeldOutTestFrames;
        double excess = 0;
        var count = 0;
        for (var f = _frames - HeldOutTestFrames; f < _frames; f++)
        {
            var y = InboundRow(f);
            var frame = FixedOrderMath.Sum(y);
            if (frame < loud || frame <= 0)
            {
                continue;
            }

            var i = (int)(f - first) * Bands;
            for (var b = 0; b < Bands; b++)
            {
                if (y[b] < frame / Bands)
                {
                    continue;
                }

                var echo = direct[b] * _fitAligned[i + b] + tailGain[b] * _fitTail[i + b];
                excess += Math.Clamp(10 * Math.Log10((y[b] + HeldOutFloor) / (echo + HeldOutFloor)), -HeldOutClampDb, HeldOutClampDb);
                count++;
            }
        }

        return count < HeldOutMinBandFrames ? null : (float)(excess / count);
    }

    /// <summary>Forgets the delay and the gains (a new line).</summary>
    public void Reset()
    {
        DelaySamples = null;
        Array.Clear(_sums);
        Array.Clear(_tail);
        Array.Clear(_aligned);
        EchoEnergy = UnexplainedEnergy = 0;
    }

    private void Adopt(int delay)
    {
        _fitDirect.CopyTo(_direct, 0);
        _fitTailGain.CopyTo(_tailGain, 0);
        _fitSums.CopyTo(_sums, 0); // the tracked fit starts from the window's
        DelaySamples = delay;
        _adoptedAt = _frames;
        Adoptions++;


        // The state the next frame expects had the model run at this delay all along: this frame's reference at the delay,
        // and the reverberation before it, Σ_{j≥1} ρ^(j−1) · X(t − j).
        Array.Clear(_tail);
        for (var f = _frames - 1 - TailFrames; f < _frames - 1; f++)
        {
            Aligned(f, delay, _aligned);
            for (var b = 0; b < Bands; b++)
            {
                _tail[b] = _aligned[b] + TailDecay * _tail[b];
            }
        }

        Aligned(_frames - 1, delay, _aligned);
    }

    /// <summary>Adds the frame to the tracked fit (forgetting the old) and solves it.</summary>
    private void Learn(ReadOnlySpan<float> inbound)
    {
        for (var b = 0; b < Bands; b++)
        {
            var s = _sums.AsSpan(b * 5, 5);
            double a = _aligned[b], t = _tail[b], y = inbound[b];
            s[0] = Forgetting * s[0] + a * a;
            s[1] = Forgetting * s[1] + a * t;
            s[2] = Forgetting * s[2] + t * t;
            s[3] = Forgetting * s[3] + y * a;
            s[4] = Forgetting * s[4] + y * t;
            (_direct[b], _tailGain[b]) = Solve(s);
        }
    }

    /// <summary>
    /// Fits the gains at <paramref name="delay"/> over the last <paramref name="frames"/> frames (into the given spans) and
    /// returns the share of the inbound power they leave unexplained (1 when the bot was silent at that delay).
    /// </summary>
    private float Fit(int delay, int frames, Span<float> direct, Span<float> tailGain, Span<double> sums, bool bandsOverTracked = false)
    {
        if (delay < 0 || delay > EchoCanceller.MaxDelay || _frames - FitFrames < MinCallFrames)
        {
            return 1;
        }

        sums.Clear();
        var first = _frames - frames;
        AlignFrames(delay, first, _fitAligned, _fitTail);
        for (var f = first; f < _frames; f++)
        {
            var i = (int)(f - first) * Bands;
            AddToSums(sums, InboundRow(f), _fitAligned.AsSpan(i, Bands), _fitTail.AsSpan(i, Bands));
        }

        var echoSeen = false;
        for (var b = 0; b < Bands; b++)
        {
            (direct[b], tailGain[b]) = Solve(sums.Slice(b * 5, 5));
            echoSeen |= sums[b * 5] > 0;
        }

        LastUnexplainedFrames = 0;
        LastUnexplainedBands = 0;
        return echoSeen ? Share(frames, direct, tailGain, bandsOverTracked) : 1;
    }

    /// <summary>
    /// The reference's band powers at <paramref name="delay"/> and their reverberation (Σ_{j≥1} ρ^(j−1) · X(t − j)) for each frame from
    /// <paramref name="first"/> to the last, row by row into <paramref name="aligned"/> and <paramref name="tail"/>.
    /// </summary>
    private void AlignFrames(int delay, long first, Span<float> aligned, Span<float> tail)
    {
        Span<float> reverberation = stackalloc float[Bands];
        Span<float> previous = stackalloc float[Bands];
        Span<float> current = stackalloc float[Bands];
        for (var f = first - TailFrames; f < _frames; f++)
        {
            for (var b = 0; b < Bands; b++)
            {
                reverberation[b] = previous[b] + TailDecay * reverberation[b];
            }

            Aligned(f, delay, current);
            current.CopyTo(previous);
            if (f >= first)
            {
                var i = (int)(f - first) * Bands;
                current.CopyTo(aligned.Slice(i, Bands));
                reverberation.CopyTo(tail.Slice(i, Bands));
            }
        }
    }

    /// <summary>Adds one frame to the least-squares sums (aa, at, tt, ya, yt) of each band.</summary>
    private static void AddToSums(Span<double> sums, ReadOnlySpan<float> inbound, ReadOnlySpan<float> aligned, ReadOnlySpan<float> tail)
    {
        for (var b = 0; b < Bands; b++)
        {
            var s = sums.Slice(b * 5, 5);
            s[0] += aligned[b] * aligned[b];
            s[1] += aligned[b] * tail[b];
            s[2] += tail[b] * tail[b];
            s[3] += inbound[b] * aligned[b];
            s[4] += inbound[b] * tail[b];
        }
    }

    /// <summary>The inbound band powers of frame <paramref name="frame"/> (one of the last <see cref="FitFrames"/>).</summary>
    private Span<float> InboundRow(long frame) => _inbound.AsSpan((int)(frame % FitFrames) * Bands, Bands);

    /// <summary>
    /// The share of the last <paramref name="frames"/> frames' power that the gains leave unexplained (the window as the last fit
    /// aligned it); counts the frames it leaves mostly unexplained (<see cref="LastUnexplainedFrames"/>).
    /// </summary>
    private float Share(int frames, ReadOnlySpan<float> direct, ReadOnlySpan<float> tailGain, bool bandsOverTracked = false)
    {
        var first = _frames - frames;
        double total = 0, unexplained = 0;
        Span<float> frameTotal = stackalloc float[FitFrames];
        Span<float> frameUnexplained = stackalloc float[FitFrames];
        Span<int> frameBandsOver = stackalloc int[FitFrames];
        for (var f = first; f < _frames; f++)
        {
            var i = (int)(f - first) * Bands;
            var y = InboundRow(f);
            double frameY = 0, frameLeft = 0;
            for (var b = 0; b < Bands; b++)
            {
                var echo = direct[b] * _fitAligned[i + b] + tailGain[b] * _fitTail[i + b];
                frameY += y[b];
                frameLeft += Math.Max(0, y[b] - Overestimate * echo);
            }

            frameTotal[(int)(f - first)] = (float)frameY;
            var bandsOver = 0;
            for (var b = 0; b < Bands; b++)
            {
                var echo = direct[b] * _fitAligned[i + b] + tailGain[b] * _fitTail[i + b];
                var tracked = bandsOverTracked ? _direct[b] * _fitAligned[i + b] + _tailGain[b] * _fitTail[i + b] : 0;
                bandsOver += y[b] >= frameY / Bands && y[b] > DoubleTalkBandMargin * Math.Max(echo, tracked) ? 1 : 0;
            }

            frameBandsOver[(int)(f - first)] = bandsOver;
            frameUnexplained[(int)(f - first)] = (float)frameLeft;
            total += frameY;
            unexplained += frameLeft;
        }

        var loud = DoubleTalkLoudShare * total / frames;
        var count = 0;
        var bands = 0;
        for (var k = 0; k < frames; k++)
        {
            count += frameTotal[k] >= loud && frameUnexplained[k] > DoubleTalkFrameShare * frameTotal[k] ? 1 : 0;
            bands += frameTotal[k] >= loud ? frameBandsOver[k] : 0;
        }

        LastUnexplainedFrames = count;
        LastUnexplainedBands = bands;
        return total <= 0 ? 1 : (float)(unexplained / total);
    }

    /// <summary>Least squares of inbound ≈ direct · aligned + tail · reverberation from the sums (aa, at, tt, ya, yt); neither gain negative.</summary>
    private static (float Direct, float Tail) Solve(ReadOnlySpan<double> s)
    {
        var det = s[0] * s[2] - s[1] * s[1];
        if (det > 1e-12 * (s[0] * s[2] + 1e-30))
        {
            var direct = (s[3] * s[2] - s[4] * s[1]) / det;
            var tail = (s[4] * s[0] - s[3] * s[1]) / det;
            if (direct >= 0 && tail >= 0)
            {
                return ((float)direct, (float)tail);
            }
        }

        // One gain alone, whichever fits better.
        var directOnly = s[0] > 0 ? Math.Max(0, s[3] / s[0]) : 0;
        var tailOnly = s[2] > 0 ? Math.Max(0, s[4] / s[2]) : 0;
        return directOnly * s[3] >= tailOnly * s[4] ? ((float)directOnly, 0f) : (0f, (float)tailOnly);
    }

    /// <summary>The reference's band powers at inbound frame <paramref name="frame"/> and the delay: the two frames around it, interpolated.</summary>
    private void Aligned(long frame, int delay, Span<float> into)
    {
        var back = delay / FrameSamples;
        var weight = (delay % FrameSamples) / (float)FrameSamples;
        var newer = frame - back;
        var older = newer - 1;
        var a = ReferenceRow(newer);
        var b = ReferenceRow(older);
        for (var k = 0; k < Bands; k++)
        {
            into[k] = (a.IsEmpty ? 0 : (1 - weight) * a[k]) + (b.IsEmpty ? 0 : weight * b[k]);
        }
    }

    private ReadOnlySpan<float> ReferenceRow(long frame) =>
        frame < 0 || _frames - frame > ReferenceFrames ? default : _reference.AsSpan((int)(frame % ReferenceFrames) * Bands, Bands);

    private static void ToBands(ReadOnlySpan<float> bins, Span<float> bands)
    {
        if (bins.IsEmpty)
        {
            bands.Clear();
            return;
        }

        for (var b = 0; b < Bands; b++)
        {
            var sum = 0f;
            for (var k = b * BinsPerBand; k < (b + 1) * BinsPerBand; k++)
            {
                sum += bins[k];
            }

            bands[b] = sum;
        }
    }

    /// <summary>The Hann-windowed power spectrum of <paramref name="samples"/> (the last <see cref="FftSize"/>), bins <see cref="LowBin"/> on.</summary>
    private void Spectrum(ReadOnlySpan<float> samples, Span<float> bins)
    {
        samples = samples[^FftSize..];
        for (var n = 0; n < FftSize; n++)
        {
            _windowed[n] = samples[n] * Hann[n];
        }

        _fft.Direct(_windowed, _re, _im);
        for (var k = 0; k < BinCount; k++)
        {
            var re = _re[LowBin + k];
            var im = _im[LowBin + k];
            bins[k] = re * re + im * im;
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
