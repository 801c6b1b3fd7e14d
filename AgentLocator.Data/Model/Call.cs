namespace AgentLocator.Data.Model;

/// <summary>One phone call, keyed by Twilio's CallSid.</summary>
public class Call
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string CallSid { get; set; }

    public Guid BusinessId { get; set; }

    public Guid? CustomerId { get; set; }

    public required string From { get; set; }

    public required string To { get; set; }

    public string Direction { get; set; } = "inbound";

    /// <summary>Twilio's CallStatus; it only moves forward (see <see cref="CallStatuses"/>).</summary>
    public string Status { get; set; } = CallStatuses.Ringing;

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset? EndedAt { get; set; }

    public int? DurationSeconds { get; set; }

    public bool StreamStarted { get; set; }

    public string? StreamSid { get; set; }

    public DateTimeOffset? StreamStartedAt { get; set; }

    public DateTimeOffset? StreamStoppedAt { get; set; }

    public string? StreamError { get; set; }

    public bool FallbackUsed { get; set; }

    /// <summary>Why the call went to voicemail: caller_request, stream_never_started, stream_broke, watchdog.</summary>
    public string? FallbackReason { get; set; }

    public DateTimeOffset? WatchdogFiredAt { get; set; }

    /// <summary>The live conversation reached its goodbye.</summary>
    public bool ConversationCompleted { get; set; }

    /// <summary>Which conversation engine answered: <c>realtime</c> or <c>intake</c> (null before the stream started).</summary>
    public string? Engine { get; set; }

    /// <summary>Why the AI receptionist handed the call over (connect_failed, provider_error, no_audio, …); null when it did not.</summary>
    public string? EngineFallbackReason { get; set; }

    /// <summary>The caller's name as the receptionist took it (<c>save_lead</c>); also set on the customer.</summary>
    public string? LeadName { get; set; }

    /// <summary>Why the caller called.</summary>
    public string? LeadReason { get; set; }

    /// <summary>When the caller wants to be called back, as they said it.</summary>
    public string? LeadCallbackTime { get; set; }

    public string? LeadNotes { get; set; }

    public DateTimeOffset? LeadSavedAt { get; set; }

    /// <summary>The receptionist's summary of the conversation (<c>end_call</c>).</summary>
    public string? Summary { get; set; }

    /// <summary>Where the owner is with this lead: <see cref="LeadStatuses"/> (new, called_back, closed).</summary>
    public string LeadStatus { get; set; } = LeadStatuses.New;

    /// <summary>The owner's own note on the lead (the web app's "add a note").</summary>
    public string? OwnerNote { get; set; }

    /// <summary>When the owner first opened the call; null while unread.</summary>
    public DateTimeOffset? ReadAt { get; set; }

    /// <summary>Smoke-test traffic never counts as a real lead.</summary>
    public bool IsTest { get; set; }

    /// <summary>W3C traceparent of the <c>incoming_call</c> webhook: the call's trace, which later webhooks and jobs continue.</summary>
    public string? TraceParent { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>Twilio call statuses with their order, so out-of-order callbacks never move a call backwards.</summary>
public static class CallStatuses
{
    public const string Queued = "queued";
    public const string Initiated = "initiated";
    public const string Ringing = "ringing";
    public const string InProgress = "in-progress";
    public const string Completed = "completed";
    public const string Busy = "busy";
    public const string Failed = "failed";
    public const string NoAnswer = "no-answer";
    public const string Canceled = "canceled";

    public static readonly string[] All = [Queued, Initiated, Ringing, InProgress, Completed, Busy, Failed, NoAnswer, Canceled];

    /// <summary>The statuses a call may move to <paramref name="next"/> from (those earlier in its life).</summary>
    public static string[] Before(string next) => All.Where(s => Rank(s) < Rank(next)).ToArray();

    public static int Rank(string? status) => status switch
    {
        Queued => 0,
        Initiated => 1,
        Ringing => 2,
        InProgress => 3,
        Completed or Busy or Failed or NoAnswer or Canceled => 4,
        _ => -1,
    };

    public static bool IsKnown(string? status) => Rank(status) >= 0;

    public static bool IsFinal(string? status) => Rank(status) == 4;
}

/// <summary>What the business owner did with a lead.</summary>
public static class LeadStatuses
{
    public const string New = "new";
    public const string CalledBack = "called_back";
    public const string Closed = "closed";

    public static readonly string[] All = [New, CalledBack, Closed];
}
