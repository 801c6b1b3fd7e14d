using AgentLocator.Media;

namespace AgentLocator.Testing.Audio;

/// <summary>
/// What the phone line adds to the caller's audio, as <see cref="MediaStreams.CallSimulator"/> plays it:
/// the bot's own voice fed back (a speakerphone: <see cref="EchoGainDb"/> after <see cref="EchoDelay"/>)
/// and background noise (looped). Null/empty: a clean line.
/// </summary>
public sealed class LineConditions
{
    /// <summary>The bot's audio fed back into the caller's, this many dB relative to what played (−6: a speakerphone); null: no echo.</summary>
    public double? EchoGainDb { get; init; }

    /// <summary>How long after it plays the bot's audio comes back (a multiple of 20 ms).</summary>
    public TimeSpan EchoDelay { get; init; } = TimeSpan.FromMilliseconds(40);

    /// <summary>
    /// How the echo comes back: null, a plain copy of what played; else through this speakerphone in a room
    /// (<see cref="EchoPathModel.Room"/>, calibrated so its active level is the copy's), then <see cref="EchoGainDb"/>.
    /// </summary>
    public EchoPathModel? EchoPath { get; init; }

    /// <summary>
    /// Late downlink media: the bot's audio that reaches an idle line (nothing queued before it, as at each reply's start)
    /// plays only this long after it arrived (a multiple of 20 ms), as Twilio plays media that reaches it late (downlink
    /// network jitter, or a worker whose sends stalled between a reply's start mark and its first frames). A mark with
    /// nothing queued before it is still echoed at once, so a reply's start mark comes back this long before its first
    /// frame plays. Zero: media plays as it arrives.
    /// </summary>
    public TimeSpan DownlinkDelay { get; init; }

    /// <summary>Noise added to every caller frame (looped), PCM16 at the level it is heard; null: none.</summary>
    public short[]? Noise { get; init; }

    internal PhoneLine Open(int frameBytes) => new(this, frameBytes);
}

/// <summary>One call's line: mixes echo and noise into each caller frame (mu-law in, mu-law out).</summary>
internal sealed class PhoneLine
{
    private readonly LineConditions _conditions;
    private readonly Queue<byte[]> _echo = new();
    private readonly int _delayFrames;
    private readonly double _echoGain;
    private readonly short[] _mixed;
    private readonly EchoPathModel.Stream? _room;
    private int _noisePosition;

    public PhoneLine(LineConditions conditions, int frameBytes)
    {
        _conditions = conditions;
        _mixed = new short[frameBytes];
        var frameDuration = TimeSpan.FromTicks(frameBytes * TimeSpan.TicksPerSecond / 8000);
        _delayFrames = (int)Math.Round(conditions.EchoDelay / frameDuration);
        _echoGain = conditions.EchoGainDb is { } db ? Math.Pow(10, db / 20) : 0;
        _room = conditions.EchoPath?.Start();
    }

    /// <summary>Adds the line's echo (of <paramref name="played"/>, the bot audio heard during this frame) and noise to <paramref name="callerFrame"/>.</summary>
    public void Mix(Span<byte> callerFrame, ReadOnlySpan<byte> played)
    {
        if (_conditions.EchoGainDb is null && _conditions.Noise is null)
        {
            return;
        }

        MuLaw.Decode(callerFrame, _mixed);
        if (_conditions.EchoGainDb is not null)
        {
            _echo.Enqueue(played.ToArray());
            if (_echo.Count > _delayFrames)
            {
                var echo = _echo.Dequeue();
                if (_room is not null)
                {
                    // Through the room every frame, silence included: its reverberation outlasts what played.
                    for (var i = 0; i < _mixed.Length; i++)
                    {
                        _mixed[i] = Clip(_mixed[i] + _room.Next(i < echo.Length ? MuLaw.Decode(echo[i]) : 0) * _echoGain);
                    }
                }
                else
                {
                    for (var i = 0; i < Math.Min(echo.Length, _mixed.Length); i++)
                    {
                        _mixed[i] = Clip(_mixed[i] + MuLaw.Decode(echo[i]) * _echoGain);
                    }
                }
            }
        }

        if (_conditions.Noise is { Length: > 0 } noise)
        {
            for (var i = 0; i < _mixed.Length; i++)
            {
                _mixed[i] = Clip(_mixed[i] + (double)noise[_noisePosition]);
                _noisePosition = (_noisePosition + 1) % noise.Length;
            }
        }

        MuLaw.Encode(_mixed, callerFrame);
    }

    private static short Clip(double value) => (short)Math.Clamp(Math.Round(value), short.MinValue, short.MaxValue);
}
