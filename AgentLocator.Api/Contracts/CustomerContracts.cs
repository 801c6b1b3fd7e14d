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
    bool ConversationCompleted)
{
    public static CallResponse FromCall(Call c) => new(
        c.Id, c.CallSid, c.BusinessId, c.CustomerId, c.From, c.To, c.Direction, c.Status, c.StartedAt, c.EndedAt, c.DurationSeconds,
        c.StreamStarted, c.FallbackUsed, c.FallbackReason, c.ConversationCompleted);
}
