namespace AgentLocator.Media;

/// <summary>
/// What the line proves about the bot's echo when a reply's first sound comes: how long it had been quiet before, and the least
/// delay the echo can have.
/// <para>
/// While the bot plays audio loud enough that its echo, even <see cref="WeakestEchoDb"/> down, would stand above the line's
/// quiet, every frame that stays quiet is one the echo has not reached yet. So when the first frame that is not quiet comes
/// (the echo arriving, or a caller who began before it), the echo's delay is at least the time since the first such bot frame,
/// less <see cref="Slack"/>: if that sound is the echo, it is the bot's audio from at least that long before. Whether it is, is
/// then a question about those delays alone (<see cref="BargeInListener"/> asks the canceller).
/// </para>
/// <para>
/// The bound is taken on the reference as the worker places it on the line (a reply anchored by its start mark, moved by late
/// chunk marks). A constant offset between that reference and what the line played is part of the apparent delay, in which the
/// canceller works too; what the bound must survive is the reference moving <em>later</em> against the line within a reply (an
/// anchor that landed early, corrected by the next chunk's mark), which shortens the apparent delay by as much:
/// <see cref="Slack"/> covers that and a frame's echo split over two frames. The quiet must have held since
/// <see cref="QuietLead"/> before that first bot frame (a reference running a little behind the line cannot hide its echo);
/// otherwise no delay is proved (zero). One first sound per reply (<see cref="Reset"/>). Per call, not thread-safe.
/// </para>
/// </summary>
public sealed class EchoReturnBound
{
    /// <summary>The longest bound taken: the canceller's longest echo delay (640 ms).</summary>
    public const int MaxBoundFrames = EchoCanceller.MaxDelay / EchoCanceller.FrameSamples;

    /// <summary>An echo weaker than the bot's audio by more than this is not counted on to show above the quiet.</summary>
    public const double WeakestEchoDb = 25;

    /// <summary>A frame is quiet at most this far above the line's noise floor…</summary>
    public const double QuietMarginDb = 10;

    /// <summary>…and never above this (a line this noisy proves nothing)…</summary>
    public const double QuietCeilingDbfs = -40;

    /// <summary>
    /// …nor below this: on a line of digital silence the echo of the bot's faintest first samples, a few mu-law steps that match
    /// nothing, would otherwise be the first sound.
    /// </summary>
    public const double QuietFloorDbfs = -60;

    /// <summary>
    /// Taken off the bound (120 ms): a frame's echo split over two frames (20 ms), and how far the reference can move later
    /// against the line within a reply (an anchor that landed 60–100 ms early, corrected by the next chunk's mark).
    /// </summary>
    public static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(120);

    /// <summary>How long the line must have been quiet before the first bot frame whose echo would show, for a delay to be proved (100 ms).</summary>
    public static readonly TimeSpan QuietLead = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan Frame = TimeSpan.FromMilliseconds(20);

    private long _frame;
    private long _quietSince = -1;
    private long _visibleAt = -1;
    private long _soundAt = -1;

    /// <summary>The least delay of the echo the line proved at the reply's first sound (zero: none proved, or no first sound yet).</summary>
    public TimeSpan Delay { get; private set; }

    /// <summary>How long the line had been quiet when the reply's first sound came (zero until then).</summary>
    public TimeSpan QuietBefore { get; private set; }

    /// <summary>Frames since the reply's first sound, the one just observed being 0 (−1: none yet).</summary>
    public int FramesSinceSound => _soundAt < 0 ? -1 : (int)Math.Min(int.MaxValue, _frame - 1 - _soundAt);

    /// <summary>
    /// One 20 ms frame: the bot's audio at this stream time as the line plays it (<paramref name="botDbfs"/>, silence when none)
    /// and the line's level as it came (<paramref name="inboundDbfs"/>), with the line's noise floor.
    /// </summary>
    public void Observe(double botDbfs, double inboundDbfs, double noiseFloorDbfs)
    {
        var quietBelow = QuietBelowDbfs(noiseFloorDbfs);
        var quiet = inboundDbfs <= quietBelow;
        if (_soundAt < 0)
        {
            // The bot's audio is loud enough here that its echo, however weak it may be and still matter, would show above the quiet
            // (3 dB more: a frame's echo can fall half in one frame, half in the next).
            if (_visibleAt < 0 && botDbfs >= quietBelow + WeakestEchoDb + 3)
            {
                _visibleAt = _frame;
            }

            if (!quiet && _visibleAt >= 0)
            {
                _soundAt = _frame;
                QuietBefore = _quietSince < 0 ? TimeSpan.Zero : Frame * (_frame - _quietSince);
                var proved = _frame - _visibleAt - (long)Math.Ceiling(Slack / Frame);
                var quietLong = _quietSince >= 0 && _quietSince <= _visibleAt - (long)(QuietLead / Frame);
                Delay = quietLong && proved > 0 ? Frame * Math.Min(proved, MaxBoundFrames) : TimeSpan.Zero;
            }
        }

        _quietSince = quiet ? (_quietSince < 0 ? _frame : _quietSince) : -1;
        _frame++;
    }

    /// <summary>
    /// The level at or under which a frame is the line's quiet, on a line whose noise floor is <paramref name="noiseFloorDbfs"/>: at most
    /// <see cref="QuietMarginDb"/> over it, within <see cref="QuietFloorDbfs"/> and <see cref="QuietCeilingDbfs"/>.
    /// </summary>
    public static double QuietBelowDbfs(double noiseFloorDbfs) => Math.Min(Math.Max(noiseFloorDbfs + QuietMarginDb, QuietFloorDbfs), QuietCeilingDbfs);

    /// <summary>A new reply: its first sound is awaited afresh (the quiet so far still counts: it is the same line).</summary>
    public void Reset()
    {
        _visibleAt = -1;
        _soundAt = -1;
        Delay = TimeSpan.Zero;
        QuietBefore = TimeSpan.Zero;
    }
}
