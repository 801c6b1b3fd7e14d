using System.Text.Json.Serialization;

namespace AgentLocator.Web.Api;

// The Api's JSON (AgentLocator.Api/Contracts), as the web app reads it.

public sealed record ApiPage<T>(IReadOnlyList<T> Items, string? NextCursor);

public sealed record BusinessDto(
    Guid Id, string Name, IReadOnlyList<string> PhoneNumbers, string? WhatsAppNumber, string? NotificationPhone, string TimeZone,
    bool Active, string? GreetingText, string? WhatsAppAutoReply, int MaxRecordingSeconds, string? AssistantInstructions,
    string? AssistantVoice, bool AiEnabled, string AiFallback);

public sealed record BusinessRequestDto(
    string? Name, List<string>? PhoneNumbers, string? WhatsAppNumber, string? NotificationPhone, string? TimeZone, bool? Active,
    string? GreetingText, string? WhatsAppAutoReply, int? MaxRecordingSeconds, string? AssistantInstructions, string? AssistantVoice,
    bool? AiEnabled, string? AiFallback);

public sealed record CallDto(
    Guid Id, string CallSid, Guid BusinessId, Guid? CustomerId, string From, string To, string Status, DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt, int? DurationSeconds, bool StreamStarted, bool FallbackUsed, string? FallbackReason,
    bool ConversationCompleted, string? Engine, string? EngineFallbackReason, string? LeadName, string? LeadReason,
    string? LeadCallbackTime, string? LeadNotes, string? Summary, string LeadStatus, string? OwnerNote, DateTimeOffset? ReadAt,
    IReadOnlyList<TranscriptTurnDto>? Transcript, string? VoicemailTranscript, IReadOnlyList<CallAudioDto>? Recordings,
    IReadOnlyList<CallAudioDto>? Utterances);

public sealed record TranscriptTurnDto(int Sequence, string Speaker, string Text, bool Interrupted, int? HeardMs);

public sealed record CallAudioDto(Guid Id, string? AudioPath, int? DurationSeconds, string? Transcript, DateTimeOffset CreatedAt, string? Slot);

public sealed record LeadUpdateDto(string? LeadStatus, string? OwnerNote, bool? Read);

public sealed record CustomerDto(
    Guid Id, Guid BusinessId, string? Name, string? Phone, string? Notes, string Source, DateTimeOffset FirstContactAt,
    DateTimeOffset LastContactAt);

/// <summary>A customer as edited (the form binds to it).</summary>
public sealed class CustomerRequestDto
{
    public string? Name { get; set; }

    public string? Phone { get; set; }

    public string? Notes { get; set; }
}

public sealed record MessageDto(
    Guid Id, Guid? CustomerId, string Direction, string From, string To, string? Body, string? ContentSid, string Status,
    string? ErrorCode, string? ErrorMessage, DateTimeOffset CreatedAt);

public sealed record SendWhatsAppDto(
    Guid BusinessId, string To, string? Body, string? ContentSid,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Dictionary<string, string>? ContentVariables);

/// <summary>What the Api refused, from its problem details: a title, a detail, and per-field messages.</summary>
public sealed record ApiProblem(int Status, string Title, string? Detail, IReadOnlyDictionary<string, string[]> Errors)
{
    public bool TemplateRequired { get; init; }
}
