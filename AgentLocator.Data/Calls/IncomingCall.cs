namespace AgentLocator.Data.Calls;

/// <summary>
/// What Twilio told us when the phone rang: enough to rebuild the call row later if Postgres was down; with the
/// webhook's W3C traceparent, the call's trace.
/// </summary>
public sealed record IncomingCall(
    string CallSid,
    Guid BusinessId,
    Guid CallId,
    string From,
    string To,
    string Direction,
    string Status,
    DateTimeOffset StartedAt,
    bool IsTest,
    string? TraceParent = null);

/// <summary>The business that owns a number, as the voice webhooks need it.</summary>
public sealed record BusinessRoute(Guid BusinessId, string Name, bool Active, int MaxRecordingSeconds, string? NotificationPhone, string? WhatsAppNumber);

public sealed record RecordedCall(Guid CallId, Guid? CustomerId, bool Created);

/// <summary>A call whose media stream has started, as the stream needs its row (<see cref="CallStore.StreamStartedAsync"/>).</summary>
public sealed record StartedStream(Guid CallId, Guid? CustomerId, bool IsTest);
