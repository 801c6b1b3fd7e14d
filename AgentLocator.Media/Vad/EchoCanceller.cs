using System.Numerics.Tensors;

namespace AgentLocator.Media;

/// <summary>
/// Removes the bot's own voice (a speakerphone's echo, ~6 dB down) from the caller's frames, so barge-in
/// and speech detection hear the caller. The reference is the bot's audio as the session scheduled it,
/// frame for frame beside the caller's frames; what Twilio really played, and when, is not known (network
/// and Twilio's jitter buffer put tens to hundreds of ms between the two, differently on each call), so
/// the echo path's delay is estimated on the line:
/// <list type="number">
/// <item>Coarse: the 4 ms amplitude envelopes of the last <see cref="SearchWindow"/> of inbound audio and of
/// the reference are correlated (Pearson) at every lag up to <see cref="MaxDelay"/>.</item>
/// <item>Fine: around the coarse peak, the waveforms themselves are correlated sample by sample. A lag is
/// adopted only when this correlation is at least <see cref="LockCorrelation"/>: the inbound audio is then
/// the echo and little else (a caller talking at the echo's level brings it to ~0.7).</item>
/// <item>Cancel: an NLMS filter of <see cref="Taps"/> taps around that delay (started at the
/// least-squares gain) predicts the echo of each sample; the residual is what the caller said. The filter
/// adapts only while the residual is well under the predicted echo (no double talk).</item>
/// </list>
/// The search runs every <see cref="SearchEveryFrames"/> frames while the bot talks and no path cancels the
/// echo well (none found yet, double talk, or the path moved: a new reply may be played later than the last), and on demand (<see cref="ExplainsRecentAudioAsEcho"/>) before a barge-in fires; with no bot audio in the
/// last <see cref="MaxDelay"/> the frame passes unchanged at no cost. Per call, not thread-safe.
/// </summary>
public sealed class EchoCanceller
{
    public const int FrameSamples = 160;

    /// <summary>The longest echo delay searched: 640 ms at 8 kHz.</summary>
    public const int MaxDelay = 5120;

    /// <summary>Inbound audio correlated with the reference per search: 800 ms.</summary>
    public const int SearchWindow = 6400;

    /// <summary>The waveform correlation at which the inbound audio is taken to be the echo.</summary>
    public const double LockCorrelation = 0.9;

    /// <summary>The envelopes' correlation a coarse peak needs before it is refined.</summary>
    public const double CoarseCorrelation = 0.6;

    public const int SearchEveryFrames = 5;

    /// <summary>NLMS taps (4 ms) and how many of them lie before the estimated delay.</summary>
    public const int Taps = 32;

    /// <summary>Taps after the estimated delay (less when the delay is shorter: the reference's future is not known).</summary>
    private const int TapLead = 8;
    private const int Block = 32;

    /// <summary>Envelope blocks either side of the coarse peak searched on the waveform (±24 ms).</summary>
    private const int FineBlocks = 6;
    private const int Blocks = SearchWindow / Block;
    private const int MaxDelayBlocks = MaxDelay / Block;

    /// <summary>Waveform correlated in the fine search: the last 300 ms.</summary>
    private const int FineWindow = 2400;

    /// <summary>Reference history: the search window at the longest delay, the filter's taps, a frame.</summary>
    private const int ReferenceLength = MaxDelay + SearchWindow + Taps + FrameSamples;

    private const int InboundLength = SearchWindow;

    /// <summary>-60 dBFS mean square: reference audio quieter than this is the bot's silence.</summary>
    private const float SilentMeanSquare = 1e-6f;

    private const float StepSize = 0.3f;

    /// <summary>Added to the taps' energy in the NLMS step (-60 dBFS on every tap), so near-silent reference audio does not blow the step up.</summary>
    private const float Regularisation = Taps * 1e-6f;

    private static readonly float[] MuLawToFloat = BuildMuLawToFloat();

    // Rings written twice (at i and i + length) so any window is one contiguous span.
    private readonly float[] _reference = new float[2 * ReferenceLength];
    private readonly float[] _inbound = new float[2 * InboundLength];
    private readonly float[] _referenceEnvelope = new float[2 * (ReferenceLength / Block)];
    private readonly float[] _inboundEnvelope = new float[2 * (InboundLength / Block)];
    private readonly float[] _weights = new float[Taps];
    private readonly float[] _correlations = new float[MaxDelayBlocks + 1];
    private readonly float[] _residual = new float[FrameSamples];
    private int _referenceAt; // next write position in the reference ring (samples written so far, mod length)
    private int _inboundAt;
    private long _samples;
    private long _lastReferenceSample = -ReferenceLength; // the last sample at which the bot's audio was heard in the reference
    private int _frame;
    private bool _adapt;
    private int _lead;

    /// <summary>Whether an echo path is known (its delay found and the filter running).</summary>
    public bool IsLocked { get; private set; }

    /// <summary>The echo path's delay behind the reference, in samples (valid while <see cref="IsLocked"/>).</summary>
    public int DelaySamples { get; private set; }

    /// <summary>The waveform correlation when the path was last adopted or confirmed.</summary>
    public double LockedCorrelation { get; private set; }

    /// <summary>The last search's result: the delay it found, and the envelopes' and the waveforms' correlation there.</summary>
    public (int DelaySamples, double Envelope, double Waveform) LastSearch { get; private set; }

    /// <summary>How many times a path was adopted (the first lock and each change of delay).</summary>
    public int Locks { get; private set; }

    /// <summary>Whether the last frame had an echo estimate subtracted.</summary>
    public bool LastFrameCancelled { get; private set; }

    /// <summary>The last frame's levels: what came in, the echo predicted in it, and what is left.</summary>
    public double InboundDbfs { get; private set; } = AudioLevel.SilenceDbfs;

    public double EchoDbfs { get; private set; } = AudioLevel.SilenceDbfs;

    public double ResidualDbfs { get; private set; } = AudioLevel.SilenceDbfs;

    /// <summary>Whether the bot's audio is within reach of an echo (in the reference within the longest delay).</summary>
    public bool BotAudible => _samples - _lastReferenceSample <= MaxDelay + Taps;

    /// <summary>
    /// One caller frame (<paramref name="inbound"/>, 160 mu-law samples) and the bot's frame scheduled at the
    /// same stream time (<paramref name="bot"/>, mu-law; empty or short when less plays). Writes the frame
    /// without the predicted echo to <paramref name="residual"/> (mu-law, 160 bytes).
    /// </summary>
    public void Process(ReadOnlySpan<byte> inbound, ReadOnlySpan<byte> bot, Span<byte> residual)
    {
        if (inbound.Length != FrameSamples || residual.Length < FrameSamples)
        {
            throw new ArgumentException($"Frames are {FrameSamples} samples (20 ms at 8 kHz).", nameof(inbound));
        }

        var frameStart = _samples;
        var botEnergy = 0f;
        for (var i = 0; i < FrameSamples; i++)
        {
            var r = i < bot.Length ? MuLawToFloat[bot[i]] : 0f;
            var y = MuLawToFloat[inbound[i]];
            botEnergy += r * r;
            Write(_reference, ref _referenceAt, ReferenceLength, r);
            Write(_inbound, ref _inboundAt, InboundLength, y);
        }

        _samples += FrameSamples;
        if (botEnergy > SilentMeanSquare * FrameSamples)
        {
            _lastReferenceSample = _samples;
        }

        UpdateEnvelopes();
        var inboundEnergy = Energy(InboundSpan(FrameSamples));
        InboundDbfs = ToDbfs(inboundEnergy);
        if (!BotAudible)
        {
            inbound[..FrameSamples].CopyTo(residual);
            EchoDbfs = AudioLevel.SilenceDbfs;
            ResidualDbfs = InboundDbfs;
            LastFrameCancelled = false;
            return;
        }

        // Search while the bot talks, unless the path in use is cancelling the echo well (the filter then tracks it).
        if (++_frame % SearchEveryFrames == 0 && _samples - _lastReferenceSample < FrameSamples * SearchEveryFrames && !(IsLocked && _adapt))
        {
            Search(SearchWindow, out _);
        }

        if (!IsLocked)
        {
            inbound[..FrameSamples].CopyTo(residual);
            EchoDbfs = AudioLevel.SilenceDbfs;
            ResidualDbfs = InboundDbfs;
            LastFrameCancelled = false;
            return;
        }

        Cancel(inbound, frameStart, residual);
    }

    /// <summary>
    /// Before a barge-in fires: whether the inbound audio of the last <paramref name="window"/> samples is the
    /// bot's echo (waveform correlation ≥ <see cref="LockCorrelation"/> at some delay). If it is, the canceller
    /// locks onto that delay (anew: a path that had drifted is replaced) and the caller did not speak.
    /// </summary>
    public bool ExplainsRecentAudioAsEcho(int window = 3200)
    {
        if (_samples - _lastReferenceSample > MaxDelay + Taps + window)
        {
            return false;
        }

        return Search(Math.Clamp(window / Block * Block, 800, SearchWindow), out _, force: true);
    }

    /// <summary>Forgets the echo path (a new line).</summary>
    public void Reset()
    {
        IsLocked = false;
        DelaySamples = 0;
        LockedCorrelation = 0;
        Array.Clear(_weights);
    }

    private void Cancel(ReadOnlySpan<byte> inbound, long frameStart, Span<byte> residual)
    {
        // Sample n of the frame is y[frameStart + n]; its echo comes from reference samples around frameStart + n − DelaySamples.
        double echoEnergy = 0, residualEnergy = 0;
        var weights = _weights.AsSpan();
        for (var n = 0; n < FrameSamples; n++)
        {
            var sample = frameStart + n;
            var taps = ReferenceTaps(sample);
            var predicted = TensorPrimitives.Dot(weights, taps);
            var y = InboundAt(sample);
            var e = y - predicted;
            _residual[n] = e;
            echoEnergy += predicted * predicted;
            residualEnergy += e * e;
            if (_adapt)
            {
                var norm = TensorPrimitives.Dot(taps, taps) + Regularisation;
                TensorPrimitives.MultiplyAdd(taps, StepSize * e / norm, weights, weights);
            }
        }

        EchoDbfs = ToDbfs((float)echoEnergy);
        var inboundEnergy = Energy(InboundSpan(FrameSamples));
        if (residualEnergy > inboundEnergy)
        {
            // The prediction added to the frame: the path moved (playback fell behind mid-reply). The frame goes
            // on as it came, as not cancelled (barge-in then wants the caller over the bot's own level), until
            // the search finds the path again.
            _adapt = false;
            inbound.CopyTo(residual);
            ResidualDbfs = InboundDbfs;
            LastFrameCancelled = false;
            return;
        }

        ResidualDbfs = ToDbfs((float)residualEnergy);
        LastFrameCancelled = true;

        // Adapt on the next frame only if this one was mostly echo, cancelled well (residual ≥ 12 dB under the
        // prediction): double talk (a caller over the echo) would otherwise pull the filter off the echo path.
        _adapt = echoEnergy > SilentMeanSquare * FrameSamples && residualEnergy < echoEnergy / 16;
        Span<short> pcm = stackalloc short[FrameSamples];
        for (var n = 0; n < FrameSamples; n++)
        {
            pcm[n] = (short)Math.Clamp(MathF.Round(_residual[n] * 32768f), short.MinValue, short.MaxValue);
        }

        MuLaw.Encode(pcm, residual);
    }

    /// <summary>
    /// Finds the echo's delay in the last <paramref name="window"/> samples (coarse on envelopes, fine on the
    /// waveform) and adopts it when the waveforms correlate at ≥ <see cref="LockCorrelation"/>. Returns whether
    /// the audio is the echo. Unless <paramref name="force"/>d, a path already locked at that delay is kept as it is.
    /// </summary>
    private bool Search(int window, out double correlation, bool force = false)
    {
        correlation = 0;
        // Before the call's first samples the rings hold zeros: the line's silence, as good as any.
        var blocks = window / Block;
        var inboundEnvelope = InboundEnvelopeSpan(blocks);
        var best = -1;
        var bestCorrelation = 0f;
        for (var lag = 0; lag <= MaxDelayBlocks; lag++)
        {
            var c = Pearson(inboundEnvelope, ReferenceEnvelopeSpan(blocks, lag));
            _correlations[lag] = c;
            if (c > bestCorrelation)
            {
                bestCorrelation = c;
                best = lag;
            }
        }

        LastSearch = (best * Block, bestCorrelation, 0);
        if (best < 0 || bestCorrelation < CoarseCorrelation)
        {
            return false;
        }

        if (IsLocked && !force && Math.Abs(best * Block - DelaySamples) <= FineBlocks * Block)
        {
            return true; // the path in use still explains the echo: nothing to refine (the filter tracks it)
        }

        // The waveform around the coarse peak (± two blocks), over the last 300 ms of the window.
        var fineWindow = Math.Min(FineWindow, window);
        var y = InboundSpan(fineWindow);
        var yEnergy = Energy(y);
        if (yEnergy <= SilentMeanSquare * fineWindow)
        {
            return false;
        }

        // The envelopes' peak is broad (a syllable lasts 100-200 ms): the waveform is searched ±FineBlocks around it.
        var from = Math.Max(0, (best - FineBlocks) * Block);
        var to = Math.Min(MaxDelay, (best + FineBlocks) * Block);
        var bestLag = -1;
        var bestFine = 0f;
        var bestReferenceEnergy = 0f;
        var rEnergy = Energy(ReferenceSpan(fineWindow, from));
        for (var lag = from; lag <= to; lag++)
        {
            var r = ReferenceSpan(fineWindow, lag);
            if (lag > from)
            {
                // Slid one sample back: the newest sample left the window, an older one entered it.
                var left = ReferenceSpan(fineWindow, lag - 1)[^1];
                rEnergy = Math.Max(0, rEnergy - left * left + r[0] * r[0]);
            }

            if (rEnergy <= SilentMeanSquare * fineWindow)
            {
                continue;
            }

            var c = TensorPrimitives.Dot(y, r) / MathF.Sqrt(yEnergy * rEnergy);
            if (c > bestFine)
            {
                bestFine = c;
                bestLag = lag;
                bestReferenceEnergy = rEnergy;
            }
        }

        correlation = bestFine;
        LastSearch = (bestLag, bestCorrelation, bestFine);
        if (bestLag < 0 || bestFine < LockCorrelation)
        {
            return false;
        }

        if (IsLocked && bestLag == DelaySamples && !force)
        {
            LockedCorrelation = bestFine;
            return true;
        }

        // Adopt: one tap at the delay with the least-squares gain; NLMS refines the rest.
        var gain = TensorPrimitives.Dot(y, ReferenceSpan(fineWindow, bestLag)) / bestReferenceEnergy;
        Array.Clear(_weights);
        _lead = Math.Min(TapLead, bestLag);
        _weights[Taps - 1 - _lead] = Math.Clamp(gain, 0f, 4f);
        if (!IsLocked || bestLag != DelaySamples)
        {
            Locks++;
        }

        DelaySamples = bestLag;
        LockedCorrelation = bestFine;
        IsLocked = true;
        _adapt = true;
        return true;
    }

    /// <summary>Pearson correlation of two envelopes (mean removed): 1 when one is a scaled copy of the other.</summary>
    private static float Pearson(ReadOnlySpan<float> x, ReadOnlySpan<float> r)
    {
        var n = x.Length;
        var sx = TensorPrimitives.Sum(x);
        var sr = TensorPrimitives.Sum(r);
        var sxx = TensorPrimitives.Dot(x, x);
        var srr = TensorPrimitives.Dot(r, r);
        var sxr = TensorPrimitives.Dot(x, r);
        var cov = sxr - sx * sr / n;
        var vx = sxx - sx * sx / n;
        var vr = srr - sr * sr / n;
        return vx <= 1e-12f || vr <= 1e-12f ? 0 : cov / MathF.Sqrt(vx * vr);
    }

    /// <summary>After each frame: the 4 ms amplitude envelopes (RMS per block) of the frame's five blocks.</summary>
    private void UpdateEnvelopes()
    {
        var envelopeBlocks = FrameSamples / Block;
        for (var b = envelopeBlocks; b > 0; b--)
        {
            var start = b * Block;
            var inbound = InboundSpan(start)[..Block];
            var reference = ReferenceSpan(start, 0)[..Block];
            var inboundAt = (int)((_samples - start) / Block % (InboundLength / Block));
            var referenceAt = (int)((_samples - start) / Block % (ReferenceLength / Block));
            var i = MathF.Sqrt(Energy(inbound) / Block);
            var r = MathF.Sqrt(Energy(reference) / Block);
            _inboundEnvelope[inboundAt] = _inboundEnvelope[inboundAt + InboundLength / Block] = i;
            _referenceEnvelope[referenceAt] = _referenceEnvelope[referenceAt + ReferenceLength / Block] = r;
        }
    }

    /// <summary>The last <paramref name="length"/> inbound samples.</summary>
    private ReadOnlySpan<float> InboundSpan(int length) => _inbound.AsSpan(_inboundAt + InboundLength - length, length);

    /// <summary>The <paramref name="length"/> reference samples that end <paramref name="lag"/> samples before the newest.</summary>
    private ReadOnlySpan<float> ReferenceSpan(int length, int lag) => _reference.AsSpan(_referenceAt + ReferenceLength - length - lag, length);

    private ReadOnlySpan<float> InboundEnvelopeSpan(int blocks)
    {
        var count = InboundLength / Block;
        var at = (int)(_samples / Block % count);
        return _inboundEnvelope.AsSpan(at + count - blocks, blocks);
    }

    private ReadOnlySpan<float> ReferenceEnvelopeSpan(int blocks, int lagBlocks)
    {
        var count = ReferenceLength / Block;
        var at = (int)(_samples / Block % count);
        return _referenceEnvelope.AsSpan(at + count - blocks - lagBlocks, blocks);
    }

    /// <summary>Inbound sample number <paramref name="sample"/> (still in the ring).</summary>
    private float InboundAt(long sample) => _inbound[_inboundAt + InboundLength - (int)(_samples - sample)];

    /// <summary>The filter's input for inbound sample <paramref name="sample"/>: the reference from delay + lead back to delay − (taps − lead − 1).</summary>
    private ReadOnlySpan<float> ReferenceTaps(long sample)
    {
        var back = (int)(_samples - (sample - DelaySamples + _lead)); // the window's last tap, counted back from the newest reference sample (≥ 1)
        return _reference.AsSpan(_referenceAt + ReferenceLength - back - Taps + 1, Taps);
    }

    private static void Write(float[] ring, ref int at, int length, float value)
    {
        ring[at] = ring[at + length] = value;
        at = at + 1 == length ? 0 : at + 1;
    }

    private static float Energy(ReadOnlySpan<float> x) => TensorPrimitives.Dot(x, x);

    private static double ToDbfs(float energy) =>
        energy <= 0 ? AudioLevel.SilenceDbfs : Math.Max(AudioLevel.SilenceDbfs, 10 * Math.Log10(energy / FrameSamples));

    private static float[] BuildMuLawToFloat()
    {
        var table = new float[256];
        for (var i = 0; i < table.Length; i++)
        {
            table[i] = MuLaw.Decode((byte)i) / 32768f;
        }

        return table;
    }
}
