using System.Numerics.Tensors;
using NWaves.Transforms;

namespace AgentLocator.Media;

/// <summary>
/// Takes a reverberant speakerphone echo out of the waveform: a partitioned-block frequency-domain adaptive filter
/// (PBFDAF, the multidelay filter of Speex's mdf.c and WebRTC AEC3's refined filter), for the echo paths the
/// canceller's short time-domain filter cannot follow (a telephone-band loudspeaker, a soft clip, a room's 200–300 ms of
/// reverberation). Blocks of <see cref="BlockSamples"/> on a <see cref="FftSize"/>-point FFT (overlap-save),
/// <see cref="Partitions"/> partitions from <see cref="Lead"/> samples before the echo delay the canceller estimated
/// (the bulk delay, <see cref="DelaySamples"/>) to 172 ms after it; NLMS normalized per bin by the reference's power over
/// the partitions.
/// <para>
/// Double talk: two filters, as mdf.c runs them. The background filter adapts on every block with the bot audible; the
/// foreground filter, whose prediction is taken out of the line, takes the background's weights only when they leave
/// clearly less of the line than its own, and gives its weights back when the background has diverged (a caller over the
/// echo pulls an adapting filter off the echo path: the foreground keeps the path it had).
/// </para>
/// <para>
/// What it says of each 20 ms frame: the echo it predicted and what is left (<see cref="ResidualEnergy"/>), and whether that
/// residual can be trusted (<see cref="Judges"/>): the filter has taken out at least <see cref="ConvergedErleDb"/> of an
/// echo (<see cref="Converged"/>), its prediction still lines up with the line (<see cref="Aligned"/>: the inbound audio
/// projects onto it with a gain of at least <see cref="AlignedGain"/>, which a caller over the echo does not change and a
/// path that moved does), and it did not make the frame louder. When the echo comes back at another delay (Twilio's
/// jitter buffer moves it by tens of ms between replies), the filter stops adapting and finds the shift by correlating
/// the line with its own past prediction (±<see cref="MaxShift"/>), so the room it learned is kept.
/// </para>
/// Preallocated; nothing is allocated per frame. Per call, not thread-safe.
/// </summary>
public sealed class PartitionedEchoFilter
{
    public const int FrameSamples = 160;

    public const int BlockSamples = 128;

    public const int FftSize = 2 * BlockSamples;

    /// <summary>Partitions of <see cref="BlockSamples"/>: 192 ms of echo path, the room's reverberation to 30–40 dB down.</summary>
    public const int Partitions = 12;

    /// <summary>How far before the estimated delay the filter starts (20 ms): the estimate is an envelope's, to a few ms.</summary>
    public const int Lead = 160;

    /// <summary>The least bulk delay: the next block's prediction needs the reference a block ahead of the line.</summary>
    public const int MinDelay = BlockSamples;

    /// <summary>The echo taken out of a clear echo (ERLE, smoothed over about 200 ms of it) at which the filter is trusted.</summary>
    public const double ConvergedErleDb = 8;

    /// <summary>The inbound audio's gain on the prediction (over the last frames with echo) under which the path has moved.</summary>
    public const float AlignedGain = 0.5f;

    /// <summary>The largest move of the echo path searched, either way: 50 ms.</summary>
    public const int MaxShift = 400;

    /// <summary>The correlation with the filter's past prediction at which a shift of the echo path is taken.</summary>
    public const float ShiftCorrelation = 0.5f;

    private const int Bins = FftSize / 2 + 1;
    private const int ReferenceRing = 8192;
    private const int HistoryRing = 4096;

    /// <summary>Inbound audio correlated with the prediction when searching for a shift: 200 ms.</summary>
    private const int ShiftWindow = 1600;

    /// <summary>The background filter's step (per-bin NLMS, normalized by the reference's power over all partitions).</summary>
    private const float StepSize = 0.4f;

    /// <summary>Added to each bin's reference power: −60 dBFS white on every partition, so near-silent bins do not blow the step up.</summary>
    private const float Regularisation = Partitions * FftSize * 1e-6f;

    /// <summary>A 20 ms frame with less predicted echo than this (−45 dBFS) says nothing about the filter.</summary>
    private const float EchoFrameEnergy = FrameSamples * 3.16e-5f;

    /// <summary>Reference audio quieter than this (−80 dBFS over a block pair) is silence: no transform, no prediction.</summary>
    private const float SilentEnergy = FftSize * 1e-8f;

    /// <summary>Frames with echo the filter must have followed since it converged before it judges (500 ms): a first fit can be lucky.</summary>
    public const int TrustAfterFrames = 25;

    /// <summary>
    /// Blocks of silence in every partition after which the next echo is checked for a shift before it is judged (640 ms, on top of
    /// the filter's 192 ms): a gap between replies, where Twilio's jitter buffer may move the echo, not the pause between two
    /// sentences of one reply (300–500 ms), whose echo comes back on the same path.
    /// </summary>
    public const int GapBlocks = 40;

    /// <summary>Frames of the next reply's echo before the shift check (300 ms: the check correlates 200 ms of it, 50 ms back).</summary>
    private const int RecheckAfterFrames = 15;

    /// <summary>Misaligned frames with echo after which the path is taken as lost (not moved) and the filter learns it afresh: 1.2 s.</summary>
    private const int LostAfterFrames = 60;

    private readonly RealFft _fft = new(FftSize);
    private readonly float[] _time = new float[FftSize];
    private readonly float[] _re = new float[Bins];
    private readonly float[] _im = new float[Bins];
    private readonly float[] _accRe = new float[Bins];
    private readonly float[] _accIm = new float[Bins];
    private readonly float[] _tmp = new float[Bins];
    private readonly float[] _stepRe = new float[Bins];
    private readonly float[] _stepIm = new float[Bins];
    private readonly float[] _power = new float[Bins];

    // Reference spectra of the last Partitions blocks at the bulk delay, a ring by block; whether each slot is silent.
    private readonly float[] _xRe = new float[Partitions * Bins];
    private readonly float[] _xIm = new float[Partitions * Bins];
    private readonly bool[] _xSilent = new bool[Partitions];

    private readonly float[] _foreRe = new float[Partitions * Bins];
    private readonly float[] _foreIm = new float[Partitions * Bins];
    private readonly float[] _backRe = new float[Partitions * Bins];
    private readonly float[] _backIm = new float[Partitions * Bins];

    private readonly float[] _reference = new float[ReferenceRing];
    private readonly float[] _inbound = new float[HistoryRing];
    private readonly float[] _predicted = new float[HistoryRing]; // the foreground's prediction per inbound sample
    private readonly float[] _background = new float[BlockSamples]; // the background's prediction of the pending block
    private readonly float[] _error = new float[BlockSamples];
    private readonly float[] _shiftLine = new float[ShiftWindow];
    private readonly float[] _shiftPrediction = new float[ShiftWindow + 2 * MaxShift];

    private long _samples;
    private long _blockStart; // the pending block's first inbound sample
    private long _block; // the pending block's number (its reference spectrum's slot: _block % Partitions)
    private int _constrainNext = 1;
    private double _foreSmoothed, _backSmoothed;
    private double _cross, _predictedPower, _erleInbound, _erleResidual, _typicalErleDb;
    private int _echoFrames; // frames with echo since the path was (re)aligned
    private int _misalignedFrames;
    private long _lastShiftAt = long.MinValue / 2;
    private bool _frozen;
    private bool _recheck; // after a pause in the bot's audio: the next reply's echo may come back at another delay
    private int _silentBlocks;
    private int _convergedFrames; // frames with echo since it converged

    /// <summary>Whether the filter runs (a bulk delay was given by <see cref="Start"/>).</summary>
    public bool Active { get; private set; }

    /// <summary>The bulk delay: where the filter's first tap sits behind the reference, in samples.</summary>
    public int DelaySamples { get; private set; }

    /// <summary>Whether the filter has taken at least <see cref="ConvergedErleDb"/> out of a clear echo since it (re)started.</summary>
    public bool Converged { get; private set; }

    /// <summary>Whether its prediction lines up with the line's echo (over the last frames with echo).</summary>
    public bool Aligned => _echoFrames >= 3 && _cross >= AlignedGain * _predictedPower;

    /// <summary>Whether the last frame's residual is the line with the echo taken out (converged, aligned, and not made louder).</summary>
    public bool Judges { get; private set; }

    /// <summary>The echo returned, smoothed over the frames with echo: inbound over residual, in dB.</summary>
    public double ErleDb => _erleResidual <= 0 ? 0 : 10 * Math.Log10(_erleInbound / _erleResidual);

    /// <summary>
    /// What the filter typically takes out of the echo, in dB: the frames' ERLE averaged in dB over about a second of frames
    /// with echo, so a caller talking over the echo for a few hundred ms (little taken out of those frames) moves it only a
    /// little, while a reply the filter follows badly brings it down. The filter judges only while it is at least
    /// <see cref="ConvergedErleDb"/>.
    /// </summary>
    public double TypicalErleDb => _typicalErleDb;

    /// <summary>The last frame's energies (sums of squares over its 160 samples, full scale 1): inbound, the echo predicted, the residual.</summary>
    public float InboundEnergy { get; private set; }

    public float EchoEnergy { get; private set; }

    public float ResidualEnergy { get; private set; }

    /// <summary>How many times the echo path was found moved and the filter shifted with it.</summary>
    public int Shifts { get; private set; }

    /// <summary>
    /// The last <paramref name="echo"/>.Length samples (at most <see cref="RecentLimit"/>, newest last) of the foreground's echo
    /// estimate and of the line without it (the residual the frames were given).
    /// </summary>
    public void Recent(Span<float> residual, Span<float> echo)
    {
        if (echo.Length > RecentLimit || residual.Length != echo.Length)
        {
            throw new ArgumentException($"At most {RecentLimit} samples, the same for both.", nameof(echo));
        }

        var first = _samples - echo.Length;
        for (var i = 0; i < echo.Length; i++)
        {
            var n = first + i;
            var p = n < 0 ? 0f : _predicted[(int)(n % HistoryRing)];
            echo[i] = p;
            residual[i] = (n < 0 ? 0f : _inbound[(int)(n % HistoryRing)]) - p;
        }
    }

    /// <summary>The most samples <see cref="Recent"/> gives: the rings' history, less the block predicted ahead.</summary>
    public const int RecentLimit = HistoryRing - 2 * BlockSamples;

    /// <summary>Starts (or restarts) the filter at the echo delay <paramref name="echoDelay"/> (samples), with no echo path learned.</summary>
    public void Start(int echoDelay)
    {
        Array.Clear(_foreRe);
        Array.Clear(_foreIm);
        Array.Clear(_backRe);
        Array.Clear(_backIm);
        Converged = false;
        _frozen = false;
        _recheck = false;
        _foreSmoothed = _backSmoothed = 0;
        _erleInbound = _erleResidual = 0;
        _typicalErleDb = 0;
        _misalignedFrames = 0;
        ResetAlignment();
        Active = true;
        _blockStart = _samples;
        Align(Math.Max(MinDelay, echoDelay - Lead));
    }

    /// <summary>
    /// The canceller's estimate of the echo delay moved to <paramref name="echoDelay"/>: a filter that has not converged
    /// starts again there; a converged one keeps its path (it finds a shift itself).
    /// </summary>
    public void Offer(int echoDelay)
    {
        var delay = Math.Max(MinDelay, echoDelay - Lead);
        if (!Converged && Math.Abs(delay - DelaySamples) > Lead / 2)
        {
            Start(echoDelay);
        }
    }

    /// <summary>Stops the filter (the time-domain filter has the echo, or a new line).</summary>
    public void Stop()
    {
        Active = false;
        Converged = false;
        Judges = false;
    }

    /// <summary>
    /// One frame: 160 inbound samples and the reference (the bot's audio scheduled at the same stream time), newest last.
    /// Writes the inbound audio without the predicted echo to <paramref name="residual"/>.
    /// </summary>
    public void Process(ReadOnlySpan<float> inbound, ReadOnlySpan<float> reference, Span<float> residual)
    {
        if (inbound.Length != FrameSamples || reference.Length != FrameSamples || residual.Length < FrameSamples)
        {
            throw new ArgumentException($"Frames are {FrameSamples} samples.", nameof(inbound));
        }

        var start = _samples;
        for (var i = 0; i < FrameSamples; i++)
        {
            _reference[(int)((start + i) % ReferenceRing)] = reference[i];
            _inbound[(int)((start + i) % HistoryRing)] = inbound[i];
        }

        _samples += FrameSamples;
        if (!Active)
        {
            inbound.CopyTo(residual);
            InboundEnergy = ResidualEnergy = TensorPrimitives.Dot(inbound, inbound);
            EchoEnergy = 0;
            Judges = false;
            return;
        }

        float yy = 0, pp = 0, ee = 0, yp = 0;
        for (var i = 0; i < FrameSamples; i++)
        {
            var n = start + i;
            var p = _predicted[(int)(n % HistoryRing)];
            var e = inbound[i] - p;
            residual[i] = e;
            yy += inbound[i] * inbound[i];
            pp += p * p;
            ee += e * e;
            yp += inbound[i] * p;
            if (n + 1 == _blockStart + BlockSamples)
            {
                CompleteBlock();
            }
        }

        InboundEnergy = yy;
        EchoEnergy = pp;
        ResidualEnergy = ee;
        Observe(yy, pp, ee, yp);
        Judges = Converged && _convergedFrames >= TrustAfterFrames && !_recheck && Aligned && _typicalErleDb >= ConvergedErleDb && (ee <= yy || pp < EchoFrameEnergy);
    }

    /// <summary>What the frame says of the filter: its ERLE on echo, whether its prediction still lines up, a shift to find.</summary>
    private void Observe(float yy, float pp, float ee, float yp)
    {
        if (pp < EchoFrameEnergy)
        {
            return;
        }

        _echoFrames++;
        _cross = 0.75 * _cross + yp;
        _predictedPower = 0.75 * _predictedPower + pp;
        if (_recheck)
        {
            // A reply after a pause: its echo is checked for a shift (Twilio's jitter buffer moves it) before the filter
            // judges or learns on it again.
            _frozen = true;
            if (_echoFrames > LostAfterFrames)
            {
                Converged = false;
                _recheck = false;
                _frozen = false;
            }
            else if (_echoFrames >= RecheckAfterFrames && (_echoFrames - RecheckAfterFrames) % 5 == 0)
            {
                FindShift();
            }

            return;
        }

        if (Aligned)
        {
            _misalignedFrames = 0;
            _frozen = false;
            _erleInbound = 0.9 * _erleInbound + yy;
            _erleResidual = 0.9 * _erleResidual + ee;
            _typicalErleDb = 0.98 * _typicalErleDb + 0.02 * Math.Clamp(10 * Math.Log10(yy / Math.Max(ee, 1e-12f)), -5, 30);
            _convergedFrames += Converged ? 1 : 0;
            if (!Converged && _echoFrames >= 10 && ErleDb >= ConvergedErleDb)
            {
                _convergedFrames = 0;
                Converged = true;
                _typicalErleDb = Math.Max(_typicalErleDb, ErleDb);
            }

            return;
        }

        if (_echoFrames < 3)
        {
            return;
        }

        if (!Converged)
        {
            return; // still learning: nothing to keep
        }

        // The path moved (a new reply, another jitter) or was lost: stop learning, look for it where it went.
        _frozen = true;
        if (++_misalignedFrames > LostAfterFrames)
        {
            Converged = false;
            _frozen = false;
            _misalignedFrames = 0;
            return;
        }

        if (_misalignedFrames % 5 == 1)
        {
            FindShift();
        }
    }

    /// <summary>
    /// Correlates the last <see cref="ShiftWindow"/> of the line (ending <see cref="MaxShift"/> back, so every shift has its
    /// prediction) with the filter's own past prediction moved by up to ±<see cref="MaxShift"/>; moves the bulk delay to a
    /// shift that correlates at <see cref="ShiftCorrelation"/> or better.
    /// </summary>
    private void FindShift()
    {
        // The prediction must all be of the current alignment, and there must be a line to correlate.
        var end = _samples - MaxShift;
        var first = end - ShiftWindow;
        if (first - MaxShift < _lastShiftAt || first - MaxShift < 0)
        {
            return;
        }

        for (var i = 0; i < ShiftWindow; i++)
        {
            _shiftLine[i] = _inbound[(int)((first + i) % HistoryRing)];
        }

        // The prediction from first − MaxShift to end + MaxShift: shift s (the echo now comes s samples later) puts
        // prediction sample n − s under line sample n.
        for (var i = 0; i < _shiftPrediction.Length; i++)
        {
            _shiftPrediction[i] = _predicted[(int)((first - MaxShift + i) % HistoryRing)];
        }

        var lineEnergy = TensorPrimitives.Dot(_shiftLine, _shiftLine);
        if (lineEnergy < ShiftWindow * 1e-6f)
        {
            return;
        }

        var best = (Shift: 0, Correlation: 0f);
        var span = _shiftPrediction.AsSpan();
        var energy = TensorPrimitives.Dot(span[..ShiftWindow], span[..ShiftWindow]);
        for (var s = MaxShift; s >= -MaxShift; s--)
        {
            // Prediction samples [MaxShift − s, MaxShift − s + ShiftWindow).
            var offset = MaxShift - s;
            if (offset > 0)
            {
                var left = span[offset - 1];
                var entered = span[offset + ShiftWindow - 1];
                energy = Math.Max(0, energy + entered * entered - left * left);
            }

            if (energy < ShiftWindow * 1e-7f)
            {
                continue;
            }

            var c = TensorPrimitives.Dot(_shiftLine, span.Slice(offset, ShiftWindow)) / MathF.Sqrt(lineEnergy * energy);
            if (c > best.Correlation)
            {
                best = (s, c);
            }
        }

        if (best.Correlation < ShiftCorrelation)
        {
            return;
        }

        Shifts += best.Shift != 0 ? 1 : 0;
        _lastShiftAt = _samples;
        _frozen = false;
        _recheck = false;
        _misalignedFrames = 0;
        ResetAlignment();
        Array.Copy(_foreRe, _backRe, _foreRe.Length);
        Array.Copy(_foreIm, _backIm, _foreIm.Length);
        _backSmoothed = _foreSmoothed;
        Align(Math.Max(MinDelay, DelaySamples + best.Shift));
    }

    private void ResetAlignment()
    {
        _cross = _predictedPower = 0;
        _echoFrames = 0;
    }

    /// <summary>Puts the bulk delay at <paramref name="delay"/>: the reference spectra of the pending block's partitions afresh, and its predictions.</summary>
    private void Align(int delay)
    {
        DelaySamples = delay;
        for (var p = Partitions - 1; p >= 0; p--)
        {
            TransformReference(_block - p);
        }

        Predict();
    }

    /// <summary>The pending block's line is complete: the background adapts on its error, the filters are compared, and the next block is predicted.</summary>
    private void CompleteBlock()
    {
        float ff = 0, bb = 0;
        for (var i = 0; i < BlockSamples; i++)
        {
            var n = _blockStart + i;
            var y = _inbound[(int)(n % HistoryRing)];
            var f = y - _predicted[(int)(n % HistoryRing)];
            var b = y - _background[i];
            _error[i] = b;
            ff += f * f;
            bb += b * b;
        }

        var referenceHeard = !AllSilent();
        _silentBlocks = referenceHeard ? 0 : _silentBlocks + 1;
        if (_silentBlocks == GapBlocks && Converged)
        {
            _recheck = true;
            ResetAlignment();
        }

        if (referenceHeard && !_frozen)
        {
            Adapt();
            _foreSmoothed = 0.6 * _foreSmoothed + 0.4 * ff;
            _backSmoothed = 0.6 * _backSmoothed + 0.4 * bb;
            if (_backSmoothed < 0.7 * _foreSmoothed)
            {
                // The background leaves clearly less of the line: it has the better path.
                Array.Copy(_backRe, _foreRe, _backRe.Length);
                Array.Copy(_backIm, _foreIm, _backIm.Length);
                _foreSmoothed = _backSmoothed;
            }
            else if (_foreSmoothed < 0.25 * _backSmoothed)
            {
                // The background diverged (a caller over the echo): it starts again from the foreground.
                Array.Copy(_foreRe, _backRe, _foreRe.Length);
                Array.Copy(_foreIm, _backIm, _foreIm.Length);
                _backSmoothed = _foreSmoothed;
            }
        }

        _blockStart += BlockSamples;
        _block++;
        TransformReference(_block);
        Predict();
    }

    /// <summary>The background's NLMS step on the block's error: W_p += μ · conj(X_p) · E / (Σ_q |X_q|² + δ), partition 0 and one other constrained to a linear convolution.</summary>
    private void Adapt()
    {
        Array.Clear(_time, 0, BlockSamples);
        _error.CopyTo(_time, BlockSamples);
        _fft.Direct(_time, _re, _im);
        TensorPrimitives.Divide(_re, _power, _stepRe);
        TensorPrimitives.Multiply(_stepRe, StepSize, _stepRe);
        TensorPrimitives.Divide(_im, _power, _stepIm);
        TensorPrimitives.Multiply(_stepIm, StepSize, _stepIm);
        for (var p = 0; p < Partitions; p++)
        {
            var slot = Slot(_block - p);
            if (_xSilent[slot])
            {
                continue;
            }

            var xr = _xRe.AsSpan(slot * Bins, Bins);
            var xi = _xIm.AsSpan(slot * Bins, Bins);
            var wr = _backRe.AsSpan(p * Bins, Bins);
            var wi = _backIm.AsSpan(p * Bins, Bins);
            // Re: xr·er + xi·ei; Im: xr·ei − xi·er.
            TensorPrimitives.MultiplyAdd(xr, _stepRe, wr, wr);
            TensorPrimitives.MultiplyAdd(xi, _stepIm, wr, wr);
            TensorPrimitives.MultiplyAdd(xr, _stepIm, wi, wi);
            TensorPrimitives.Multiply(xi, _stepRe, _tmp);
            TensorPrimitives.Subtract(wi, _tmp, wi);
        }

        Constrain(0);
        Constrain(_constrainNext);
        _constrainNext = _constrainNext + 1 == Partitions ? 1 : _constrainNext + 1;
    }

    /// <summary>Zeroes the second half of partition <paramref name="p"/>'s impulse response (what would wrap around in the circular convolution).</summary>
    private void Constrain(int p)
    {
        var wr = _backRe.AsSpan(p * Bins, Bins);
        var wi = _backIm.AsSpan(p * Bins, Bins);
        wr.CopyTo(_re);
        wi.CopyTo(_im);
        _fft.InverseNorm(_re, _im, _time);
        Array.Clear(_time, BlockSamples, BlockSamples);
        _fft.Direct(_time, _re, _im);
        _re.CopyTo(wr);
        _im.CopyTo(wi);
    }

    /// <summary>Both filters' predictions of the pending block: the last <see cref="BlockSamples"/> of the inverse transform of Σ_p W_p · X_p.</summary>
    private void Predict()
    {
        if (AllSilent())
        {
            for (var i = 0; i < BlockSamples; i++)
            {
                _predicted[(int)((_blockStart + i) % HistoryRing)] = 0;
            }

            Array.Clear(_background);
            return;
        }

        Filter(_foreRe, _foreIm);
        for (var i = 0; i < BlockSamples; i++)
        {
            _predicted[(int)((_blockStart + i) % HistoryRing)] = _time[BlockSamples + i];
        }

        Filter(_backRe, _backIm);
        Array.Copy(_time, BlockSamples, _background, 0, BlockSamples);
    }

    private void Filter(float[] weightsRe, float[] weightsIm)
    {
        Array.Clear(_accRe);
        Array.Clear(_accIm);
        for (var p = 0; p < Partitions; p++)
        {
            var slot = Slot(_block - p);
            if (_xSilent[slot])
            {
                continue;
            }

            var xr = _xRe.AsSpan(slot * Bins, Bins);
            var xi = _xIm.AsSpan(slot * Bins, Bins);
            var wr = weightsRe.AsSpan(p * Bins, Bins);
            var wi = weightsIm.AsSpan(p * Bins, Bins);
            // (wr + i·wi)(xr + i·xi) = wr·xr − wi·xi + i(wr·xi + wi·xr)
            TensorPrimitives.MultiplyAdd(wr, xr, _accRe, _accRe);
            TensorPrimitives.Multiply(wi, xi, _tmp);
            TensorPrimitives.Subtract(_accRe, _tmp, _accRe);
            TensorPrimitives.MultiplyAdd(wr, xi, _accIm, _accIm);
            TensorPrimitives.MultiplyAdd(wi, xr, _accIm, _accIm);
        }

        _fft.InverseNorm(_accRe, _accIm, _time);
    }

    /// <summary>The spectrum of the reference block pair that block <paramref name="block"/> (inbound, at the bulk delay) hears through partition 0; the per-bin power over the partitions.</summary>
    private void TransformReference(long block)
    {
        var slot = Slot(block);
        // Inbound block b starts at _blockStart + (b − _block)·BlockSamples; its partition-0 reference pair ends a block after its start, the delay back.
        var end = _blockStart + (block - _block) * BlockSamples + BlockSamples - DelaySamples;
        var energy = 0f;
        for (var i = 0; i < FftSize; i++)
        {
            var n = end - FftSize + i;
            var r = n < 0 || _samples - n > ReferenceRing ? 0f : _reference[(int)(n % ReferenceRing)];
            _time[i] = r;
            energy += r * r;
        }

        var xr = _xRe.AsSpan(slot * Bins, Bins);
        var xi = _xIm.AsSpan(slot * Bins, Bins);
        _xSilent[slot] = energy < SilentEnergy;
        if (_xSilent[slot])
        {
            xr.Clear();
            xi.Clear();
        }
        else
        {
            _fft.Direct(_time, _re, _im);
            _re.CopyTo(xr);
            _im.CopyTo(xi);
        }

        _power.AsSpan().Fill(Regularisation);
        for (var p = 0; p < Partitions; p++)
        {
            var s = Slot(block - p);
            if (_xSilent[s])
            {
                continue;
            }

            var r = _xRe.AsSpan(s * Bins, Bins);
            var m = _xIm.AsSpan(s * Bins, Bins);
            TensorPrimitives.MultiplyAdd(r, r, _power, _power);
            TensorPrimitives.MultiplyAdd(m, m, _power, _power);
        }
    }

    private bool AllSilent()
    {
        foreach (var silent in _xSilent)
        {
            if (!silent)
            {
                return false;
            }
        }

        return true;
    }

    private static int Slot(long block) => (int)(((block % Partitions) + Partitions) % Partitions);
}
