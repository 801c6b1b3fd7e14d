using AgentLocator.AppHost.Hosting;
using AgentLocator.AppHost.Processes;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.AppHost;

[Collection(AppHostCollection.Name)]
public sealed class ConfiguredGraphTests
{
    [Fact]
    public async Task SettingsGivenToTheAppHostReachTheServicesAndACrashAfterStartIsReportedAsExited()
    {
        await using var app = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AgentLocator_AppHost>(
            new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4317",
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc",
                ["AppHost:PublicBaseUrl"] = "https://calls.agentlocator.example/",
                ["AppHost:Resources:api:Env:Twilio__AuthToken"] = "token-for-api-only",
            });
        await app.StartAsync(TimeSpan.FromMinutes(2));

        var api = ProcessTree.EnvironmentOf(app.GetResource("api").ProcessId!.Value);
        var mediaworker = ProcessTree.EnvironmentOf(app.GetResource("mediaworker").ProcessId!.Value);
        Assert.Equal("http://127.0.0.1:4317", api["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Equal("grpc", api["OTEL_EXPORTER_OTLP_PROTOCOL"]);
        Assert.Equal("https://calls.agentlocator.example", api["PublicBaseUrl"]);
        Assert.Equal($"wss://calls.agentlocator.example:{app.GetEndpoint("mediaworker").Port}/ws/twilio-media", api["MediaStreamUrl"]);
        Assert.Equal("token-for-api-only", api["Twilio__AuthToken"]);
        Assert.False(mediaworker.ContainsKey("Twilio__AuthToken"), "a setting under AppHost:Resources:api goes to the api only");

        var pid = app.GetResource("mediaworker").ProcessId!.Value;
        Assert.True(Posix.Signal(pid, Posix.SIGKILL));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var exited = await app.WaitForResourceAsync("mediaworker", s => s.State == ResourceState.Exited, timeout.Token);

        Assert.Equal(128 + Posix.SIGKILL, exited.ExitCode);
        Assert.Contains("exited unexpectedly", exited.Message, StringComparison.Ordinal);
        Assert.Equal(ResourceState.Healthy, app.GetResource("api").State);
    }
}
