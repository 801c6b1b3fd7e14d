namespace AgentLocator.Twilio.Rest;

/// <summary>An outbound SMS or WhatsApp message (<c>whatsapp:+E164</c> in <see cref="To"/> and <see cref="From"/>).</summary>
public sealed record TwilioMessage
{
    /// <summary>Twilio's limit for <see cref="Body"/>.</summary>
    public const int MaxBodyLength = 1600;

    /// <summary>The recipient: <c>+E164</c> or <c>whatsapp:+E164</c>.</summary>
    public required string To { get; init; }

    /// <summary>The sender: one of the account's numbers, <c>whatsapp:</c>-prefixed for WhatsApp.</summary>
    public required string From { get; init; }

    /// <summary>The text, at most <see cref="MaxBodyLength"/> characters. Not allowed with a template.</summary>
    public string? Body { get; init; }

    /// <summary>Publicly reachable media URLs (each sent as a repeated <c>MediaUrl</c>).</summary>
    public IReadOnlyList<string> MediaUrls { get; init; } = [];

    /// <summary>Where Twilio posts delivery status changes.</summary>
    public string? StatusCallback { get; init; }

    /// <summary>An approved template (<c>HX...</c>); the only thing WhatsApp accepts outside the 24-hour window.</summary>
    public string? ContentSid { get; init; }

    /// <summary>The template's variables, e.g. <c>{"1": "Rachel"}</c>; sent as JSON.</summary>
    public IReadOnlyDictionary<string, string>? ContentVariables { get; init; }
}

/// <summary>What Twilio answered to a message creation.</summary>
/// <param name="Sid">The message SID (<c>SM...</c> / <c>MM...</c>).</param>
/// <param name="Status">The initial status, usually <c>queued</c> or <c>accepted</c>.</param>
/// <param name="ErrorCode">Twilio's error code, when the message already failed.</param>
/// <param name="ErrorMessage">Twilio's error message, when the message already failed.</param>
public sealed record TwilioMessageResult(string Sid, string Status, int? ErrorCode, string? ErrorMessage);
