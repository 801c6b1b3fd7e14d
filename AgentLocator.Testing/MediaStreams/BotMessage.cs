namespace AgentLocator.Testing.MediaStreams;

public enum BotMessageKind
{
    Media,
    Mark,
    Clear,

    /// <summary>Anything else: Twilio would end the stream with error 31924 (see <see cref="BotMessage.Detail"/>).</summary>
    ProtocolViolation,
}

/// <summary>One message the bot (the app under test) sent, with when it arrived (wall time since connect).</summary>
public sealed record BotMessage(BotMessageKind Kind, TimeSpan ReceivedAt, byte[]? Audio = null, string? MarkName = null, string? Detail = null);

/// <summary>
/// One caller turn: from the caller's last voiced frame (its due time on the line,
/// <see cref="CallerLastVoicedAt"/>) to the first non-silent bot audio received after it
/// (<see cref="BotAudioAt"/>); wall-clock times since connect. When the line runs late, the delay
/// counts against the app, never for it. <see cref="Latency"/> is wall time: at <c>Speed</c> ≠ 1 the
/// line time is <c>Latency × Speed</c>.
/// </summary>
public sealed record TurnLatency(int Turn, TimeSpan CallerLastVoicedAt, TimeSpan BotAudioAt)
{
    public TimeSpan Latency => BotAudioAt - CallerLastVoicedAt;
}
