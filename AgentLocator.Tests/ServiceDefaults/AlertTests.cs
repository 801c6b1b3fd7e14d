using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using System.Threading.Channels;
using AgentLocator.ServiceDefaults.Alerts;
using AgentLocator.ServiceDefaults.Telemetry;
using AgentLocator.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Tests.ServiceDefaults;

/// <summary>Alerts reach a Slack-compatible receiver (a real local HTTP server), rate-limited per kind, never in a call's way.</summary>
public sealed class AlertTests
{
    [Fact]
    public async Task AnExceptionLoggedAsAnErrorIsPostedAsSlackTextNamingTheServiceCommitAndDeploy()
    {
        await using var receiver = await AlertReceiver.StartAsync();
        using var host = await StartHostAsync(receiver.Url);

        host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AgentLocator.Api.Voice")
            .LogError(new InvalidOperationException("the disk is full"), "something broke");

        var text = await receiver.NextTextAsync();
        Assert.Contains("InvalidOperationException", text, StringComparison.Ordinal);
        Assert.Contains("the disk is full", text, StringComparison.Ordinal);
        Assert.Contains("api", text, StringComparison.Ordinal);
        Assert.Contains("commit 0123456789ab", text, StringComparison.Ordinal);
        Assert.Contains("deploy 20261201-abc", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebhookErrorsPastTheThresholdAlertOnceNamingWhatFailedThenStayQuietForTheInterval()
    {
        await using var receiver = await AlertReceiver.StartAsync();
        using var host = await StartHostAsync(receiver.Url);
        var telemetry = host.Services.GetRequiredService<ServiceTelemetry>();

        for (var i = 0; i < 4; i++)
        {
            telemetry.WebhookError("postgres", "postgres unreachable");
        }
        Assert.False(receiver.HasReceived);
        telemetry.WebhookError("postgres", "postgres unreachable");

        Assert.StartsWith("postgres unreachable: 5 webhook errors in 60 s", await receiver.NextTextAsync(), StringComparison.Ordinal);
        for (var i = 0; i < 20; i++)
        {
            telemetry.WebhookError("postgres", "postgres unreachable");
        }
        telemetry.SignatureRejected("invalid");
        await Task.Delay(500);
        Assert.False(receiver.HasReceived);
    }

    [Fact]
    public async Task ATechnicalFallbackAlertsButACallerWhoPressedStarDoesNot()
    {
        await using var receiver = await AlertReceiver.StartAsync();
        using var host = await StartHostAsync(receiver.Url);
        var telemetry = host.Services.GetRequiredService<ServiceTelemetry>();

        telemetry.Fallback(ServiceTelemetry.CallerRequest, "CA1");
        telemetry.Fallback("engine_error", "CA2");

        var text = await receiver.NextTextAsync();
        Assert.StartsWith("call CA2 fell back to voicemail: engine_error", text, StringComparison.Ordinal);
        await Task.Delay(300);
        Assert.False(receiver.HasReceived);
    }

    [Fact]
    public async Task AFailingOrHangingAlertEndpointNeverHoldsTheCallerAndIsCountedAsFailed()
    {
        await using var receiver = await AlertReceiver.StartAsync(hang: true);
        using var host = await StartHostAsync(receiver.Url, new() { ["Alerts:Timeout"] = "00:00:00.500", ["Alerts:MinInterval"] = "00:00:00" });
        using var measurements = AlertsOf(host);
        var alerts = host.Services.GetRequiredService<IAlerts>();

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 200; i++)
        {
            alerts.Raise("fallback:stream_broke", $"call CA{i} fell back to voicemail: stream_broke");
        }

        Assert.InRange(clock.ElapsedMilliseconds, 0, 2000);
        Assert.True(await measurements.EventuallyAsync("failed"), "a hanging endpoint was not given up and counted");
        Assert.True(measurements.Count("dropped") > 0, "a full queue must drop alerts, not wait");
    }

    [Fact]
    public async Task WithoutAUrlAlertsAreStillCounted()
    {
        using var host = await StartHostAsync(url: null);
        using var measurements = AlertsOf(host);

        host.Services.GetRequiredService<IAlerts>().Raise("exception", "boom");
        host.Services.GetRequiredService<IAlerts>().Raise("exception", "boom again");

        Assert.True(await measurements.EventuallyAsync("no_url"));
        Assert.Equal(1, measurements.Count("suppressed"));
    }

    /// <summary>
    /// <c>agentlocator.alerts</c> of this test's host only. Other test classes run beside this one and raise alerts of
    /// their own (DeferredWritesTests drops two writes as failing: the second alert is suppressed), which a listener on
    /// every meter counted here.
    /// </summary>
    private static CounterTotals AlertsOf(IHost host)
    {
        var meters = host.Services.GetRequiredService<IMeterFactory>();
        return new CounterTotals("agentlocator.alerts", m => ReferenceEquals(m.Scope, meters), "outcome");
    }

    private static async Task<IHost> StartHostAsync(string? url, Dictionary<string, string?>? extra = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", ApplicationName = "AgentLocator.Api" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Alerts:WebhookUrl"] = url,
            ["GIT_COMMIT"] = "0123456789abcdef0123456789abcdef01234567",
            ["DEPLOY_ID"] = "20261201-abc",
        });
        builder.Configuration.AddInMemoryCollection(extra ?? []);
        builder.AddServiceDefaults();
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }


    /// <summary>A Slack-compatible incoming webhook on a loopback port; can hang instead of answering.</summary>
    private sealed class AlertReceiver : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly Channel<string> _texts = Channel.CreateUnbounded<string>();

        private AlertReceiver(WebApplication app) => _app = app;

        public string Url { get; private set; } = "";

        public bool HasReceived => _texts.Reader.TryPeek(out _);

        public static async Task<AlertReceiver> StartAsync(bool hang = false)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new AlertReceiver(app);
            app.MapPost("/hooks/alerts", async (HttpRequest request, CancellationToken cancellationToken) =>
            {
                var json = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body, cancellationToken: cancellationToken);
                if (hang)
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                receiver._texts.Writer.TryWrite(json.GetProperty("text").GetString()!);
                return Results.Text("ok");
            });
            await app.StartAsync();
            receiver.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hooks/alerts";
            return receiver;
        }

        public async Task<string> NextTextAsync() => await _texts.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
