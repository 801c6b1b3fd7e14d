namespace AgentLocator.Media;

/// <summary>
/// What a call hears of its caller while the bot talks: each caller frame has the bot's echo removed
/// (<see cref="EchoCanceller"/>) and, while a reply plays, goes to the barge-in detector, which compares the
/// caller with what is left of the echo once the canceller has the echo path, and with the bot's playback level
/// until then. The speech detector's verdict on
/// the previous frame confirms a caller, who then interrupts after a shorter run (<see cref="BargeInOptions.ConfirmedMinDuration"/>).
/// A barge-in is checked before it is reported: when the last 400 ms of inbound audio turn out to be the bot's echo,
/// not taken out, after all (a path the canceller had not locked onto yet, or one that moved, or a reverberant echo its
/// spectral model explains), the canceller locks onto it (or the model takes its fit) and the detector starts over. One per
/// call; not thread-safe.
/// </summary>
public sealed class BargeInListener
{
    private readonly byte[] _heard = new byte[EchoCanceller.FrameSamples];

    public BargeInListener(BargeInOptions? options = null) => Detector = new BargeInDetector(options);

    public EchoCanceller Echo { get; } = new();

    public BargeInDetector Detector { get; }

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
            Echo.Process(inbound, bot, _heard);
            heard = _heard;
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

        Detector.ObserveEcho(Echo.LastFrameCancelled, Echo.EchoDbfs, frameDuration, Echo.EchoLeftoverDb);
        if (Detector.Process(heard, timestamp, out _, noiseFloorDbfs, speechHeard))
        {
            if (Echo.ExplainsRecentAudioAsEcho())
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

    /// <summary>Arms barge-in for a new playback.</summary>
    public void Reset() => Detector.Reset();
}
