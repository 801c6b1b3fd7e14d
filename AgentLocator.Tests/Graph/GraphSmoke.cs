using System.Net;
using System.Text.Json;
using AgentLocator.Smoke;
using AgentLocator.Tests.AppHost;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Xunit.Abstractions;

namespace AgentLocator.Tests.Graph;

/// <summary>What the whole-graph tests share: running the smoke suite in-process, bounded, and asserting on its report.</summary>
internal static class GraphSmoke
{
    public const string ApiKey = "graph-smoke-crm-key-0123456789abcdef";

    /// <summary>Every check a complete run against a healthy graph must pass (run, not skip), in either environment.</summary>
    public static readonly string[] CoreChecks =
    [
        "health", "readyz", "root", "version.api", "version.mediaworker",
        "crm.business.create", "webhook.incoming_call", "webhook.incoming_call.twiml",
        "media.handshake", "media.handshake.slash", "media.call",
        "webhook.stream_status", "webhook.handle_recording", "webhook.call_status",
        "prompt.greeting_he", "prompt.fallback_he",
        "crm.customer.create", "crm.customer.get", "crm.customer.update", "crm.customer.delete",
        "whatsapp.webhook", "whatsapp.lead", "crm.cleanup",
    ];

    /// <summary>
    /// Settings every graph test gives the Api. Test boxes are 2 cores shared with builds and other graphs, and the first
    /// call of a fresh process builds the EF model: the Postgres budget of a webhook is raised so a slow first query is not
    /// answered with the safe fallback (which the TwiML check would rightly fail).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> ApiSettings = new Dictionary<string, string?>
    {
        ["AppHost:Resources:api:Env:Voice__DatabaseBudget"] = "00:00:05",
    };

    /// <summary>
    /// The smoke run's options with latency budgets for a loaded test box. The CLI keeps the production budgets
    /// (incoming_call 1 s, status callbacks 1 s, handle_recording 3 s, first bot audio 3 s); these tests check the
    /// graph's wiring and the suite's logic, and one of them proves a budget is enforced.
    /// </summary>
    public static SmokeOptions Options(Uri baseUrl) => new()
    {
        BaseUrl = baseUrl,
        RequestTimeout = TimeSpan.FromSeconds(20),
        IncomingCallBudget = TimeSpan.FromSeconds(5),
        StatusCallbackBudget = TimeSpan.FromSeconds(5),
        RecordingCallbackBudget = TimeSpan.FromSeconds(5),
        FirstAudioBudget = TimeSpan.FromSeconds(6),
        SimulatedCallTimeout = TimeSpan.FromSeconds(60),
    };

    /// <summary>The same loaded-box budgets for the smoke suite the AppHost's dashboard commands run (<c>AppHost:Smoke:*</c>).</summary>
    public static readonly IReadOnlyDictionary<string, string?> CommandBudgets = new Dictionary<string, string?>
    {
        ["AppHost:Smoke:RequestTimeout"] = "00:00:20",
        ["AppHost:Smoke:IncomingCallBudget"] = "00:00:05",
        ["AppHost:Smoke:StatusCallbackBudget"] = "00:00:05",
        ["AppHost:Smoke:RecordingCallbackBudget"] = "00:00:05",
        ["AppHost:Smoke:FirstAudioBudget"] = "00:00:06",
    };

    /// <summary>One bounded smoke run; its table goes to the test's output (<c>--logger "console;verbosity=detailed"</c>).</summary>
    public static async Task<SmokeReport> RunAsync(ITestOutputHelper output, SmokeOptions options, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        var report = await SmokeRunner.RunAsync(options, cancellation.Token);
        output.WriteLine(SmokeReportWriter.ToTable(report));
        return report;
    }

    /// <summary>GO, and each named check ran and passed; the failure message is the whole table and the services' log tails.</summary>
    public static async Task AssertGoAsync(SmokeReport report, DistributedApplication app, IEnumerable<string> mustPass)
    {
        var table = SmokeReportWriter.ToTable(report);
        var notPassed = mustPass.Where(name => !report.Contains(name) || !report[name].Ok || report[name].Skipped).ToList();
        if (!report.Go || notPassed.Count > 0)
        {
            Assert.Fail($"expected GO with [{string.Join(", ", notPassed)}] passing:\n{table}\n--- resources ---\n{app.DescribeStates()}"
                + $"\n--- api log tail ---\n{await app.LogTailAsync("api", 25)}\n--- mediaworker log tail ---\n{await app.LogTailAsync("mediaworker", 25)}");
        }
    }

    /// <summary>GET /version of one service answers exactly the commit and deploy id the AppHost injected.</summary>
    public static async Task AssertVersionIsTheInjectedBuildAsync(DistributedApplication app, string service)
    {
        using var http = app.CreateHttpClient(service);
        using var response = await http.GetAsync(new Uri("/version", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var build = app.Build();
        Assert.Equal(service, json.RootElement.GetProperty("service").GetString());
        Assert.Equal(build.Commit, json.RootElement.GetProperty("commit").GetString());
        Assert.Equal(build.DeployId, json.RootElement.GetProperty("deploy_id").GetString());
        Assert.Equal(build.BuildTime, json.RootElement.GetProperty("build_time").GetString());
    }
}
