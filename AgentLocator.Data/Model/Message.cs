namespace AgentLocator.Data.Model;

public static class MessageDirections
{
    public const string Inbound = "inbound";
    public const string Outbound = "outbound";
}

/// <summary>WhatsApp message statuses with their order; a status callback never moves a message backwards.</summary>
public static class MessageStatuses
{
    public const string Received = "received";
    public const string Pending = "pending";
    public const string Queued = "queued";
    public const string Sending = "sending";
    public const string Sent = "sent";
    public const string Delivered = "delivered";
    public const string Read = "read";
    public const string Undelivered = "undelivered";
    public const string Failed = "failed";

    public static int Rank(string? status) => status switch
    {
        Pending => 0,
        Queued => 1,
        Sending => 2,
        Sent => 3,
        Delivered => 4,
        Read => 5,
        Undelivered or Failed => 6,
        Received => 0,
        _ => -1,
    };

    public static readonly string[] All = [Pending, Received, Queued, Sending, Sent, Delivered, Read, Undelivered, Failed];

    public static bool IsForward(string current, string next) => Rank(next) > Rank(current);

    /// <summary>The statuses a message may move to <paramref name="next"/> from (those earlier in its life).</summary>
    public static string[] Before(string next) => All.Where(s => Rank(s) < Rank(next)).ToArray();
}

public static class MessagePurposes
{
    public const string Manual = "manual";
    public const string LeadNotification = "lead_notification";
    public const string AutoReply = "auto_reply";
}

/// <summary>A WhatsApp message in or out.</summary>
public class Message
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid BusinessId { get; set; }

    public Guid? CustomerId { get; set; }

    /// <summary>The call a lead notification is about.</summary>
    public Guid? CallId { get; set; }

    /// <summary>Twilio's MessageSid; null until an outbound message is accepted by Twilio.</summary>
    public string? MessageSid { get; set; }

    public required string Direction { get; set; }

    public string Channel { get; set; } = "whatsapp";

    public required string From { get; set; }

    public required string To { get; set; }

    public string? Body { get; set; }

    public List<string> MediaUrls { get; set; } = [];

    public List<string> MediaContentTypes { get; set; } = [];

    public string? ContentSid { get; set; }

    public string? ContentVariables { get; set; }

    public string Status { get; set; } = MessageStatuses.Pending;

    public string? ErrorCode { get; set; }

    public string? ErrorMessage { get; set; }

    /// <summary>Why it was sent: manual, lead_notification, auto_reply (see <see cref="MessagePurposes"/>).</summary>
    public string? Purpose { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
