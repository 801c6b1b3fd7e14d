using AgentLocator.Data.Model;

namespace AgentLocator.Api.Contracts;

public sealed record BusinessResponse(
    Guid Id,
    string Name,
    IReadOnlyList<string> PhoneNumbers,
    string? WhatsAppNumber,
    string? NotificationPhone,
    string TimeZone,
    bool Active,
    string? GreetingText,
    string? WhatsAppAutoReply,
    int MaxRecordingSeconds,
    string? AssistantInstructions,
    string? AssistantVoice,
    bool AiEnabled,
    string AiFallback,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static BusinessResponse From(Business b) => new(
        b.Id, b.Name, b.PhoneNumbers.Select(p => p.Number).Order(StringComparer.Ordinal).ToList(), b.WhatsAppNumber, b.NotificationPhone,
        b.TimeZone, b.Active, b.GreetingText, b.WhatsAppAutoReply, b.MaxRecordingSeconds, b.AssistantInstructions, b.AssistantVoice,
        b.AiEnabled, b.AiFallback, b.CreatedAt, b.UpdatedAt);
}

/// <summary>
/// Create or replace a business. Phone numbers may be typed any common way; they are stored as E.164.
/// The AI receptionist: <c>assistantInstructions</c> (Hebrew: who the business is, services, hours, what to
/// collect; the default persona when empty), <c>assistantVoice</c>, <c>aiEnabled</c> (default on) and
/// <c>aiFallback</c> (<c>intake</c>, the default, or <c>voicemail</c>) for when it fails mid-call.
/// </summary>
public sealed record BusinessRequest(
    string? Name,
    List<string>? PhoneNumbers,
    string? WhatsAppNumber,
    string? NotificationPhone,
    string? TimeZone,
    bool? Active,
    string? GreetingText,
    string? WhatsAppAutoReply,
    int? MaxRecordingSeconds,
    string? AssistantInstructions = null,
    string? AssistantVoice = null,
    bool? AiEnabled = null,
    string? AiFallback = null);

public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);
