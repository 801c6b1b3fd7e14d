namespace AgentLocator.Api.Security;

public sealed class CrmOptions
{
    public const string Section = "Crm";

    /// <summary>Keys accepted in <c>X-Api-Key</c>. Only their SHA-256 hashes are kept in memory.</summary>
    public string[] ApiKeys { get; set; } = [];

    /// <summary>Requests per minute per client IP on <c>/api</c>.</summary>
    public int RequestsPerMinute { get; set; } = 600;
}
