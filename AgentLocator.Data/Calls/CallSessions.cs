namespace AgentLocator.Data.Calls;

/// <summary>
/// What any replica needs to serve a live call, kept in Redis for the call's lifetime:
/// written by <c>incoming_call</c>, read by whichever MediaWorker takes the stream.
/// </summary>
public sealed record CallSession(
    string CallSid,
    Guid CallId,
    Guid BusinessId,
    Guid? CustomerId,
    string From,
    string To,
    string Token,
    TimeSpan GreetingDuration,
    DateTimeOffset CreatedAt);

/// <summary>A live call event (call started, stream started, turn, fallback, ended), for the dashboard and tests.</summary>
public sealed record CallEvent(string Type, string CallSid, DateTimeOffset At, IReadOnlyDictionary<string, string>? Data = null)
{
    public const string CallStarted = "call_started";
    public const string StreamStarted = "stream_started";
    public const string Turn = "turn";
    public const string Fallback = "fallback";
    public const string Ended = "ended";
}

/// <summary>A webhook's answer to remember under Twilio's idempotency token (<see cref="ICallSessions.RememberResponseAsync"/>).</summary>
public sealed record RememberedAnswer(string Key, string Response, TimeSpan Ttl);

/// <summary>
/// The shared, ephemeral state of live calls (Redis). Every member degrades instead of
/// throwing when Redis is unreachable: the caller is told (false / null) and carries on,
/// and the miss is counted as degraded.
/// </summary>
public interface ICallSessions
{
    /// <summary>Stores the session until <paramref name="ttl"/> passes; false when Redis is down.</summary>
    Task<bool> SaveAsync(CallSession session, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>The session, or null when it is unknown, expired, or Redis is down.</summary>
    Task<CallSession?> GetAsync(string callSid, CancellationToken cancellationToken);

    /// <summary>
    /// Shares a call that has just been answered: stores its session until <paramref name="ttl"/> passes, arms its
    /// stream-start watchdog for <paramref name="watchdogDeadline"/> and publishes <paramref name="started"/>, in one
    /// round trip where the store can; false when Redis is down.
    /// </summary>
    Task<bool> StartCallAsync(CallSession session, TimeSpan ttl, DateTimeOffset watchdogDeadline, CallEvent started,
        CancellationToken cancellationToken) =>
        StartCallAsync(session, ttl, watchdogDeadline, started, answer: null, cancellationToken);

    /// <summary>
    /// <see cref="StartCallAsync(CallSession, TimeSpan, DateTimeOffset, CallEvent, CancellationToken)"/>, remembering the
    /// webhook's <paramref name="answer"/> under its idempotency token in the same round trip (none when null).
    /// </summary>
    async Task<bool> StartCallAsync(CallSession session, TimeSpan ttl, DateTimeOffset watchdogDeadline, CallEvent started,
        RememberedAnswer? answer, CancellationToken cancellationToken)
    {
        var done = await Task.WhenAll(SaveAsync(session, ttl, cancellationToken), ArmWatchdogAsync(session.CallSid, watchdogDeadline, cancellationToken),
            PublishAsync(started, cancellationToken),
            answer is null ? Task.FromResult(true) : RememberResponseAsync(answer.Key, answer.Response, answer.Ttl, cancellationToken));
        return done.All(ok => ok);
    }

    /// <summary>Arms the stream-start watchdog: if no <c>start</c> arrives by <paramref name="deadline"/>, the call goes to voicemail.</summary>
    Task<bool> ArmWatchdogAsync(string callSid, DateTimeOffset deadline, CancellationToken cancellationToken);

    /// <summary>Disarms the watchdog when the stream starts; true when it was armed.</summary>
    Task<bool> DisarmWatchdogAsync(string callSid, CancellationToken cancellationToken);

    /// <summary>Watchdogs whose deadline has passed (at most <paramref name="limit"/>); empty when Redis is down.</summary>
    Task<IReadOnlyList<string>> DueWatchdogsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Claims an overdue watchdog for this replica: of all the replicas that saw it due, exactly one
    /// gets true and fires it.
    /// </summary>
    Task<bool> ClaimWatchdogAsync(string callSid, CancellationToken cancellationToken);

    /// <summary>Publishes a live call event; false when Redis is down.</summary>
    Task<bool> PublishAsync(CallEvent callEvent, CancellationToken cancellationToken);

    /// <summary>Remembers a webhook's answer under Twilio's idempotency token, so a retry is answered the same.</summary>
    Task<bool> RememberResponseAsync(string key, string response, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>The answer remembered under <paramref name="key"/>, or null when there is none or Redis is down.</summary>
    Task<string?> RecallResponseAsync(string key, CancellationToken cancellationToken);
}

/// <summary>Used when no Redis is configured: nothing is shared, everything reports "not available".</summary>
public sealed class NoCallSessions : ICallSessions
{
    public Task<bool> SaveAsync(CallSession session, TimeSpan ttl, CancellationToken cancellationToken) => Task.FromResult(false);

    public Task<CallSession?> GetAsync(string callSid, CancellationToken cancellationToken) => Task.FromResult<CallSession?>(null);

    public Task<bool> ArmWatchdogAsync(string callSid, DateTimeOffset deadline, CancellationToken cancellationToken) => Task.FromResult(false);

    public Task<bool> DisarmWatchdogAsync(string callSid, CancellationToken cancellationToken) => Task.FromResult(false);

    public Task<IReadOnlyList<string>> DueWatchdogsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([]);

    public Task<bool> ClaimWatchdogAsync(string callSid, CancellationToken cancellationToken) => Task.FromResult(false);

    public Task<bool> PublishAsync(CallEvent callEvent, CancellationToken cancellationToken) => Task.FromResult(false);

    public Task<bool> RememberResponseAsync(string key, string response, TimeSpan ttl, CancellationToken cancellationToken) => Task.FromResult(false);

    public Task<string?> RecallResponseAsync(string key, CancellationToken cancellationToken) => Task.FromResult<string?>(null);
}
