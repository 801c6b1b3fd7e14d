using System.Text.Json.Serialization;

namespace AgentLocator.Smoke;

/// <summary>What a smoke run found. GO when at least one check ran and none failed; skipped checks say why they could not run.</summary>
public sealed record SmokeReport(
    [property: JsonPropertyName("target")] string Target,
    [property: JsonPropertyName("environment")] string? Environment,
    [property: JsonPropertyName("started_at")] DateTimeOffset StartedAt,
    [property: JsonPropertyName("total_ms")] double TotalMs,
    [property: JsonPropertyName("checks")] IReadOnlyList<SmokeCheck> Checks)
{
    [JsonPropertyName("go")]
    public bool Go => Checks.Any(c => c.Ok && !c.Skipped) && Checks.All(c => c.Ok);

    [JsonPropertyName("verdict")]
    public string Verdict => Go ? "GO" : "NO-GO";

    [JsonIgnore]
    public IEnumerable<SmokeCheck> Failed => Checks.Where(c => !c.Ok);

    [JsonIgnore]
    public IEnumerable<SmokeCheck> Skipped => Checks.Where(c => c.Skipped);

    /// <summary>The check named <paramref name="name"/>; throws when the run did not record it.</summary>
    public SmokeCheck this[string name] =>
        Checks.FirstOrDefault(c => c.Name == name) ?? throw new KeyNotFoundException($"The smoke run recorded no check named '{name}'.");

    public bool Contains(string name) => Checks.Any(c => c.Name == name);
}
