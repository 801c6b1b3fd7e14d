using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace AgentLocator.Tests.AppHost;

[Collection(AppHostCollection.Name)]
public sealed class ConfiguredGraphTests
{
    [Fact]
    public async Task SettingsGivenToTheAppHostReachTheServicesAndACrashAfterStartIsReportedWithItsExitCode()
    {
        await using var app = await AgentLocatorGraph.StartAsync(new Dictionary<string, string?>
        {
            ["AppHost:PublicBaseUrl"] = "https://calls.agentlocator.example/",
            ["AppHost:Resources:api:Env:Twilio__AuthToken"] = "token-for-api-only",
            // As an environment variable AppHost__Resources__api__Env__Crm__ApiKeys__0 arrives nested, like this.
            ["AppHost:Resources:api:Env:Crm:ApiKeys:0"] = "crm-key-for-api-only",
        });

        var api = ProcessTree.EnvironmentOf(app.ServiceProcessId("api"));
        var mediaworker = ProcessTree.EnvironmentOf(app.ServiceProcessId("mediaworker"));
        Assert.Equal("https://calls.agentlocator.example", api["PublicBaseUrl"]);
        Assert.Equal("https://calls.agentlocator.example", mediaworker["PublicBaseUrl"]);
        Assert.Equal($"wss://calls.agentlocator.example:{app.GetEndpoint("mediaworker").Port}/ws/twilio-media", api["MediaStreamUrl"]);
        Assert.Equal("token-for-api-only", api["Twilio__AuthToken"]);
        Assert.Equal("crm-key-for-api-only", api["Crm__ApiKeys__0"]);
        Assert.False(mediaworker.ContainsKey("Twilio__AuthToken"), "a setting under AppHost:Resources:api goes to the api only");

        var service = app.ServiceProcessId("mediaworker");
        Assert.True(ProcessTree.Signal(service, ProcessTree.SIGKILL));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var exited = await app.ResourceNotifications.WaitForResourceAsync("mediaworker",
            e => KnownResourceStates.TerminalStates.Contains(e.Snapshot.State?.Text), timeout.Token);

        Assert.NotEqual(0, exited.Snapshot.ExitCode);
        Assert.Equal(KnownResourceStates.Running, app.Snapshot("api").State?.Text);
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, app.Snapshot("api").HealthStatus);
    }
}
