using System.Numerics.Tensors;

namespace AgentLocator.Media;

/// <summary>
/// Removes the bot's own voice (a speakerphone's echo, ~6 dB down) from the caller's frames, so barge-in
/// and speech detection hear the caller. The reference is the bot's audio as the session scheduled it,
/// frame for frame beside the caller's frames; what Twilio really played, and when, is not known (network
/// and Twilio's jitter buffer put tens to hundreds of ms between the two, differently on each reply, and a
/// playback that fell behind moves it mid-reply), so the echo path's delay is estimated on the line:
/// <list type="number">
/// <item>Search: the 4 ms amplitude envelopes of the last <see cref="SearchWindow"/> of inbound audio and of
/// the reference are correlated (Pearson) at every lag up to <see cref="MaxDelay"/>; around the two best
/// peaks (the true delay and the runner-up, which speech's syllable rhythm makes strong), the waveforms
/// themselves are correlated sample by sample.</item>
/// <item>Plausible delays: each refined peak whose waveforms correlate at ≥ <see cref="CandidateCorrelation"/>
/// (a caller talking over the echo at its level leaves ~0.7) is kept for <see cref="CandidateLife"/>. Every
/// frame, the echo is fitted at each of them (least-squares gain, ±2 samples) and the best fit is what the
/// frame's echo is taken to be: the caller is what no plausible delay explains.</item>
/// <item>Lock: a delay is adopted for the NLMS filter only when independent clear estimates agree
/// (<see cref="EchoPathLock"/>); the filter of <see cref="Taps"/> taps around it, started at the
/// least-squares gain, predicts the echo of each sample and adapts only while the residual is well under
/// the predicted echo (no double talk). While it cancels well, no search runs.</item>
/// <item>Spectral model: a speakerphone in a room (band-limited, clipped, reverberant) returns an echo whose waveform
/// correlates 0.3–0.5 with the reference: nothing locks, no fit explains it. Each search's envelope peaks are offered to
/// <see cref="SpectralEchoModel"/>, which predicts the echo's power per band and adopts a delay whose fit explains the
/// audio (<see cref="SpectralAdoptShare"/>). Once the line is <see cref="Reverberant"/> (an adopted delay whose waveform
/// did not match, and no clear plain copy ever), a frame neither the filter nor a fit accounts
/// for is judged against it: the caller is heard as the power above the echo predicted (<see cref="LastFrameSpectral"/>),
/// not held to the level rule. A plain copy stays the filter's, as before.</item>
/// </list>
/// The search runs every <see cref="SearchEveryFrames"/> frames while the bot talks and the locked path does
/// not cancel the echo well, and on demand (<see cref="ExplainsRecentAudioAsEcho"/>) before a barge-in fires;
/// with no bot audio in the last <see cref="MaxDelay"/> the frame passes unchanged at no cost (two 256-point FFTs per
/// frame otherwise, for the spectral model). Per call, not thread-safe.
/// </summary>
public sealed class EchoCanceller
{
    public const int FrameSamples = 160;

    /// <summary>The longest echo delay searched: 640 ms at 8 kHz.</summary>
    public const int MaxDelay = 5120;

    /// <summary>Inbound audio correlated with the reference per search: 800 ms.</summary>
    public const int SearchWindow = 6400;

    /// <summary>The waveform correlation at which the inbound audio is taken to be the echo (and a clear estimate a vote for its delay).</summary>
    public const double LockCorrelation = 0.9;

    /// <summary>The waveform correlation at which a delay is plausible: the echo is there, maybe under a caller.</summary>
    public const double CandidateCorrelation = 0.3;

    /// <summary>The envelopes' correlation a coarse peak needs before it is refined.</summary>
    public const double CoarseCorrelation = 0.4;

    /// <summary>How long a plausible delay is kept after a search last found it: 3 s.</summary>
    public const int CandidateLife = 3 * 8000;

    public const int SearchEveryFrames = 5;

    /// <summary>NLMS taps (4 ms) and how many of them lie before the estimated delay.</summary>
    public const int Taps = 32;

    /// <summary>Taps after the estimated delay (less when the delay is shorter: the reference's future is not known).</summary>
    private const int TapLead = 8;
    private const int Block = 32;

    /// <summary>Envelope blocks either side of the coarse peak searched on the waveform (±24 ms).</summary>
    private const int FineBlocks = 6;

    /// <summary>Two envelope peaks closer than this (40 ms) are one.</summary>
    private const int PeakSeparationBlocks = 10;

    private const int MaxDelayBlocks = MaxDelay / Block;

    /// <summary>Waveform correlated in the fine search: the last 300 ms.</summary>
    private const int FineWindow = 2400;

    /// <summary>Samples either side of a plausible delay fitted per frame.</summary>
    private const int FitSpread = 2;

    private const int MaxCandidates = 4;

    /// <summary>A frame with a clear echo that the filter cancels well, or a fit explains this share of, verifies the echo path in use…</summary>
    private const float VerifiedShare = 0.9f;

    /// <summary>…for 500 ms: longer than a caller talks over the echo before barge-in fires, with echo-only dips between their syllables.</summary>
    private const int VerifiedFor = 4000;

    /// <summary>A fitted echo is subtracted from the frame the speech detector hears when it explains at least this share of the frame.</summary>
    private const float SubtractShare = 0.25f;

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
    private readonly float[] _lagDots = new float[2 * FineBlocks * Block + 1];
    private float[]? _allLagDots; // made when a reply's first sound is first judged (BestCorrelation)
    private readonly (long End, int Blocks, float Sum, float Energy)[] _referenceEnvelopeStats = new (long, int, float, float)[ReferenceLength / Block];
    private readonly (int Delay, long At, long Since)[] _candidates = new (int, long, long)[MaxCandidates];
    private readonly EchoPathLock _lock = new();
    private readonly SpectralEchoModel _spectrum = new();
    private readonly HarmonicDoubleTalk _harmonic = new();
    private PartitionedEchoFilter? _adaptive; // made when a line first needs it: most lines never do
    private readonly float[] _adaptiveResidual = new float[FrameSamples];
    private readonly ResidualEchoSuppressor _suppressor = new();
    private readonly float[] _suppressorResidual = new float[ResidualEchoSuppressor.FftSize];
    private readonly float[] _suppressorEcho = new float[ResidualEchoSuppressor.FftSize];
    private int _adaptiveJudgedFrames;
    private double _adaptiveLeftoverDb = AssumedAdaptiveLeftoverDb;
    private bool _adaptiveJudged;
    private long _talkingSince; // the sample since which the bot has been within reach of an echo
    private bool _reverberant;
    private (int First, int Second) _coarseDelays = (-1, -1);
    private bool _spectral;
    private double _filterLeftoverDb = AssumedLeftoverDb;
    private double _spectralLeftoverDb = AssumedSpectralLeftoverDb;
    private int _candidateCount;
    private long _verifiedAt = long.MinValue / 2;
    private int _referenceAt; // next write position in the reference ring (samples written so far, mod length)
    private int _inboundAt;
    private long _samples;
    private long _lastReferenceSample = -ReferenceLength; // the last sample at which the bot's audio was heard in the reference
    private int _frame;
    private bool _adapt;
    private bool _cancellingWell;
    private int _lead;
    private long _lockedAt;

    /// <summary>Where the reference last moved later (<see cref="ReferenceMoved"/>), and by how many samples (0: never).</summary>
    private long _movedAt;
    private int _moved;

    /// <summary>
    /// After <see cref="ExplainsRecentAudioAsEcho"/> found the window to be the echo at a delay the frames were not cancelled at from the
    /// window's start, on a line whose plain path is locked: how many samples back fits at that delay, found later in the window (the echo's
    /// path moved: a new reply's echo came back at a new delay, out of the locked filter's reach), took it out of every frame since. Those
    /// frames were judged with the echo taken out; the ones before held it. Null otherwise.
    /// </summary>
    public int? EchoTakenOutSamples { get; private set; }

    /// <summary>Whether an echo path is locked (its delay agreed by independent estimates and the filter running).</summary>
    public bool IsLocked { get; private set; }

    /// <summary>The echo path's delay behind the reference, in samples (valid while <see cref="IsLocked"/>).</summary>
    public int DelaySamples { get; private set; }

    /// <summary>The waveform correlation when the path was last adopted.</summary>
    public double LockedCorrelation { get; private set; }

    /// <summary>The last search's result: the delay it found, and the envelopes' and the waveforms' correlation there.</summary>
    public (int DelaySamples, double Envelope, double Waveform) LastSearch { get; private set; }

    /// <summary>How many times a path was adopted (the first lock and each change of delay).</summary>
    public int Locks => _lock.Changes;

    /// <summary>The delays the echo is fitted at now (the locked one aside), newest estimate last.</summary>
    public IEnumerable<int> PlausibleDelays => _candidates.Take(_candidateCount).Select(c => c.Delay);

    /// <summary>Whether the last frame's echo was accounted for (a locked path or plausible delays): the barge-in detector then compares the caller with the echo predicted.</summary>
    public bool LastFrameCancelled { get; private set; }

    /// <summary>The last frame's levels: what came in, the echo predicted in it, and what is left.</summary>
    public double InboundDbfs { get; private set; } = AudioLevel.SilenceDbfs;

    public double EchoDbfs { get; private set; } = AudioLevel.SilenceDbfs;

    public double ResidualDbfs { get; private set; } = AudioLevel.SilenceDbfs;

    /// <summary>
    /// What cancelling leaves of the echo, in dB relative to the echo predicted: tracked on frames with a clear
    /// echo, following the low values (the echo alone) fast and the high ones (a caller over it) slowly. Starts at
    /// <see cref="AssumedLeftoverDb"/>, until the line shows better or worse. Tracked apart for the spectral model
    /// (from <see cref="AssumedSpectralLeftoverDb"/>): this is the one of whichever judged the last frame.
    /// </summary>
    public double EchoLeftoverDb => _adaptiveJudged ? _adaptiveLeftoverDb : _spectral ? _spectralLeftoverDb : _filterLeftoverDb;

    /// <summary>
    /// The frequency-domain adaptive filter that takes a reverberant echo out of the waveform, on a line no time-domain path
    /// locks onto (run from the spectral model's delay on, stopped once a plain copy is voted for). Null until the line first
    /// needs it: a line with no echo, or one the time-domain filter locks onto first, never carries its state (about 125 KiB).
    /// </summary>
    public PartitionedEchoFilter? Adaptive => _adaptive;

    /// <summary>Whether the last frame was judged on the adaptive filter's residual (<see cref="Adaptive"/>).</summary>
    public bool LastFrameAdaptive => _adaptiveJudged;

    /// <summary>
    /// Whether the last frame was judged on the adaptive filter's residual after the filter had judged <see cref="AdaptiveTrustedFrames"/>
    /// (400 ms) with no break in its alignment: a filter that just began judging a reply (after the shift check) may follow it badly, and
    /// its loud syllables then leave enough over the double-talk bar for the speech detector to hear the bot's speech in them.
    /// </summary>
    public bool LastFrameAdaptiveTrusted => _adaptiveJudged && _adaptiveJudgedFrames >= AdaptiveTrustedFrames;

    /// <summary>
    /// Whether the last frame, judged on the adaptive filter's residual, was double talk: the filter left far more of it than it
    /// leaves of the echo alone (<see cref="DoubleTalkResidualDb"/>), so the residual echo suppressor did not scale it down.
    /// </summary>
    public bool LastFrameDoubleTalk { get; private set; }

    /// <summary>What the adaptive filter is assumed to leave of the echo when it starts judging (its convergence bar).</summary>
    public const double AssumedAdaptiveLeftoverDb = -PartitionedEchoFilter.ConvergedErleDb;

    /// <summary>
    /// Frames the adaptive filter must have judged (400 ms), with no break in its alignment, before a barge-in on them skips the
    /// spectral check.
    /// </summary>
    private const int AdaptiveTrustedFrames = 20;

    /// <summary>
    /// The least the adaptive filter and its residual echo suppressor (<see cref="ResidualEchoSuppressor"/>) are taken to leave of a
    /// clipped, reverberant echo (it keeps 23–24 dB under it of the echo alone in ResidualEchoSuppressorTests; −35 let the echo interrupt in barge-in-eval).
    /// </summary>
    public const double BestAdaptiveLeftoverDb = -30;


    /// <summary>
    /// Whether the line has shown an echo that only the spectral model explains (a delay it adopted, after a second of the bot
    /// talking, whose waveform did not match) and never a clear plain copy of the bot's audio (a vote for a delay): frames the
    /// filter does not account for are then judged against the model.
    /// </summary>
    public bool Reverberant => _reverberant && _lock.Votes == 0;

    /// <summary>Whether the last frame's echo was predicted by the spectral model (<see cref="Spectrum"/>), not by the filter or a fit.</summary>
    public bool LastFrameSpectral => _spectral;

    /// <summary>The power model of the echo that a filter cannot follow (a reverberant, band-limited, clipped echo path).</summary>
    public SpectralEchoModel Spectrum => _spectrum;

    /// <summary>What the spectral model is assumed to leave of the echo before it is measured (dB relative to the echo predicted).</summary>
    public const double AssumedSpectralLeftoverDb = -15;

    /// <summary>The leftover assumed before one is measured (and never assumed better than <see cref="BestLeftoverDb"/>).</summary>
    public const double AssumedLeftoverDb = -35;

    public const double BestLeftoverDb = -40;

    /// <summary>The least the spectral model is taken to leave of the echo (its prediction is of power, not of the waveform).</summary>
    public const double BestSpectralLeftoverDb = -25;

    /// <summary>A delay whose fit leaves at most this share of the search window's power unexplained is adopted by the spectral model.</summary>
    public const float SpectralAdoptShare = 0.3f;

    /// <summary>
    /// A search whose waveforms correlate at least this well found a plain copy of the bot's audio (a speakerphone in a room
    /// leaves 0.3–0.5): a delay the spectral model adopts then does not make the line <see cref="Reverberant"/>.
    /// </summary>
    public const double PlainEchoCorrelation = 0.65;

    /// <summary>How long the bot must have talked (samples: 1 s) before a delay the spectral model adopts makes the line <see cref="Reverberant"/>.</summary>
    private const int ReverberantAfter = 8000;

    /// <summary>Before a barge-in fires: the last 400 ms are the echo when a spectral fit leaves at most this share unexplained.</summary>
    public const float SpectralEchoShare = 0.15f;

    /// <summary>
    /// How fast the tracked leftover follows a frame that left more (dB per frame): a caller over the echo leaves
    /// "more" for seconds, and must not lift the bar they are measured against. The echo heard as a caller
    /// (<see cref="ExplainsRecentAudioAsEcho"/>) lifts it by <see cref="LeftoverRiseOnEchoDb"/> at once.
    /// </summary>
    private const double LeftoverRisePerFrameDb = 0.05;

    private const double LeftoverRiseOnEchoDb = 5;

    /// <summary>Predicted echo below this (dBFS) says nothing about what cancelling leaves.</summary>
    private const double LeftoverEchoDbfs = -45;

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
        LastFrameDoubleTalk = false;
        if (!BotAudible)
        {
            _talkingSince = _samples;
            _spectrum.Skip();
            _adaptiveJudged = false;
            if (_adaptive is { Active: true })
            {
                _adaptive.Process(InboundSpan(FrameSamples), ReferenceSpan(FrameSamples, 0), _adaptiveResidual); // its rings stay continuous
            }

            PassThrough(inbound, residual);

            // Nothing of the bot's is within reach of an echo: with a plain echo's path locked and verified no echo is due, and the
            // line is the caller's, judged as over a cancelled echo with nothing left of it (a caller in a long pause of a reply is
            // not held to the level rule).
            LastFrameCancelled = IsLocked && !Reverberant && _samples - _verifiedAt <= VerifiedFor;
            return;
        }

        _spectrum.Process(InboundSpan(SpectralEchoModel.FftSize), ReferenceSpan(SpectralEchoModel.FftSize, 0),
            Energy(ReferenceSpan(SpectralEchoModel.FftSize, 0)) <= SilentMeanSquare * SpectralEchoModel.FftSize);

        // Search while the bot talks, unless the locked path is cancelling the echo well (the filter then tracks it).
        if (++_frame % SearchEveryFrames == 0 && _samples - _lastReferenceSample < FrameSamples * SearchEveryFrames && !(IsLocked && _cancellingWell))
        {
            Consider(Search(SearchWindow, 0), _samples);
            OfferToSpectrum();
        }

        var adaptive = RunAdaptive();

        ExpireCandidates();
        var filtered = false;
        double echoEnergy = 0, residualEnergy = inboundEnergy;
        _cancellingWell = false;
        if (IsLocked)
        {
            var (echo, left) = Cancel(frameStart);
            // A prediction that made the frame louder is a path that moved (playback fell behind mid-reply): not used.
            if (left <= inboundEnergy)
            {
                filtered = true;
                echoEnergy = echo;
                residualEnergy = left;
                _cancellingWell = echo > SilentMeanSquare * FrameSamples && left < echo / 16;
            }
            else
            {
                _adapt = false;
            }
        }

        var fitLag = -1;
        var fitGain = 0f;
        if (!_cancellingWell && _candidateCount > 0)
        {
            (fitLag, fitGain, var explained) = Fit(InboundSpan(FrameSamples));
            var left = Math.Max(0, inboundEnergy - explained);
            if (fitLag >= 0 && (!filtered || left < residualEnergy))
            {
                filtered = false;
                echoEnergy = explained;
                residualEnergy = left;
            }
            else
            {
                fitLag = -1;
            }
        }

        if (EchoDbfsOf(echoEnergy) > LeftoverEchoDbfs && (filtered ? _cancellingWell : fitLag >= 0 && echoEnergy >= VerifiedShare * inboundEnergy))
        {
            _verifiedAt = _samples;
        }
        else if (BotSilentAtDelaysInUse())
        {
            _verifiedAt += FrameSamples; // a pause in the bot's speech: nothing to verify the path on, so it does not age
        }

        if (adaptive is not null)
        {
            AdaptiveResidual(adaptive, residual, inboundEnergy);
            return;
        }

        // The locked path and the plausible delays count only while they have recently explained the echo: after the
        // path moved out of their reach, the frames go to the level rule, not to a bar set under an echo nobody predicts.
        if (!(IsLocked || _candidateCount > 0) || _samples - _verifiedAt > VerifiedFor)
        {
            // The spectral model judges the frame once the line has shown an echo only it explains (the level rule fired on
            // it); until then the level rule holds, as it always did for a plain copy the filter has not locked onto yet.
            if (_spectrum.DelaySamples is not null && Reverberant)
            {
                SpectralResidual(inbound, residual, inboundEnergy);
                return;
            }

            PassThrough(inbound, residual);
            return;
        }

        // The echo is accounted for: by the filter, or by the best fit at a plausible delay (or none fits: the frame is not the echo).
        LastFrameCancelled = true;
        _spectral = false;
        EchoDbfs = ToDbfs((float)echoEnergy);
        ResidualDbfs = ToDbfs((float)residualEnergy);
        _filterLeftoverDb = Track(_filterLeftoverDb, BestLeftoverDb);
        if (filtered)
        {
            Encode(_residual, residual);
        }
        else if (fitLag >= 0 && echoEnergy >= SubtractShare * inboundEnergy)
        {
            var y = InboundSpan(FrameSamples);
            var r = ReferenceSpan(FrameSamples, fitLag);
            for (var n = 0; n < FrameSamples; n++)
            {
                _residual[n] = y[n] - fitGain * r[n];
            }

            Encode(_residual, residual);
        }
        else
        {
            inbound[..FrameSamples].CopyTo(residual);
        }
    }

    /// <summary>
    /// Before a barge-in fires: whether the inbound audio of the last <paramref name="window"/> samples is the
    /// bot's echo that was not taken out: the waveforms correlate at ≥ <see cref="LockCorrelation"/> at some delay
    /// over the whole window, or over each half of it (the path moved inside the window), and that delay is not
    /// one the frames were already cancelled at (<see cref="CancelledAt"/>: the caller is then what was left after
    /// the echo came out, however loud the echo was beside them). Each clear estimate is a vote for its delay.
    /// Or, when neither the filter nor a waveform fit had taken the echo out and the waveform does not look like a
    /// plain copy (<see cref="PlainEchoCorrelation"/>), the spectral model fitted over the window explains all but
    /// <see cref="SpectralEchoShare"/> of it, frame by frame too (a reverberant echo alone; the model takes that fit).
    /// </summary>
    public bool ExplainsRecentAudioAsEcho(int window = 3200)
    {
        if (_samples - _lastReferenceSample > MaxDelay + Taps + window)
        {
            return false;
        }

        window = Math.Clamp(window / Block * Block, 2 * 800, SearchWindow);
        // The filter or a fit took the echo out: the caller is what they left. (Frames the spectral model judged had nothing
        // taken out of their waveform: a plain copy found in them now is echo, whatever delay the fits were at.)
        // The adaptive filter took the echo out of frames it judged; a barge-in it judged only the last of is checked as before.
        var cancelled = LastFrameCancelled && !_spectral && !(_adaptiveJudged && _adaptiveJudgedFrames < AdaptiveTrustedFrames);
        var since = _samples - window;
        var whole = Search(window, 0);
        var coarse = _coarseDelays;
        EchoTakenOutSamples = null;
        Consider(whole, _samples);
        if (whole.Correlation >= LockCorrelation)
        {
            if (cancelled && CancelledAt(whole.Delay, since))
            {
                return false;
            }

            // On a line whose plain path is locked, fits at that delay found later in the window took the echo out of the frames since.
            EchoTakenOutSamples = cancelled && IsLocked && !Reverberant ? FittedFor(whole.Delay) : null;
            return EchoHeardAsCaller();
        }

        var half = window / 2 / Block * Block;
        var older = Search(half, half);
        Consider(older, _samples - half);
        if (older.Correlation >= LockCorrelation)
        {
            var recent = Search(half, 0);
            Consider(recent, _samples);
            if (recent.Correlation >= LockCorrelation)
            {
                return !(cancelled && CancelledAt(older.Delay, since) && CancelledAt(recent.Delay, since)) && EchoHeardAsCaller();
            }
        }

        // A waveform this close to the bot's is a plain copy of it with a caller over it (the echo alone would have passed
        // above): the spectral check is for an echo path no waveform matches.
        // A line that has shown a clear plain copy of the bot's audio (a vote for its delay) and nothing only the spectral model
        // explains is the waveform rule's alone.
        return !cancelled && (Reverberant || _lock.Votes == 0) && ExplainsAsSpectralEcho(window / FrameSamples, coarse, whole);
    }

    /// <summary>
    /// The best waveform correlation of the last <paramref name="window"/> inbound samples with the bot's audio at any delay from
    /// <paramref name="minDelay"/> to <see cref="MaxDelay"/> samples (0 where the bot's audio is silent, or the window is): how
    /// much of a sound that just began could be the bot's echo, whatever the echo's delay. A plain echo correlates near 1 at its
    /// delay, a reverberant one 0.3–0.5; a caller alone 0.05–0.5, by chance. About 4 million multiply-adds (800 samples
    /// at every delay): once a reply, not per frame. A window quieter than <paramref name="minDbfs"/> is taken for the echo (1):
    /// too faint to tell. <paramref name="loudestEchoDb"/>: only delays at which the bot's audio is loud enough to have made the window
    /// are tried, no frame of it (over <paramref name="minDbfs"/>) louder than the bot's audio there (that frame or the
    /// <see cref="EchoLevelLookBackFrames"/> before) by more than this: at a delay that reaches back to before the bot began, its first
    /// sound at one end of the window matches a few of a caller's samples by chance.
    /// </summary>
    public double BestCorrelation(int window, int minDelay, double minDbfs = AudioLevel.SilenceDbfs, double? loudestEchoDb = null) =>
        BestMatch(window, minDelay, minDbfs, loudestEchoDb) is { Lag: >= 0 } match ? match.Correlation : 1;

    /// <summary>
    /// While a reply's first sound is undecided (<see cref="BargeInListener"/>): when the last <paramref name="window"/> inbound samples
    /// match the bot's audio as a plain copy does (at least <see cref="LockCorrelation"/>) at a delay from <paramref name="minDelay"/> on,
    /// at which the bot's audio could have made them (<see cref="BestCorrelation"/>'s <paramref name="minDbfs"/> and
    /// <paramref name="loudestEchoDb"/>), that delay is a plausible one: the frames are fitted at it from now on. The search every
    /// 100 ms looks at 800 ms whose envelope a caller who began with the echo leads astray (barge-in-eval direct seed 3, 450 ms: the
    /// envelope peaked at 2900 and 3290 samples, the echo came back at 3869, found 386 ms into the caller's voice); a 40 ms stretch where
    /// the echo stands over the caller's voice matches at its delay alone. About 1.6 million multiply-adds
    /// (320 samples at up to 5,120 delays) a frame, only while a first sound waits (at most 20 frames a reply).
    /// </summary>
    public void FindPlainEchoDelay(int window, int minDelay, double minDbfs, double loudestEchoDb)
    {
        var match = BestMatch(window, minDelay, minDbfs, loudestEchoDb);
        if (match.Lag >= 0 && match.Correlation >= LockCorrelation)
        {
            AddCandidate(match.Lag, _samples);
        }
    }

    /// <summary>The best waveform correlation of the last <paramref name="window"/> inbound samples and its delay (see <see cref="BestCorrelation"/>; delay −1: too faint to tell).</summary>
    private (float Correlation, int Lag) BestMatch(int window, int minDelay, double minDbfs, double? loudestEchoDb)
    {
        window = Math.Clamp(window, FrameSamples, SearchWindow) / FrameSamples * FrameSamples;
        var from = Math.Clamp(minDelay, 0, MaxDelay);
        const int to = MaxDelay;
        var y = InboundSpan(window);
        var yEnergy = Energy(y);
        if (yEnergy <= SilentMeanSquare * window || ToDbfs(yEnergy * FrameSamples / window) < minDbfs)
        {
            return (1, -1);
        }

        if (loudestEchoDb is { } loudest)
        {
            PrepareEchoLevelCheck(y, from, to, minDbfs, loudest);
        }

        _allLagDots ??= new float[MaxDelay + 1];
        var lagDots = _allLagDots.AsSpan(0, to - from + 1);
        FixedOrderMath.DotAtLags(y, ReferenceSpan(window + to - from, from), lagDots);
        var rEnergy = Energy(ReferenceSpan(window, from));
        var best = (Correlation: 0f, Lag: from);
        for (var lag = from; lag <= to; lag++)
        {
            if (lag > from)
            {
                // Slid one sample back: the newest sample left the window, an older one entered it.
                var left = ReferenceSpan(window, lag - 1)[^1];
                rEnergy = Math.Max(0, rEnergy - left * left + ReferenceSpan(window, lag)[0] * ReferenceSpan(window, lag)[0]);
            }

            if (rEnergy <= SilentMeanSquare * window || (loudestEchoDb is not null && !EchoCouldBeThisLoud(lag, to)))
            {
                continue;
            }

            var c = lagDots[to - lag] / MathF.Sqrt(yEnergy * rEnergy);
            best = c > best.Correlation ? (c, lag) : best;
        }

        return best;
    }

    /// <summary>
    /// Frames of the reference before a judged frame whose audio may still sound in its echo (100 ms: a frame's echo split over two,
    /// a room's reverberation): as many as a first sound's judged frames, so each frame's bound holds the bot's audio that began it.
    /// </summary>
    private const int EchoLevelLookBackFrames = 5;

    private double[]? _referencePrefixEnergy; // made when a reply's first sound is first judged with the echo's level checked
    private readonly double[] _echoLevelCheckBar = new double[SearchWindow / FrameSamples];
    private int _echoLevelCheckFrames;

    /// <summary>
    /// For <see cref="EchoCouldBeThisLoud"/>: the prefix sums of the reference's energy over every delay from <paramref name="from"/>
    /// to <paramref name="to"/> (and the frames before), and per frame of <paramref name="y"/> the least reference energy its echo needs
    /// (frames under <paramref name="minDbfs"/> need none: too faint to tell).
    /// </summary>
    private void PrepareEchoLevelCheck(ReadOnlySpan<float> y, int from, int to, double minDbfs, double loudestEchoDb)
    {
        var lookBack = EchoLevelLookBackFrames * FrameSamples;
        var r = ReferenceSpan(y.Length + to - from + lookBack, from);
        if (_referencePrefixEnergy is null || _referencePrefixEnergy.Length < r.Length + 1)
        {
            // Sized for every delay (54 KB for a first sound's 100 ms: under the large object heap's 85 KB), once a line.
            _referencePrefixEnergy = new double[y.Length + MaxDelay + lookBack + 1];
        }

        var prefix = _referencePrefixEnergy;
        prefix[0] = 0;
        for (var i = 0; i < r.Length; i++)
        {
            prefix[i + 1] = prefix[i] + (double)r[i] * r[i];
        }

        _echoLevelCheckFrames = y.Length / FrameSamples;
        for (var k = 0; k < _echoLevelCheckFrames; k++)
        {
            var frameEnergy = Energy(y.Slice(k * FrameSamples, FrameSamples));
            var dbfs = ToDbfs(frameEnergy);
            _echoLevelCheckBar[k] = dbfs < minDbfs ? 0 : frameEnergy * Math.Pow(10, -loudestEchoDb / 10);
        }
    }

    /// <summary>
    /// Whether the bot's audio at <paramref name="lag"/> is loud enough, frame by frame, to have made what the line holds (prepared by
    /// <see cref="PrepareEchoLevelCheck"/>): an echo is no louder than the bot's audio it echoes (that frame or the
    /// <see cref="EchoLevelLookBackFrames"/> before) by more than the loudest echo allowed.
    /// </summary>
    private bool EchoCouldBeThisLoud(int lag, int to)
    {
        var prefix = _referencePrefixEnergy!;
        var start = EchoLevelLookBackFrames * FrameSamples + to - lag; // frame 0 of the window at this lag, in the prepared span
        for (var k = 0; k < _echoLevelCheckFrames; k++)
        {
            if (_echoLevelCheckBar[k] <= 0)
            {
                continue;
            }

            var loudest = 0d;
            for (var j = k - EchoLevelLookBackFrames; j <= k; j++)
            {
                var a = start + j * FrameSamples;
                loudest = Math.Max(loudest, prefix[a + FrameSamples] - prefix[a]);
            }

            if (loudest < _echoLevelCheckBar[k])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Whether the spectral model, fitted over the last <paramref name="frames"/> frames at the envelope search's delays or at
    /// the delay it uses, explains all but <see cref="SpectralEchoShare"/> of their power, and leaves no double talk (fewer than
    /// <see cref="SpectralEchoModel.DoubleTalkFrames"/> frames mostly unexplained: a caller at the echo's level adds only about
    /// 3 dB, which a fit over the window takes into its gains, but not in the frames where their voice stands alone): a
    /// reverberant echo no filter predicts (the model then takes that delay and fit). Fitted afresh, not judged by the gains learned: those are learned on the frames
    /// the model explained, a little low, and a first reply has had no time to learn them.
    /// Once the adaptive filter has converged (a later reply: the delay in use is an earlier reply's), also at the delay the window's
    /// waveform search refined (<paramref name="whole"/>), when it correlates at least as well as a plausible delay
    /// (<see cref="CandidateCorrelation"/>) and is not one of those: a new reply's echo that Twilio's jitter brought back
    /// sooner than the last one's, judged by the model while the filter checks it for a shift, whose envelope peak is off.
    /// (barge-in-eval room seed 4, 60 ms: 350 ms into a reply whose echo came 16 ms sooner, the fits at the envelope's 640 and the
    /// model's 672 samples left 18 % of the echo alone unexplained and it interrupted the reply; at the search's 545 they left 2 %. On a
    /// first reply too, it turned a caller down in room seed 5: 168 -> 167 of 240 within 400 ms.) Also when it is within a block of them:
    /// the frames' band powers are interpolated between 20 ms frames by the delay, so 10 ms off moves a syllable's onset by half a frame.
    /// (Room seed 4, 250 ms: 479 ms into a reply whose echo came back at 2000 samples, the envelope and the model said 2080, the search
    /// 2065; fitted at 2080 the onsets of two syllables stood 17-19 dB over the fit in 4 band-frames, double talk, and the echo alone
    /// interrupted the reply; at 2064 1 such band-frame.)
    /// </summary>
    private bool ExplainsAsSpectralEcho(int frames, (int First, int Second) coarse, SearchResult whole)
    {
        var inUse = _spectrum.DelaySamples;
        var refined = _adaptive is { Converged: true } && whole.Correlation >= CandidateCorrelation && whole.Delay != coarse.First
            && whole.Delay != coarse.Second && whole.Delay != inUse;
        var explained = (coarse.First >= 0 && EchoAloneAt(coarse.First, frames))
            || (coarse.Second >= 0 && EchoAloneAt(coarse.Second, frames))
            || (inUse is { } delay && delay != coarse.First && delay != coarse.Second && EchoAloneAt(delay, frames))
            || (refined && EchoAloneAt(whole.Delay, frames));
        return explained;
    }

    /// <summary>
    /// Whether the last <paramref name="frames"/> frames are the bot's echo alone at <paramref name="delay"/>: the spectral model's fit
    /// explains them (<see cref="SpectralEchoModel.Explains"/>; before the adaptive filter has converged, a call's first reply, also as
    /// gains fitted on the frames before the last 300 ms predict those: a caller who began after the echo came back), fewer than
    /// <see cref="HarmonicDoubleTalk.DoubleTalkFrames"/> of their loud frames repeat at a period the bot's audio there did not have
    /// (<see cref="HarmonicDoubleTalk"/>: a caller's voice), and fewer than <see cref="HarmonicDoubleTalk.CombDoubleTalkFrames"/> are left
    /// repeating at a period of their own once the bot's periods are combed out of them (<see cref="HarmonicDoubleTalk.CombForeignFrames"/>:
    /// a caller's voice over the bot's voiced echo).
    /// </summary>
    private bool EchoAloneAt(int delay, int frames) =>
        _spectrum.Explains(delay, frames, SpectralEchoShare, heldOut: _adaptive is not { Converged: true })
        && ForeignPeriodicFrames(delay, frames) < HarmonicDoubleTalk.DoubleTalkFrames
        && CombedForeignFrames(delay, frames) < HarmonicDoubleTalk.CombDoubleTalkFrames;

    /// <summary>Frames of the last <paramref name="frames"/> (at least half the window's mean power) whose period the bot's audio at <paramref name="delay"/> did not have.</summary>
    private int ForeignPeriodicFrames(int delay, int frames)
    {
        frames = Math.Min(frames, (InboundLength - HarmonicDoubleTalk.MaxLag) / FrameSamples); // the inbound ring holds the window and its lags
        var length = frames * FrameSamples;
        var inbound = InboundSpan(length + HarmonicDoubleTalk.MaxLag);
        var after = delay >= HarmonicDoubleTalk.LeadFrames * FrameSamples;
        var afterSamples = after ? HarmonicDoubleTalk.LeadFrames * FrameSamples : 0;
        var reference = ReferenceSpan(length + HarmonicDoubleTalk.TailFrames * FrameSamples + HarmonicDoubleTalk.MaxLag + afterSamples, delay - afterSamples);
        var loud = SpectralEchoModel.DoubleTalkLoudShare * Energy(inbound[HarmonicDoubleTalk.MaxLag..]) / frames;
        return _harmonic.ForeignFrames(inbound, reference, frames, after, loud);
    }

    /// <summary>
    /// Frames of the last <paramref name="frames"/> inbound (at least half their mean power) that repeat at a period continuing a pitch track
    /// from the frame before (<see cref="HarmonicDoubleTalk.VoicedFrames"/>): voiced speech, whoever's.
    /// </summary>
    public int VoicedFrames(int frames)
    {
        frames = Math.Clamp(frames, 1, (InboundLength - HarmonicDoubleTalk.MaxLag) / FrameSamples);
        var inbound = InboundSpan(frames * FrameSamples + HarmonicDoubleTalk.MaxLag);
        var loud = SpectralEchoModel.DoubleTalkLoudShare * Energy(inbound[HarmonicDoubleTalk.MaxLag..]) / frames;
        return _harmonic.VoicedFrames(inbound, frames, loud);
    }

    /// <summary>
    /// Frames of the last <paramref name="frames"/> (at least half the window's mean power) left repeating at a period of their own, continuing
    /// such a frame before them, once the bot's periods at <paramref name="delay"/> are combed out (<see cref="HarmonicDoubleTalk.CombForeignFrames"/>).
    /// </summary>
    private int CombedForeignFrames(int delay, int frames)
    {
        frames = Math.Min(frames, (InboundLength - HarmonicDoubleTalk.CombHistory) / FrameSamples); // the inbound ring holds the window and the combs' history
        var length = frames * FrameSamples;
        var inbound = InboundSpan(length + HarmonicDoubleTalk.CombHistory);
        var reference = ReferenceSpan(length + HarmonicDoubleTalk.CombTailFrames * FrameSamples + HarmonicDoubleTalk.MaxLag, delay);
        var loud = SpectralEchoModel.DoubleTalkLoudShare * Energy(inbound[HarmonicDoubleTalk.CombHistory..]) / frames;
        return _harmonic.CombForeignFrames(inbound, reference, frames, loud);
    }

    /// <summary>Whether the bot's audio is silent in this frame at the locked delay and every plausible one (false when there are none): no echo is due.</summary>
    private bool BotSilentAtDelaysInUse()
    {
        if (IsLocked && Energy(ReferenceSpan(FrameSamples, DelaySamples)) > SilentMeanSquare * FrameSamples)
        {
            return false;
        }

        for (var i = 0; i < _candidateCount; i++)
        {
            if (Energy(ReferenceSpan(FrameSamples, _candidates[i].Delay)) > SilentMeanSquare * FrameSamples)
            {
                return false;
            }
        }

        return IsLocked || _candidateCount > 0;
    }

    /// <summary>
    /// Whether the frames since sample <paramref name="since"/> were cancelled at <paramref name="delay"/>: the locked path's,
    /// adopted before then, or a plausible delay found in the first half of the window at the latest (fitted every frame
    /// since: a caller who began before the echo arrived was heard over it for at least the second half). A delay found
    /// later (a path that just moved) took none of the echo out of the frames the barge-in was counted on.
    /// </summary>
    private bool CancelledAt(int delay, long since)
    {
        if (IsLocked && _lockedAt <= since && Math.Abs(delay - DelaySamples) <= EchoPathLock.Tolerance)
        {
            return true;
        }

        for (var i = 0; i < _candidateCount; i++)
        {
            if (_candidates[i].Since <= since + (_samples - since) / 2 && Math.Abs(delay - _candidates[i].Delay) <= FitSpread)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// How many samples back fits at <paramref name="delay"/> (a plausible delay found within the window, not at its start) have been
    /// taking the echo out of every frame; null when none has.
    /// </summary>
    private int? FittedFor(int delay)
    {
        int? longest = null;
        for (var i = 0; i < _candidateCount; i++)
        {
            if (Math.Abs(delay - _candidates[i].Delay) <= FitSpread && _candidates[i].Since < _samples)
            {
                longest = Math.Max(longest ?? 0, (int)(_samples - _candidates[i].Since));
            }
        }

        return longest;
    }

    /// <summary>The echo passed for a caller: cancelling leaves more of it than the tracked leftover says.</summary>
    private bool EchoHeardAsCaller()
    {
        _filterLeftoverDb = Math.Min(0, _filterLeftoverDb + LeftoverRiseOnEchoDb);
        return true;
    }

    /// <summary>
    /// The tracked leftover after a frame (<see cref="EchoDbfs"/>, <see cref="ResidualDbfs"/> set): following what the frame left
    /// fast when it is less, slowly when more (a caller over the echo).
    /// </summary>
    private double Track(double tracked, double best) => Track(tracked, best, EchoDbfs, ResidualDbfs);

    private static double Track(double tracked, double best, double echoDbfs, double residualDbfs)
    {
        if (echoDbfs <= LeftoverEchoDbfs)
        {
            return tracked;
        }

        var leftover = residualDbfs - echoDbfs;
        return Math.Max(best, leftover < tracked
            ? tracked + 0.3 * (leftover - tracked)
            : Math.Min(leftover, tracked + LeftoverRisePerFrameDb));
    }

    /// <summary>
    /// Runs the adaptive filter on a line no time-domain path locks onto, from the delay the spectral model adopted (a plain copy
    /// voted for stops it: the short filter has that one), made the first time a line needs it; returns the filter when its
    /// residual judges this frame, null when it does not.
    /// </summary>
    private PartitionedEchoFilter? RunAdaptive()
    {
        if (IsLocked || _lock.Votes > 0 || _spectrum.DelaySamples is not { } delay)
        {
            if (_adaptive is { Active: true })
            {
                _adaptive.Stop();
            }

            _adaptiveJudged = false;
            _adaptiveJudgedFrames = 0;
            return null;
        }

        _adaptive ??= new PartitionedEchoFilter();
        if (_adaptive.Active)
        {
            _adaptive.Offer(delay);
        }
        else
        {
            _adaptive.Start(delay);
            _suppressor.Reset();
        }

        _adaptive.Process(InboundSpan(FrameSamples), ReferenceSpan(FrameSamples, 0), _adaptiveResidual);
        if (_adaptive.Converged)
        {
            // The residual echo per band, learned on frames the filter cancelled well (no caller at the echo's level over it).
            _adaptive.Recent(_suppressorResidual, _suppressorEcho);
            _suppressor.Process(_suppressorResidual, _suppressorEcho, learn: _adaptive.Aligned && ToDbfs(_adaptive.EchoEnergy) > LeftoverEchoDbfs
                && _adaptive.ResidualEnergy <= ResidualEchoSuppressor.LearnShare * _adaptive.EchoEnergy);
        }

        _adaptiveJudged = _adaptive.Judges;
        if (!_adaptiveJudged && _adaptive.Converged && _adaptive.Aligned && _adaptive.TypicalErleDb >= PartitionedEchoFilter.ConvergedErleDb
            && _adaptive.ResidualEnergy <= _adaptive.InboundEnergy)
        {
            // A frame the converged filter cancels but does not judge yet (its first 500 ms, a new reply's shift check): what it and the
            // suppressor leave of the echo there is what they will leave once it judges (a first reply it judged little of left the
            // leftover at the assumed −8 dB, and the bar on the plain level rule for the next reply's caller).
            var gain = _suppressor.Gain;
            _adaptiveLeftoverDb = Track(_adaptiveLeftoverDb, BestAdaptiveLeftoverDb, ToDbfs(_adaptive.EchoEnergy), ToDbfs(gain * gain * _adaptive.ResidualEnergy));
        }

        // A frame it does not judge while it still has the path (one it made louder: a caller's syllable ending over the echo) does
        // not restart the count; a path lost or moved (a new reply's echo checked for a shift) does.
        _adaptiveJudgedFrames = _adaptiveJudged ? _adaptiveJudgedFrames + 1 : _adaptive.Converged && _adaptive.Aligned ? _adaptiveJudgedFrames : 0;
        return _adaptiveJudged ? _adaptive : null;
    }

    /// <summary>
    /// The frame as the adaptive filter left it: its predicted echo taken out of the waveform, and what is left scaled down to the
    /// power of the bands where it clearly exceeds the residual echo estimated there (<see cref="ResidualEchoSuppressor"/>): a
    /// clip's leftover under the bot's loud syllables stays in the echo's bands and is not heard as a caller, while a caller
    /// keeps the bands the echo left clean.
    /// </summary>
    private void AdaptiveResidual(PartitionedEchoFilter adaptive, Span<byte> residual, float inboundEnergy)
    {
        LastFrameCancelled = true;
        _spectral = false;
        var left = Math.Min(adaptive.ResidualEnergy, inboundEnergy);
        var gain = _suppressor.Gain; // learned and computed in RunAdaptive, on every frame of the converged filter
        LastFrameDoubleTalk = DoubleTalk(adaptive);
        if (LastFrameDoubleTalk)
        {
            gain = 1; // a caller over the echo: what the filter left is theirs, not a leftover to suppress
        }
        TensorPrimitives.Multiply(_adaptiveResidual, gain, _adaptiveResidual);
        EchoDbfs = ToDbfs(adaptive.EchoEnergy);
        ResidualDbfs = ToDbfs(gain * gain * left);
        _adaptiveLeftoverDb = Track(_adaptiveLeftoverDb, BestAdaptiveLeftoverDb);
        Encode(_adaptiveResidual, residual);
    }

    /// <summary>
    /// Double talk on the converged filter's residual, as a residual-based Geigel test: the frame's residual is more than
    /// <see cref="DoubleTalkResidualDb"/> above what the filter typically leaves of its predicted echo
    /// (<see cref="PartitionedEchoFilter.TypicalErleDb"/>) and above −45 dBFS. The echo alone, clip and reverberation included,
    /// stays under that; a caller over it, even 10 dB under the bot's loud syllables, does not.
    /// </summary>
    private static bool DoubleTalk(PartitionedEchoFilter adaptive)
    {
        var expected = adaptive.EchoEnergy * Math.Pow(10, -(adaptive.TypicalErleDb - DoubleTalkResidualDb) / 10);
        return adaptive.ResidualEnergy > expected && ToDbfs(adaptive.ResidualEnergy) > LeftoverEchoDbfs;
    }

    /// <summary>
    /// How far above what the converged filter typically leaves of its predicted echo a frame's residual must be to be double talk
    /// (10 dB: at 6 dB the echo alone interrupted twice in barge-in-eval's hour of room echo; at 10, never).
    /// </summary>
    public const double DoubleTalkResidualDb = 10;

    /// <summary>The canceller's search found the echo's envelope: its delays go to the spectral model, which adopts one that explains the audio.</summary>
    private void OfferToSpectrum()
    {
        // A delay within a block of the one in use is that one (the model tracks its gains itself).
        var current = _spectrum.DelaySamples ?? int.MinValue / 2;
        var adopted = _coarseDelays.First >= 0 && Math.Abs(_coarseDelays.First - current) > Block && _spectrum.Offer(_coarseDelays.First, SpectralAdoptShare);
        current = _spectrum.DelaySamples ?? int.MinValue / 2;
        adopted |= _coarseDelays.Second >= 0 && Math.Abs(_coarseDelays.Second - current) > Block && _spectrum.Offer(_coarseDelays.Second, SpectralAdoptShare);

        // Its power explained, its waveform not, after a second of the bot talking with no clear estimate of a plain copy (or
        // sooner, when the line was quiet until its echo arrived): an echo path no filter follows.
        if (_reverberant || LastSearch.Waveform >= PlainEchoCorrelation || _lock.Votes > 0)
        {
            return;
        }

        _reverberant = adopted && _samples - _talkingSince >= ReverberantAfter || QuietUntilEchoArrived();
    }

    /// <summary>
    /// In the bot's first 800 ms of talking (a call's first reply, before the second <see cref="ReverberantAfter"/> waits for):
    /// whether the delay the spectral model uses, fitted afresh over the search's window, explains the line as surely as the
    /// echo check asks (all but <see cref="SpectralEchoShare"/> of its power, no double talk) after at least 200 ms of its echo,
    /// and the line was quiet from the bot's first audio until that delay's echo could arrive (every 20 ms at least 20 dB
    /// under the line since): what came in is the echo's onset, not a caller who was talking already, so the model can judge
    /// the frames from here on.
    /// </summary>
    private bool QuietUntilEchoArrived()
    {
        if (_spectrum.DelaySamples is not { } delay)
        {
            return false;
        }

        var arrival = _talkingSince + delay;
        if (_samples - _talkingSince > InboundLength || _samples - arrival < FrameSamples * 10)
        {
            return false; // the start is no longer in the ring, or too little of the echo has come in to compare with
        }

        // The delay in use, fitted afresh over the search's window (the model adopted it on a looser fit, maybe earlier).
        if (_spectrum.ShareInUse() > SpectralEchoShare || _spectrum.LastUnexplainedFrames >= SpectralEchoModel.DoubleTalkFrames)
        {
            return false;
        }

        var echo = 0f;
        for (var n = arrival; n < _samples; n++)
        {
            var y = InboundAt(n);
            echo += y * y;
        }

        var frameEcho = echo / (_samples - arrival) * FrameSamples;
        for (var start = _talkingSince; start + FrameSamples <= arrival; start += FrameSamples)
        {
            var before = 0f;
            for (var n = start; n < start + FrameSamples; n++)
            {
                var y = InboundAt(n);
                before += y * y;
            }

            if (before > QuietShare * frameEcho)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A 20 ms stretch before the echo's arrival at most this share of the echo's mean power since (−20 dB) is quiet.</summary>
    private const float QuietShare = 0.01f;

    /// <summary>
    /// The frame as the spectral model sees it: its echo predicted per band, and what is beyond it heard (the frame scaled
    /// down to the power the echo does not explain; the speech detector then hears the caller's share of the frame).
    /// </summary>
    private void SpectralResidual(ReadOnlySpan<byte> inbound, Span<byte> residual, float inboundEnergy)
    {
        LastFrameCancelled = true;
        _spectral = true;
        var echo = _spectrum.EchoEnergy;
        var left = Math.Min(_spectrum.UnexplainedEnergy, inboundEnergy);
        EchoDbfs = ToDbfs(echo);
        ResidualDbfs = ToDbfs(left);
        _spectralLeftoverDb = Track(_spectralLeftoverDb, BestSpectralLeftoverDb);
        if (left >= inboundEnergy)
        {
            inbound[..FrameSamples].CopyTo(residual);
            return;
        }

        var gain = inboundEnergy <= 0 ? 0 : MathF.Sqrt(left / inboundEnergy);
        var y = InboundSpan(FrameSamples);
        for (var n = 0; n < FrameSamples; n++)
        {
            _residual[n] = gain * y[n];
        }

        Encode(_residual, residual);
    }

    /// <summary>
    /// The reference moved <paramref name="samples"/> later from here on (the session's playback schedule slipped: a reply's
    /// chunk came back late). The reference already written stays as it was, so which delay the echo now comes at depends on
    /// why it moved: after an anchor that was early (the reply's start mark echoed before its frames reached the line), the
    /// delays found on the reference so far are that much too long, and the echo of what is referenced from now on comes back
    /// <paramref name="samples"/> sooner; after a gap inside the reply (frames that reached the line late), the delays found
    /// before it hold. Not knowing which, each delay in use (the locked one, the plausible ones) is kept and, moved by
    /// <paramref name="samples"/>, made plausible too: the frames choose by measurement (the filter while it cancels, else the
    /// best fit), and the searches move the lock once the echo agrees. A delay a later search finds on the reference from before
    /// the move (the echo of a reply's first frames comes back after its first chunk's mark moved it) is made plausible moved too.
    /// </summary>
    public void ReferenceMoved(int samples)
    {
        if (samples <= 0)
        {
            return;
        }

        (_movedAt, _moved) = (_samples, samples);

        Span<int> delays = stackalloc int[MaxCandidates + 1];
        var count = 0;
        if (IsLocked)
        {
            delays[count++] = DelaySamples;
        }

        for (var i = 0; i < _candidateCount; i++)
        {
            delays[count++] = _candidates[i].Delay;
        }

        foreach (var delay in delays[..count])
        {
            if (delay - samples >= 0)
            {
                AddCandidate(delay - samples, _samples);
            }
        }
    }

    /// <summary>Forgets the echo path (a new line).</summary>
    public void Reset()
    {
        IsLocked = false;
        DelaySamples = 0;
        LockedCorrelation = 0;
        _candidateCount = 0;
        _cancellingWell = false;
        _filterLeftoverDb = AssumedLeftoverDb;
        _spectralLeftoverDb = AssumedSpectralLeftoverDb;
        _spectral = false;
        _reverberant = false;
        _spectrum.Reset();
        _adaptive?.Stop();
        _suppressor.Reset();
        _adaptiveJudged = false;
        _adaptiveLeftoverDb = AssumedAdaptiveLeftoverDb;
        _lock.Reset();
        _moved = 0;
        Array.Clear(_weights);
    }

    private void PassThrough(ReadOnlySpan<byte> inbound, Span<byte> residual)
    {
        inbound[..FrameSamples].CopyTo(residual);
        EchoDbfs = AudioLevel.SilenceDbfs;
        ResidualDbfs = InboundDbfs;
        LastFrameCancelled = false;
        _spectral = false;
    }

    /// <summary>The NLMS filter over the frame (residual in <see cref="_residual"/>); returns the predicted echo's energy and the residual's.</summary>
    private (double Echo, double Residual) Cancel(long frameStart)
    {
        // Sample n of the frame is y[frameStart + n]; its echo comes from reference samples around frameStart + n − DelaySamples.
        double echoEnergy = 0, residualEnergy = 0;
        var weights = _weights.AsSpan();
        for (var n = 0; n < FrameSamples; n++)
        {
            var sample = frameStart + n;
            var taps = ReferenceTaps(sample);
            var predicted = TensorPrimitives.Dot(weights, taps);
            var e = InboundAt(sample) - predicted;
            _residual[n] = e;
            echoEnergy += predicted * predicted;
            residualEnergy += e * e;
            if (_adapt)
            {
                var norm = TensorPrimitives.Dot(taps, taps) + Regularisation;
                TensorPrimitives.MultiplyAdd(taps, StepSize * e / norm, weights, weights);
            }
        }

        // Adapt on the next frame only if this one was mostly echo, cancelled well (residual ≥ 12 dB under the
        // prediction): double talk (a caller over the echo) would otherwise pull the filter off the echo path.
        _adapt = echoEnergy > SilentMeanSquare * FrameSamples && residualEnergy < echoEnergy / 16;
        return (echoEnergy, residualEnergy);
    }

    /// <summary>The best least-squares fit of the frame <paramref name="y"/> as the echo at a plausible delay (±<see cref="FitSpread"/>): its lag, gain and energy explained.</summary>
    private (int Lag, float Gain, float Explained) Fit(ReadOnlySpan<float> y)
    {
        var best = (Lag: -1, Gain: 0f, Explained: 0f);
        for (var c = 0; c < _candidateCount; c++)
        {
            var from = Math.Max(0, _candidates[c].Delay - FitSpread);
            var to = Math.Min(MaxDelay, _candidates[c].Delay + FitSpread);
            for (var lag = from; lag <= to; lag++)
            {
                var r = ReferenceSpan(FrameSamples, lag);
                var rr = Energy(r);
                if (rr <= SilentMeanSquare * FrameSamples)
                {
                    continue;
                }

                var yr = FixedOrderMath.Dot(y, r);
                var explained = yr > 0 ? yr * yr / rr : 0; // the echo is the bot's audio scaled down, never inverted
                if (explained > best.Explained)
                {
                    best = (lag, yr / rr, explained);
                }
            }
        }

        return best;
    }

    /// <summary>A search's plausible delays are kept; its best estimate is offered to the lock, which may adopt a (new) path.</summary>
    private void Consider(SearchResult search, long at)
    {
        if (search.Correlation >= CandidateCorrelation)
        {
            AddCandidate(search.Delay, at);
        }

        if (search.RunnerUpCorrelation >= CandidateCorrelation)
        {
            AddCandidate(search.RunnerUpDelay, at);
        }

        // Found (at least partly) on the reference from before it last moved: the echo of what was referenced since may come
        // back that much sooner (ReferenceMoved), so that delay is plausible too.
        if (search.Correlation >= CandidateCorrelation && _moved > 0 && at - FineWindow - search.Delay < _movedAt && search.Delay >= _moved)
        {
            AddCandidate(search.Delay - _moved, at);
        }

        if (!_lock.Offer(at, search.Delay, search.Correlation, search.RunnerUpCorrelation))
        {
            return;
        }

        // Adopt: one tap at the delay with the least-squares gain; NLMS refines the rest.
        Array.Clear(_weights);
        _lead = Math.Min(TapLead, search.Delay);
        _weights[Taps - 1 - _lead] = Math.Clamp(search.Gain, 0f, 4f);
        DelaySamples = search.Delay;
        _lockedAt = at;
        LockedCorrelation = search.Correlation;
        IsLocked = true;
        _adapt = true;
    }

    private void AddCandidate(int delay, long at)
    {
        for (var i = 0; i < _candidateCount; i++)
        {
            if (Math.Abs(_candidates[i].Delay - delay) <= FitSpread)
            {
                _candidates[i] = (delay, Math.Max(at, _candidates[i].At), _candidates[i].Since);
                return;
            }
        }

        if (_candidateCount == MaxCandidates)
        {
            // Full: the one a search found longest ago goes.
            var oldest = 0;
            for (var i = 1; i < _candidateCount; i++)
            {
                oldest = _candidates[i].At < _candidates[oldest].At ? i : oldest;
            }

            _candidates[oldest] = (delay, at, at);
            return;
        }

        _candidates[_candidateCount++] = (delay, at, at);
    }

    private void ExpireCandidates()
    {
        for (var i = _candidateCount - 1; i >= 0; i--)
        {
            if (_samples - _candidates[i].At > CandidateLife)
            {
                _candidates[i] = _candidates[--_candidateCount];
            }
        }
    }

    /// <summary>What a search found: the best delay (waveform correlation, the least-squares gain there), the runner-up's, and the envelopes' peak.</summary>
    private readonly record struct SearchResult(int Delay, float Correlation, float Gain, int RunnerUpDelay, float RunnerUpCorrelation, float Envelope);

    /// <summary>
    /// Finds the echo's delay in the <paramref name="window"/> samples that end <paramref name="endBack"/> samples
    /// ago: the two best peaks of the envelopes' correlation, each refined on the waveform.
    /// </summary>
    private SearchResult Search(int window, int endBack)
    {
        // Before the call's first samples the rings hold zeros: the line's silence, as good as any.
        var blocks = window / Block;
        var endBlocks = endBack / Block;
        var inboundEnvelope = InboundEnvelopeSpan(blocks, endBlocks);
        var (sx, sxx) = (FixedOrderMath.Sum(inboundEnvelope), Energy(inboundEnvelope));
        var flat = sxx - sx * sx / blocks <= 1e-12f; // a flat inbound envelope (the line's silence) correlates with nothing
        for (var lag = 0; lag <= MaxDelayBlocks; lag++)
        {
            if (flat)
            {
                _correlations[lag] = 0;
                continue;
            }

            var reference = ReferenceEnvelopeSpan(blocks, lag + endBlocks);
            var (sr, srr) = ReferenceEnvelopeStats(reference, _samples / Block - endBlocks - lag);
            _correlations[lag] = Pearson(inboundEnvelope, sx, sxx, reference, sr, srr);
        }

        // The two highest local maxima at least 40 ms apart (the envelopes' peak is broad: a syllable lasts 100-200 ms).
        var first = HighestPeak(-1);
        var second = first < 0 ? -1 : HighestPeak(first);
        _coarseDelays = (first * Block, second * Block);
        if (first < 0)
        {
            LastSearch = (-1, 0, 0);
            return default;
        }

        var fineWindow = Math.Min(FineWindow, window);
        var a = Refine(first, fineWindow, endBack);
        var b = second >= 0 ? Refine(second, fineWindow, endBack) : (Lag: -1, Correlation: 0f, Gain: 0f);
        if (b.Correlation > a.Correlation)
        {
            (a, b) = (b, a);
            first = second;
        }

        if (b.Lag >= 0 && Math.Abs(b.Lag - a.Lag) <= EchoPathLock.Tolerance)
        {
            b = (-1, 0f, 0f); // the runner-up's waveform search ran into the peak's: one delay
        }

        LastSearch = (a.Lag, _correlations[first], a.Correlation);
        return new SearchResult(Math.Max(0, a.Lag), a.Correlation, a.Gain, b.Lag, b.Correlation, _correlations[first]);
    }

    /// <summary>The highest local maximum of <see cref="_correlations"/> at or above <see cref="CoarseCorrelation"/>, more than 40 ms from <paramref name="other"/> (−1: none).</summary>
    private int HighestPeak(int other)
    {
        var best = -1;
        for (var lag = 0; lag <= MaxDelayBlocks; lag++)
        {
            var c = _correlations[lag];
            if (c < CoarseCorrelation || (lag > 0 && _correlations[lag - 1] > c) || (lag < MaxDelayBlocks && _correlations[lag + 1] > c)
                || (other >= 0 && Math.Abs(lag - other) <= PeakSeparationBlocks))
            {
                continue;
            }

            if (best < 0 || c > _correlations[best])
            {
                best = lag;
            }
        }

        return best;
    }

    /// <summary>The waveform's best lag within ±<see cref="FineBlocks"/> of the coarse peak, its correlation and least-squares gain.</summary>
    private (int Lag, float Correlation, float Gain) Refine(int peakBlock, int fineWindow, int endBack)
    {
        var y = _inbound.AsSpan(_inboundAt + InboundLength - fineWindow - endBack, fineWindow);
        var yEnergy = Energy(y);
        if (yEnergy <= SilentMeanSquare * fineWindow)
        {
            return (-1, 0, 0);
        }

        var from = Math.Max(0, (peakBlock - FineBlocks) * Block);
        var to = Math.Min(MaxDelay, (peakBlock + FineBlocks) * Block);
        var best = (Lag: -1, Correlation: 0f, Gain: 0f);
        var rEnergy = Energy(ReferenceSpan(fineWindow, from + endBack));
        // The window against the reference at every lag in one pass: lag L's reference starts L − from samples before lag from's.
        var lagDots = _lagDots.AsSpan(0, to - from + 1);
        FixedOrderMath.DotAtLags(y, ReferenceSpan(fineWindow + to - from, from + endBack), lagDots);
        for (var lag = from; lag <= to; lag++)
        {
            var r = ReferenceSpan(fineWindow, lag + endBack);
            if (lag > from)
            {
                // Slid one sample back: the newest sample left the window, an older one entered it.
                var left = ReferenceSpan(fineWindow, lag - 1 + endBack)[^1];
                rEnergy = Math.Max(0, rEnergy - left * left + r[0] * r[0]);
            }

            if (rEnergy <= SilentMeanSquare * fineWindow)
            {
                continue;
            }

            var yr = lagDots[to - lag];
            var c = yr / MathF.Sqrt(yEnergy * rEnergy);
            if (c > best.Correlation)
            {
                best = (lag, c, yr / rEnergy);
            }
        }

        return best;
    }

    /// <summary>
    /// The sum and sum of squares of a window of the reference's envelope that ends before block <paramref name="end"/> (counted
    /// from the call's start): kept per window, as the search every 100 ms looks at 137 of its 162 windows again (a block's
    /// envelope never changes once written, and these sums depend only on the values, so a kept one is what adding up anew gives).
    /// </summary>
    private (float Sum, float Energy) ReferenceEnvelopeStats(ReadOnlySpan<float> window, long end)
    {
        ref var kept = ref _referenceEnvelopeStats[(int)(((end % _referenceEnvelopeStats.Length) + _referenceEnvelopeStats.Length) % _referenceEnvelopeStats.Length)];
        if (kept.End != end || kept.Blocks != window.Length)
        {
            kept = (end, window.Length, FixedOrderMath.Sum(window), Energy(window));
        }

        return (kept.Sum, kept.Energy);
    }

    /// <summary>Pearson correlation of two envelopes (mean removed): 1 when one is a scaled copy of the other. <paramref name="sx"/>, <paramref name="sxx"/>: x's sum and sum of squares; <paramref name="sr"/>, <paramref name="srr"/>: r's.</summary>
    private static float Pearson(ReadOnlySpan<float> x, float sx, float sxx, ReadOnlySpan<float> r, float sr, float srr)
    {
        var n = x.Length;
        var sxr = FixedOrderMath.Dot(x, r);
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

    private ReadOnlySpan<float> InboundEnvelopeSpan(int blocks, int endBlocks)
    {
        var count = InboundLength / Block;
        var at = (int)(_samples / Block % count);
        return _inboundEnvelope.AsSpan(at + count - blocks - endBlocks, blocks);
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

    private static void Encode(ReadOnlySpan<float> samples, Span<byte> muLaw)
    {
        Span<short> pcm = stackalloc short[FrameSamples];
        for (var n = 0; n < FrameSamples; n++)
        {
            pcm[n] = (short)Math.Clamp(MathF.Round(samples[n] * 32768f), short.MinValue, short.MaxValue);
        }

        MuLaw.Encode(pcm, muLaw);
    }

    private static void Write(float[] ring, ref int at, int length, float value)
    {
        ring[at] = ring[at + length] = value;
        at = at + 1 == length ? 0 : at + 1;
    }

    private static float Energy(ReadOnlySpan<float> x) => FixedOrderMath.Energy(x);

    private static double EchoDbfsOf(double energy) => ToDbfs((float)energy);

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
