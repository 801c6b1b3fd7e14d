namespace AgentLocator.Testing.MediaStreams;

public enum BotMessageKind
{
    Media,
    Mark,
    Clear,

    /// <summary>Anything else: Twilio would end the stream with error 31924 (see <see cref="BotMessage.Detail"/>).</summary>
    ProtocolViolation,
}

/// <summary>One message the bot (the app under test) sent, with when it arrived (wall time since connect) and the line time then.</summary>
public sealed record BotMessage(BotMessageKind Kind, TimeSpan ReceivedAt, byte[]? Audio = null, string? MarkName = null, string? Detail = null)
{
    /// <summary>The line's clock (frames sent × 20 ms) when the message arrived.</summary>
    public TimeSpan LineTime { get; init; }

    /// <summary>The <see cref="System.Diagnostics.Stopwatch"/> timestamp of its arrival (comparable across the process: the benchmarks time the app with it).</summary>
    public long ReceivedTimestamp { get; init; }
}

/// <summary>
/// One caller turn, timed on the line's own clock (frames × 20 ms, the clock Twilio's timestamps and the
/// app's silence window run on): from the end of the caller's last voiced frame
/// (<see cref="CallerStoppedAt"/>) to the first audible bot frame, sent after it, starting to play
/// (<see cref="BotAudibleAt"/>). A line that runs late on a loaded machine delays both the app and this
/// clock alike; an app that is slow while the line keeps time is measured as slow.
/// <see cref="WallLatency"/> is the same turn on the wall clock (line due time to the reply's arrival).
/// </summary>
public sealed record TurnLatency(int Turn, TimeSpan CallerStoppedAt, TimeSpan BotAudibleAt, TimeSpan WallLatency)
{
    public TimeSpan Latency => BotAudibleAt - CallerStoppedAt;
}

/// <summary>A stretch of bot playback on the line (line time), gaps under 500 ms included; <see cref="AudibleAt"/> is null if it was all silence.</summary>
public sealed record BotSpan(TimeSpan StartedAt, TimeSpan EndedAt, TimeSpan? AudibleAt);

/// <summary>A mark echoed to the app: its name, the line time, the <see cref="System.Diagnostics.Stopwatch"/> timestamp, and the clears received before it.</summary>
public sealed record MarkEcho(string Name, TimeSpan LineTime, long EchoedAt, int ClearsBefore);

/// <summary>
/// A gap inside a reply: the bot's audio ran dry on the line for <see cref="Frames"/> frames from line time
/// <see cref="LineTime"/> and resumed within 500 ms. <see cref="TickLag"/>: how late (wall) the line itself ran its first
/// dry frame. <see cref="LineCatchUp"/>: how much of its lag the line made up over the <see cref="LeadLookback"/> of line
/// before the gap (a line that was held up catches up in a burst, faster than real time, and an app that releases audio
/// a lead ahead of the frames it reads sees that lead shrink in wall time: zero on a line that kept time).
/// <see cref="ArrivedAfterDue"/>: how long after the first dry frame's real-time due time (wall) the audio that ended the
/// gap arrived. <see cref="DryAtTimestamp"/>: the <see cref="System.Diagnostics.Stopwatch"/> timestamp of the first dry
/// frame, to line it up with what the process did then (garbage collections, the thread pool).
/// </summary>
public sealed record LateGap(TimeSpan LineTime, int Frames, TimeSpan TickLag, TimeSpan LineCatchUp, TimeSpan ArrivedAfterDue, long DryAtTimestamp)
{
    /// <summary>How far back <see cref="LineCatchUp"/> looks: the MediaWorker's default playback lead.</summary>
    public static readonly TimeSpan LeadLookback = TimeSpan.FromMilliseconds(600);
}
