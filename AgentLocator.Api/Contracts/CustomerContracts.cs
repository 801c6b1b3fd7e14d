using AgentLocator.Data.Model;

namespace AgentLocator.Api.Contracts;

public sealed record CustomerResponse(
    Guid Id,
    Guid BusinessId,
    string? Name,
    string? Phone,
    string? Notes,
    string Source,
    string? WaId,
    DateTimeOffset FirstContactAt,
    DateTimeOffset LastContactAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static CustomerResponse From(Customer c) => new(
        c.Id, c.BusinessId, c.Name, c.Phone, c.Notes, c.Source, c.WaId, c.FirstContactAt, c.LastContactAt, c.CreatedAt, c.UpdatedAt);
}

public sealed record CustomerRequest(string? Name, string? Phone, string? Notes, string? Source);

/// <summary>
/// A call. The lead fields are what the receptionist took (<c>save_lead</c>), the summary its own (<c>end_call</c>);
/// <see cref="Transcript"/> (the conversation turn by turn) and <see cref="VoicemailTranscript"/> are filled
/// when one call is read, not in lists.
/// </summary>
public sealed record CallResponse(
    Guid Id,
    string CallSid,
    Guid BusinessId,
    Guid? CustomerId,
    string From,
    string To,
    string Direction,
    string Status,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    int? DurationSeconds,
    bool StreamStarted,
    bool FallbackUsed,
    string? FallbackReason,
    bool ConversationCompleted,
    string? Engine,
    string? EngineFallbackReason,
    string? LeadName,
    string? LeadReason,
    string? LeadCallbackTime,
    string? LeadNotes,
    string? Summary,
    string LeadStatus,
    string? OwnerNote,
    DateTimeOffset? ReadAt,
    IReadOnlyList<TranscriptTurnResponse>? Transcript = null,
    string? VoicemailTranscript = null,
    IReadOnlyList<CallAudioResponse>? Recordings = null,
    IReadOnlyList<CallAudioResponse>? Utterances = null)
{
    public static CallResponse FromCall(Call c) => new(
        c.Id, c.CallSid, c.BusinessId, c.CustomerId, c.From, c.To, c.Direction, c.Status, c.StartedAt, c.EndedAt, c.DurationSeconds,
        c.StreamStarted, c.FallbackUsed, c.FallbackReason, c.ConversationCompleted, c.Engine, c.EngineFallbackReason,
        c.LeadName, c.LeadReason, c.LeadCallbackTime, c.LeadNotes, c.Summary, c.LeadStatus, c.OwnerNote, c.ReadAt);
}

/// <summary>
/// A recording or a caller's utterance with its signed, expiring audio path (<c>/media/…?exp=…&amp;sig=…</c>, served by the Api;
/// null while the recording is not stored yet).
/// </summary>
public sealed record CallAudioResponse(Guid Id, string? AudioPath, int? DurationSeconds, string? Transcript, DateTimeOffset CreatedAt, string? Slot = null);

/// <summary>The owner's follow-up on a lead; a field left out stays as it is. <c>read</c>: true marks it read, false unread.</summary>
public sealed record LeadUpdateRequest(string? LeadStatus, string? OwnerNote, bool? Read);

/// <summary>One turn of a call's conversation: <c>caller</c> or <c>assistant</c>, what was said, and whether the caller cut the reply short.</summary>
public sealed record TranscriptTurnResponse(int Sequence, string Speaker, string Text, bool Interrupted, int? HeardMs)
{
    public static TranscriptTurnResponse From(TranscriptTurn t) => new(t.Sequence, t.Speaker, t.Text, t.Interrupted, t.HeardMs);
}
