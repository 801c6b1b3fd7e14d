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
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static BusinessResponse From(Business b) => new(
        b.Id, b.Name, b.PhoneNumbers.Select(p => p.Number).Order(StringComparer.Ordinal).ToList(), b.WhatsAppNumber, b.NotificationPhone,
        b.TimeZone, b.Active, b.GreetingText, b.WhatsAppAutoReply, b.MaxRecordingSeconds, b.CreatedAt, b.UpdatedAt);
}

/// <summary>Create or replace a business. Phone numbers may be typed any common way; they are stored as E.164.</summary>
public sealed record BusinessRequest(
    string? Name,
    List<string>? PhoneNumbers,
    string? WhatsAppNumber,
    string? NotificationPhone,
    string? TimeZone,
    bool? Active,
    string? GreetingText,
    string? WhatsAppAutoReply,
    int? MaxRecordingSeconds);

public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);
