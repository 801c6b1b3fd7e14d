namespace AgentLocator.Data.Model;

/// <summary>One answer a caller gave the receptionist, kept as audio for the business and for later transcription.</summary>
public class Utterance
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid CallId { get; set; }

    public Guid? CustomerId { get; set; }

    public int Sequence { get; set; }

    /// <summary>What the receptionist had asked: name, reason, callback_time, other.</summary>
    public required string Slot { get; set; }

    /// <summary>WAV path relative to the storage directory.</summary>
    public required string AudioPath { get; set; }

    public int DurationMs { get; set; }

    public string? Transcript { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
