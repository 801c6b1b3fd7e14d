using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentLocator.AppHost.Commands;
using AgentLocator.Tests.AppHost;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentLocator.Tests.Graph;

/// <summary>
/// The dashboard's commands, and one trace per call read back through the dashboard's telemetry API
/// (<c>GET /api/telemetry/traces/{traceId}</c>, OTLP JSON).
/// </summary>
public sealed partial class DevelopmentGraphTests
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(150);

    [Fact]
    public async Task ASimulatedCallFromTheDashboardCommandIsOneTraceAcrossTheApiTheMediaWorkerAndTheJobItQueues()
    {
        var app = fixture.App;
        var result = await ExecuteAsync("mediaworker", OperatorCommands.SimulateCall);
        Assert.True(result.Success, $"the command failed: {result.Message}\n{await app.LogTailAsync("mediaworker", 25)}");
        output.WriteLine(result.Message);
        var said = CallAndTrace().Match(result.Message ?? "");
        Assert.True(said.Success, $"the command's answer names no call and trace: {result.Message}");
        var (callSid, traceId) = (said.Groups["call"].Value, said.Groups["trace"].Value);
        Assert.Contains("2 real-time turns", result.Message, StringComparison.Ordinal);

        // The caller left a voicemail: Twilio's recording callback queues the recording job, which continues the call's trace.
        using var api = app.CreateHttpClient("api");
        using var recording = await api.PostAsync(new Uri("/webhook/handle_recording", UriKind.Relative), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["CallSid"] = callSid,
            ["RecordingSid"] = "RE" + Guid.NewGuid().ToString("N"),
            ["RecordingUrl"] = new Uri(app.GetEndpoint("api"), "/static/tts/greeting_he.mp3").ToString(),
            ["RecordingDuration"] = "3",
        }));
        Assert.Equal(HttpStatusCode.OK, recording.StatusCode);

        using var dashboard = new HttpClient { BaseAddress = app.GetEndpoint("aspire-dashboard", "http") };
        dashboard.DefaultRequestHeaders.Add("x-api-key", DevelopmentGraphFixture.DashboardApiKey);
        using var trace = await PollAsync(dashboard, $"/api/telemetry/traces/{traceId}", json =>
            TraceSpans(json).Any(s => s.Name == "job recording.store") && TraceSpans(json).Any(s => s.Name == "turn"));
        var spans = TraceSpans(trace).ToList();
        output.WriteLine(string.Join("\n", spans.Select(s => $"{s.Service} {s.Scope} {s.Name} {s.SpanId} <- {s.ParentSpanId}")));

        // One trace: the Api's webhook with its Postgres statements, the MediaWorker's session as its child, each turn the
        // session's child, and the job, all under the trace id the TwiML carried.
        Assert.All(spans, s => Assert.Equal(traceId, s.TraceId));
        var webhook = Assert.Single(spans, s => s.Service == "api" && s.Name == "POST /webhook/incoming_call");
        Assert.Contains(spans, s => s.Service == "api" && s.Scope == "Npgsql" && s.ParentSpanId == webhook.SpanId);
        var session = Assert.Single(spans, s => s.Service == "mediaworker" && s.Name == "media-stream session");
        Assert.Equal(webhook.SpanId, session.ParentSpanId);
        var turns = spans.Where(s => s.Service == "mediaworker" && s.Name == "turn").ToList();
        Assert.Equal(2, turns.Count);
        Assert.All(turns, turn => Assert.Equal(session.SpanId, turn.ParentSpanId));
        var job = Assert.Single(spans, s => s.Service == "mediaworker" && s.Name == "job recording.store");
        Assert.Equal(webhook.SpanId, job.ParentSpanId);
        // Health probes never make a trace of their own, nor a span in this one.
        Assert.DoesNotContain(spans, s => s.Name.Contains("/health", StringComparison.Ordinal) || s.Name.Contains("/readyz", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheRunSmokeSuiteCommandOnTheApiAnswersGoWithItsCounts()
    {
        var result = await ExecuteAsync("api", OperatorCommands.RunSmokeSuite);

        Assert.True(result.Success, $"the command failed: {result.Message}");
        Assert.Matches(@"^GO: \d+ passed, 0 failed, \d+ skipped\.$", result.Message);
    }

    private async Task<ExecuteCommandResult> ExecuteAsync(string resource, string command)
    {
        var commands = fixture.App.Services.GetRequiredService<ResourceCommandService>();
        return await commands.ExecuteCommandAsync(resource, command).WaitAsync(CommandTimeout);
    }

    [GeneratedRegex(@"^Call (?<call>CA\w+): .* Trace (?<trace>[0-9a-f]{32})\.$")]
    private static partial Regex CallAndTrace();

    private sealed record OtlpSpan(string Service, string Scope, string Name, string TraceId, string SpanId, string? ParentSpanId);

    private static IEnumerable<OtlpSpan> TraceSpans(JsonDocument json) =>
        from resource in json.RootElement.GetProperty("data").GetProperty("resourceSpans").EnumerateArray()
        let service = resource.GetProperty("resource").GetProperty("attributes").EnumerateArray()
            .Where(a => a.GetProperty("key").GetString() == "service.name")
            .Select(a => a.GetProperty("value").GetProperty("stringValue").GetString()).FirstOrDefault() ?? ""
        from scope in resource.GetProperty("scopeSpans").EnumerateArray()
        let scopeName = scope.TryGetProperty("scope", out var s) && s.TryGetProperty("name", out var n) ? n.GetString() ?? "" : ""
        from span in scope.GetProperty("spans").EnumerateArray()
        select new OtlpSpan(service, scopeName, span.GetProperty("name").GetString()!, span.GetProperty("traceId").GetString()!,
            span.GetProperty("spanId").GetString()!, span.TryGetProperty("parentSpanId", out var parent) ? parent.GetString() : null);
}
