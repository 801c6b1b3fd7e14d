using System.Net.Http.Json;
using System.Text.Json;

namespace AgentLocator.Benchmarks;

/// <summary>The <c>incoming_call</c> webhooks the benchmarks send: a business to dial, and Twilio's form for call i.</summary>
public static class IncomingCallRequests
{
    public const string Path = "/webhook/incoming_call";

    /// <summary>Creates a business (through the CRM API, so <paramref name="http"/> carries a CRM key) and returns its number and id.</summary>
    public static async Task<(string Number, string BusinessId)> CreateBusinessAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var number = "+9727" + Random.Shared.Next(1_000_000, 9_999_999);
        var created = await http.PostAsJsonAsync("/api/businesses", new { name = "benchmark", phoneNumbers = new[] { number } }, cancellationToken);
        created.EnsureSuccessStatusCode();
        var businessId = (await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("id").GetString()!;
        return (number, businessId);
    }

    /// <summary>What Twilio posts when caller i (a new CallSid, one of many callers) dials <paramref name="number"/>.</summary>
    public static List<KeyValuePair<string, string>> Form(int i, string number) =>
    [
        new("CallSid", $"CAbench{Guid.NewGuid():N}"), new("AccountSid", "ACbench"), new("From", "+97252" + (1_000_000 + i % 9_000_000)),
        new("To", number), new("CallStatus", "ringing"), new("Direction", "inbound"), new("ApiVersion", "2010-04-01"),
    ];
}
