namespace AgentLocator.Data.Model;

public static class TranscriptSpeakers
{
    public const string Caller = "caller";
    public const string Assistant = "assistant";
}

/// <summary>
/// One turn of a live conversation as text: the caller's words (the provider's transcription of their
/// audio) or the receptionist's (the transcript of what it said). Linked to the call; written once per
/// provider item, so a repeated write changes nothing.
/// </summary>
public class TranscriptTurn
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid CallId { get; set; }

    /// <summary>Order within the call (the order the provider created the items in).</summary>
    public int Sequence { get; set; }

    /// <summary><see cref="TranscriptSpeakers"/>.</summary>
    public required string Speaker { get; set; }

    public required string Text { get; set; }

    /// <summary>The provider's conversation item id.</summary>
    public required string ItemId { get; set; }

    /// <summary>The caller interrupted this reply: they heard only <see cref="HeardMs"/> of it.</summary>
    public bool Interrupted { get; set; }

    public int? HeardMs { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
