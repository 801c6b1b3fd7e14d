using System.Text.Json;
using AgentLocator.Data.Model;

namespace AgentLocator.Api.WhatsApp;

/// <summary>
/// Send a WhatsApp message: free-form (<c>body</c>, optional <c>mediaUrl</c>) inside the customer's
/// 24-hour window, or an approved template (<c>contentSid</c> + <c>contentVariables</c>) at any time.
/// </summary>
public sealed record SendWhatsAppRequest(
    Guid? BusinessId,
    string? To,
    string? Body,
    string? MediaUrl,
    string? ContentSid,
    JsonElement? ContentVariables);

public sealed record SendWhatsAppAccepted(Guid Id, Guid BusinessId, Guid? CustomerId, string To, string Status);

public sealed record MessageResponse(
    Guid Id,
    Guid BusinessId,
    Guid? CustomerId,
    string Direction,
    string From,
    string To,
    string? Body,
    IReadOnlyList<string> MediaUrls,
    IReadOnlyList<string> MediaContentTypes,
    string? ContentSid,
    string? ContentVariables,
    string Status,
    string? ErrorCode,
    string? ErrorMessage,
    string? MessageSid,
    string? Purpose,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt)
{
    public static MessageResponse FromMessage(Message m) => new(
        m.Id, m.BusinessId, m.CustomerId, m.Direction, m.From, m.To, m.Body, m.MediaUrls, m.MediaContentTypes, m.ContentSid,
        m.ContentVariables, m.Status, m.ErrorCode, m.ErrorMessage, m.MessageSid, m.Purpose, m.CreatedAt, m.UpdatedAt);
}
