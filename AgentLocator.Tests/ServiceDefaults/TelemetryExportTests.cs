using System.Collections.Concurrent;
using System.Net;
using System.Text;
using AgentLocator.ServiceDefaults.Telemetry;
using AgentLocator.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Tests.ServiceDefaults;

public sealed class TelemetryExportTests(PostgresDatabaseFixture database) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task TracesMetricsAndLogsReachTheOtlpEndpointButHealthProbesAreNotTraced()
    {
        await using var collector = await OtlpCollector.StartAsync();
        var api = ApiTestHost.Create(database.ConnectionString, extra: new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "api",
            ["OTEL_RESOURCE_ATTRIBUTES"] = "service.version=abc123,deployment.environment=test",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
        });
        // Raw HTTP over a socket: an in-process HttpClient would add client spans of its own,
        // so every span with a path in it here is the server's.
        api.CreateClient().Dispose();
        for (var i = 0; i < 5; i++)
        {
            Assert.StartsWith("HTTP/1.1 200", await RawGetAsync(api.BaseAddress, "/health"));
        }
        Assert.StartsWith("HTTP/1.1 200", await RawGetAsync(api.BaseAddress, "/api/businesses?limit=3", ApiTestHost.ApiKey));
        // Batches leave every 200 ms; wait for each signal, then dispose (which flushes the rest).
        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(
            collector.Text("/v1/traces").Contains("/api/businesses", StringComparison.Ordinal)
            && collector.Text("/v1/logs").Contains("APP_START", StringComparison.Ordinal)
            && collector.Text("/v1/metrics").Contains("http.server.request.duration", StringComparison.Ordinal)), TimeSpan.FromSeconds(20)),
            "traces, logs and metrics did not all reach the collector");
        await api.DisposeAsync();

        var traces = collector.Text("/v1/traces");
        Assert.Contains("Microsoft.AspNetCore", traces);
        Assert.Contains("/api/businesses", traces);
        Assert.Contains("Npgsql", traces);
        Assert.Contains("abc123", traces);
        Assert.DoesNotContain("/health", traces);
        Assert.Contains("http.server.request.duration", collector.Text("/v1/metrics"));
        Assert.Contains("APP_START", collector.Text("/v1/logs"));
    }

    [Fact]
    public async Task TheProjectsOwnCallMetricsReachTheOtlpEndpointAsTheDashboardsMetricsPageReadsThem()
    {
        await using var collector = await OtlpCollector.StartAsync();
        var api = ApiTestHost.Create(database.ConnectionString, extra: new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "api",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        });
        api.CreateClient().Dispose();
        var telemetry = api.Services.GetRequiredService<ServiceTelemetry>();
        string[] instruments =
        [
            "agentlocator.calls", "agentlocator.turns", "agentlocator.reply.latency", "agentlocator.fallbacks",
            "agentlocator.webhook.errors", "agentlocator.webhook.signature_rejections", "agentlocator.deferred_writes.dropped",
        ];

        telemetry.CallStarted("answered");
        telemetry.TurnAnswered(TimeSpan.FromMilliseconds(640));
        telemetry.Fallback(ServiceTelemetry.CallerRequest, "CA1");
        telemetry.WebhookError("postgres", "postgres unreachable");
        telemetry.SignatureRejected("invalid");
        telemetry.DeferredWriteDropped("queue_full", "call CA1");

        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(instruments.All(name =>
            collector.Text("/v1/metrics").Contains(name, StringComparison.Ordinal))), TimeSpan.FromSeconds(20)),
            "missing: " + string.Join(", ", instruments.Where(name => !collector.Text("/v1/metrics").Contains(name, StringComparison.Ordinal))));
        // Under the service's own meter, named as ServiceDefaults names it.
        Assert.Contains(ServiceTelemetry.NameOf("api"), collector.Text("/v1/metrics"));
        await api.DisposeAsync();
    }

    [Fact]
    public async Task ACollectorThatStopsAnsweringDoesNotHoldShutdown()
    {
        // Accepts connections and never answers: a collector that hung or whose process stopped mid-export.
        using var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start(backlog: 100);
        var endpoint = $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}";
        var api = ApiTestHost.Create(database.ConnectionString, extra: new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        });
        using (var client = api.CreateClient())
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/openapi/v1.json")).StatusCode);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await api.DisposeAsync();

        // The SDK's default 10 s export timeout, per signal, would hold it for 30 s.
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(8));
    }

    [Fact]
    public async Task ACollectorThatHasGoneHoldsShutdownForOneExportTimeoutNotOnePerSignal()
    {
        // As when the AppHost stops: its dashboard, the collector, is gone before the services stop. Aspire's exporter settings.
        int port;
        using (var closed = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            closed.Start();
            port = ((IPEndPoint)closed.LocalEndpoint).Port;
        }
        var api = ApiTestHost.Create(database.ConnectionString, extra: new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc",
            ["OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"] = "in_memory",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "1000",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "1000",
        });
        using (var client = api.CreateClient())
        {
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/openapi/v1.json")).StatusCode);
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await api.DisposeAsync();

        // Traces, metrics and logs are flushed side by side, so the stop waits one export timeout (1 s), not three, and says so.
        // Traces, metrics and logs are flushed side by side, so each host (the factory runs two) waits one export timeout (1 s),
        // not one per signal, and says so. Before, the API's two hosts took 6 s.
        var unflushed = api.Logs.Lines.Where(line => line.Contains("TELEMETRY_UNFLUSHED", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(unflushed);
        foreach (var line in unflushed)
        {
            var waited = int.Parse(System.Text.RegularExpressions.Regex.Match(line, @"after (\d+) ms").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(waited, 0, TelemetryExtensions.ExportTimeoutMilliseconds + 500);
        }
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromMilliseconds(unflushed.Length * TelemetryExtensions.ExportTimeoutMilliseconds + 2000));
    }

    [Fact]
    public async Task NothingIsExportedWithoutAnEndpoint()
    {
        await using var collector = await OtlpCollector.StartAsync();
        await using (var api = ApiTestHost.Create(database.ConnectionString))
        {
            using var client = api.CreateClient();
            await client.GetAsync("/version");
        }
        Assert.Empty(collector.Requests);
    }

    private static async Task<string> RawGetAsync(Uri server, string target, string? apiKey = null)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        var stream = tcp.GetStream();
        var request = $"GET {target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n"
            + (apiKey is null ? "" : $"X-Api-Key: {apiKey}\r\n") + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    /// <summary>A minimal OTLP/HTTP receiver: keeps each request's path and body.</summary>
    private sealed class OtlpCollector : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private OtlpCollector(WebApplication app) => _app = app;

        public ConcurrentQueue<(string Path, byte[] Body)> Requests { get; } = new();

        public string Endpoint { get; private set; } = "";

        public static async Task<OtlpCollector> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var collector = new OtlpCollector(app);
            app.Run(async context =>
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                collector.Requests.Enqueue((context.Request.Path.Value ?? "", body.ToArray()));
                context.Response.ContentType = "application/x-protobuf";
                context.Response.StatusCode = StatusCodes.Status200OK;
            });
            await app.StartAsync();
            collector.Endpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return collector;
        }

        /// <summary>The bodies sent to a path, as text: protobuf keeps strings as UTF-8, so names can be searched.</summary>
        public string Text(string path) =>
            string.Concat(Requests.Where(r => r.Path == path).Select(r => Encoding.UTF8.GetString(r.Body)));

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
