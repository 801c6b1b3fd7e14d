namespace AgentLocator.Media;

/// <summary>
/// What a call hears of its caller while the bot talks: each caller frame has the bot's echo removed
/// (<see cref="EchoCanceller"/>) and, while a reply plays, goes to the barge-in detector, which compares the
/// caller with what is left of the echo once the canceller has the echo path, and with the bot's playback level
/// until then. The speech detector's verdict on
/// the previous frame confirms a caller, who then interrupts after a shorter run (<see cref="BargeInOptions.ConfirmedMinDuration"/>).
/// Before the canceller knows any echo path, sound that begins on a quiet line after the bot starts talking, and did not
/// begin as the echo of its first words, is the caller's (see <see cref="FollowFirstSound"/>).
/// A barge-in is checked before it is reported: when the last 400 ms of inbound audio turn out to be the bot's echo,
/// not taken out, after all (a path the canceller had not locked onto yet, or one that moved), the canceller locks
/// onto it and the detector starts over. One per call; not thread-safe.
/// </summary>
public sealed class BargeInListener
{
    /// <summary>
    /// How long after the bot starts talking its echo may still be on its way: the longest delay the canceller searches.
    /// Sound that begins on a quiet line before then, and is not the echo of the bot's first words, is the caller's.
    /// </summary>
    public const int PreEchoFrames = (EchoCanceller.MaxDelay + EchoCanceller.Taps) / EchoCanceller.FrameSamples + 1;

    /// <summary>The sound heard this long (100 ms) is compared with the bot's audio: its echo, or the caller.</summary>
    public const int FirstSoundTestFrames = 5;

    /// <summary>
    /// The waveform correlation at which the first sound can be the echo of the bot's first words (and must then account
    /// for its beginning: <see cref="EchoCanceller.BeganAsEcho"/>). Echo alone on barge-in-eval's lines correlates at 0.9 and
    /// more; a caller alone at 0.1–0.5, a caller with the echo arriving under them up to about 0.75.
    /// </summary>
    public const double FirstSoundEchoCorrelation = 0.6;

    private readonly byte[] _heard = new byte[EchoCanceller.FrameSamples];
    private FirstSound _firstSound;
    private long _frame;
    private long _botStartFrame;
    private long _soundFrame;

    /// <summary>Where the line is, before the canceller knows any echo path, since the bot began to talk after a silence.</summary>
    private enum FirstSound
    {
        /// <summary>Nothing to go by: the canceller has an echo path it verified, the line was not quiet, or the bot's first words have had time to come back.</summary>
        None,

        /// <summary>The bot began to talk on a quiet line: neither its echo nor the caller is heard yet.</summary>
        Awaited,

        /// <summary>Sound began before the echo could have come back for certain: taken for the caller's until it is tested.</summary>
        Heard,

        /// <summary>The sound is not the echo of the bot's first words: the caller, heard before any echo.</summary>
        Caller,
    }

    public BargeInListener(BargeInOptions? options = null) => Detector = new BargeInDetector(options);

    public EchoCanceller Echo { get; } = new();

    public BargeInDetector Detector { get; }

    /// <summary>Whether the line's sound is taken for the caller's because it began before the bot's echo could be on it (see <see cref="PreEchoFrames"/>).</summary>
    public bool CallerBeforeEcho => _firstSound is FirstSound.Heard or FirstSound.Caller;

    /// <summary>Barge-ins the echo check turned down (the audio was the bot's echo).</summary>
    public int EchoRejections { get; private set; }

    /// <summary>
    /// One caller frame and the bot's frame scheduled at the same stream time (<paramref name="bot"/>: empty when
    /// nothing is scheduled). <paramref name="playing"/>: whether a reply is playing (barge-in is armed).
    /// Returns the caller's audio without the echo (valid until the next call), for speech detection;
    /// <paramref name="bargeIn"/> is true on the frame that completes a barge-in. <paramref name="speechHeard"/>: whether the
    /// speech detector heard speech in the previous frame this returned (it confirms a caller: <see cref="BargeInOptions.ConfirmedMinDuration"/>).
    /// </summary>
    public ReadOnlySpan<byte> Process(ReadOnlySpan<byte> inbound, ReadOnlySpan<byte> bot, bool playing, TimeSpan timestamp, double noiseFloorDbfs,
        out bool bargeIn, bool speechHeard = false)
    {
        bargeIn = false;
        var heard = inbound;
        if (inbound.Length == EchoCanceller.FrameSamples)
        {
            var botWasAudible = Echo.BotAudible;
            Echo.Process(inbound, bot, _heard);
            heard = _heard;
            FollowFirstSound(botWasAudible, Echo.InboundDbfs > Math.Max(Detector.Options.CancelledMinLevelDbfs, noiseFloorDbfs + Detector.Options.NoiseMarginDb));
        }

        var frameDuration = TimeSpan.FromTicks(inbound.Length * TimeSpan.TicksPerSecond / Detector.Options.SampleRate);
        if (!playing)
        {
            Detector.ObservePlaybackLevel(AudioLevel.SilenceDbfs, frameDuration);
            return heard;
        }

        if (bot.IsEmpty)
        {
            Detector.ObservePlaybackLevel(AudioLevel.SilenceDbfs, frameDuration);
        }
        else
        {
            Detector.ObservePlayback(bot);
        }

        if (!Echo.LastFrameCancelled && CallerBeforeEcho)
        {
            // No echo can be in the frame yet, or the sound that began before it is not the echo: the caller is what is heard.
            Detector.ObserveEcho(cancelled: true, AudioLevel.SilenceDbfs, frameDuration, Echo.EchoLeftoverDb);
        }
        else
        {
            Detector.ObserveEcho(Echo.LastFrameCancelled, Echo.EchoDbfs, frameDuration, Echo.EchoLeftoverDb);
        }
        if (Detector.Process(heard, timestamp, out _, noiseFloorDbfs, speechHeard))
        {
            // A caller heard before the echo, the echo found under them since and taken out: what is left is theirs. Otherwise
            // the echo check (an echo the canceller has not taken out yet would explain the run).
            if (!(_firstSound == FirstSound.Caller && Echo.LastFrameCancelled) && Echo.ExplainsRecentAudioAsEcho())
            {
                EchoRejections++;
                Detector.Reset(); // the bot's own echo: the canceller has its path now
            }
            else
            {
                bargeIn = true;
            }
        }

        return heard;
    }

    /// <summary>
    /// Before the canceller knows an echo path: when the bot begins to talk on a quiet line, its echo arrives at the earliest
    /// at once and at the latest <see cref="PreEchoFrames"/> later, and begins as the echo of its first words. The first sound
    /// heard in that time is taken for the caller's; after <see cref="FirstSoundTestFrames"/> it is compared with the bot's
    /// audio at every delay: the echo (the detector starts over, the level rule holds until the path is known), or the caller,
    /// who is then judged as on a line with the echo taken out until the bot's first words have had time to come back, and
    /// whose barge-in, once the canceller has found the echo arriving under them and takes it out, is not turned down by the
    /// echo check (the echo, louder than them for a moment, would explain the window it searches). After that time a line
    /// with no echo heard keeps the level rule: a soft answer as a long question trails off is a turn, not an interruption.
    /// </summary>
    private void FollowFirstSound(bool botWasAudible, bool loud)
    {
        _frame++;
        if (_firstSound is FirstSound.None or FirstSound.Awaited && (Echo.IsLocked || Echo.LastFrameCancelled))
        {
            _firstSound = FirstSound.None; // the canceller knows the echo before any sound: nothing to go by
            return;
        }

        if (!botWasAudible && Echo.BotAudible)
        {
            _botStartFrame = _frame;
            _firstSound = loud ? FirstSound.None : FirstSound.Awaited;
            return;
        }

        if (_frame - _botStartFrame > PreEchoFrames)
        {
            _firstSound = FirstSound.None;
            return;
        }

        if (_firstSound == FirstSound.Awaited && loud)
        {
            _firstSound = FirstSound.Heard;
            _soundFrame = _frame;
        }
        else if (_firstSound == FirstSound.Heard && _frame - _soundFrame + 1 >= FirstSoundTestFrames)
        {
            var window = (int)(_frame - _soundFrame + 1) * EchoCanceller.FrameSamples;
            if (Echo.BeganAsEcho(window, FirstSoundEchoCorrelation))
            {
                _firstSound = FirstSound.None;
                Detector.Reset(); // the echo's first frames were counted as the caller's
            }
            else
            {
                _firstSound = FirstSound.Caller;
            }
        }
    }

    /// <summary>Arms barge-in for a new playback.</summary>
    public void Reset() => Detector.Reset();
}
