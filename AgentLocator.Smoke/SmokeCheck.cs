using System.Text.Json.Serialization;

namespace AgentLocator.Smoke;

/// <summary>One line of the GO/NO-GO table: a check that passed, failed, or could not run here (and why).</summary>
public sealed record SmokeCheck(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("ok")] bool Ok,
    [property: JsonPropertyName("ms")] double Ms,
    [property: JsonPropertyName("detail")] string Detail,
    [property: JsonPropertyName("skipped")] bool Skipped = false)
{
    [JsonIgnore]
    public string Status => Skipped ? "SKIP" : Ok ? "PASS" : "FAIL";
}
