using System.Net;
using System.Text.Json;
using AgentLocator.Tests.AppHost;
using Aspire.Hosting.Testing;

namespace AgentLocator.Tests.Graph;

/// <summary>
/// The Aspire dashboard receives the services' telemetry (OTLP from both) and serves it back through its telemetry API,
/// whose key <c>AppHost:DashboardApiKey</c> pins.
/// </summary>
public sealed partial class DevelopmentGraphTests
{
    private static readonly TimeSpan ExportTimeout = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task TheDashboardTelemetryApiRefusesARequestWithoutTheKey()
    {
        using var dashboard = new HttpClient { BaseAddress = fixture.App.GetEndpoint("aspire-dashboard", "http") };

        using var response = await dashboard.GetAsync(new Uri("/api/telemetry/resources", UriKind.Relative));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task BothServicesExportTracesAndLogsNamingTheInjectedVersionToTheDashboard()
    {
        var app = fixture.App;
        using var api = app.CreateHttpClient("api");
        using var status = await api.PostAsync(new Uri("/webhook/call_status", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["CallSid"] = "CAdashboard0000000000000000000000",
            ["CallStatus"] = "completed",
        }));
        Assert.True(status.IsSuccessStatusCode, $"call_status answered {(int)status.StatusCode}");

        using var dashboard = new HttpClient { BaseAddress = app.GetEndpoint("aspire-dashboard", "http") };
        dashboard.DefaultRequestHeaders.Add("x-api-key", DevelopmentGraphFixture.DashboardApiKey);

        using var resources = await PollAsync(dashboard, "/api/telemetry/resources", json =>
            new[] { "api", "mediaworker" }.All(name => json.RootElement.EnumerateArray().Any(r =>
                r.GetProperty("name").GetString() == name && r.GetProperty("hasTraces").GetBoolean() && r.GetProperty("hasLogs").GetBoolean())));
        output.WriteLine(resources.RootElement.GetRawText());

        using var spans = await PollAsync(dashboard, "/api/telemetry/spans?resource=api", json =>
            Spans(json).Any(span => span.GetProperty("name").GetString() == "POST /webhook/call_status"));
        using var logs = await PollAsync(dashboard, "/api/telemetry/logs?resource=mediaworker", json =>
            LogRecords(json).Any(record => record.TryGetProperty("eventName", out var name) && name.GetString() == "APP_START"));

        // Each service's OpenTelemetry resource names the build it runs.
        var commit = app.Build().Commit;
        Assert.Contains(("service.name", "api"), ResourceAttributes(spans, "resourceSpans"));
        Assert.Contains(("service.version", commit), ResourceAttributes(spans, "resourceSpans"));
        Assert.Contains(("service.name", "mediaworker"), ResourceAttributes(logs, "resourceLogs"));
        Assert.Contains(("service.version", commit), ResourceAttributes(logs, "resourceLogs"));
    }

    private static IEnumerable<JsonElement> Spans(JsonDocument json) =>
        json.RootElement.GetProperty("data").GetProperty("resourceSpans").EnumerateArray()
            .SelectMany(r => r.GetProperty("scopeSpans").EnumerateArray()).SelectMany(s => s.GetProperty("spans").EnumerateArray());

    private static IEnumerable<JsonElement> LogRecords(JsonDocument json) =>
        json.RootElement.GetProperty("data").GetProperty("resourceLogs").EnumerateArray()
            .SelectMany(r => r.GetProperty("scopeLogs").EnumerateArray()).SelectMany(s => s.GetProperty("logRecords").EnumerateArray());

    private static HashSet<(string Key, string? Value)> ResourceAttributes(JsonDocument json, string signal) =>
        [.. json.RootElement.GetProperty("data").GetProperty(signal).EnumerateArray()
            .Where(r => r.TryGetProperty("resource", out _))
            .SelectMany(r => r.GetProperty("resource").GetProperty("attributes").EnumerateArray())
            .Where(a => a.GetProperty("value").TryGetProperty("stringValue", out _))
            .Select(a => (a.GetProperty("key").GetString()!, a.GetProperty("value").GetProperty("stringValue").GetString()))];

    /// <summary>Polls the telemetry API until its answer shows what <paramref name="done"/> looks for (export runs every second).</summary>
    private static async Task<JsonDocument> PollAsync(HttpClient dashboard, string path, Func<JsonDocument, bool> done)
    {
        var deadline = DateTime.UtcNow + ExportTimeout;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            using var response = await dashboard.GetAsync(new Uri(path, UriKind.Relative));
            var body = await response.Content.ReadAsStringAsync();
            last = $"{(int)response.StatusCode} {body}";
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var json = JsonDocument.Parse(body);
                if (done(json))
                {
                    return json;
                }

                json.Dispose();
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"GET {path} did not show it within {ExportTimeout.TotalSeconds:0} s; last answer: {last[..Math.Min(last.Length, 2000)]}");
    }
}
