using System.Diagnostics;
using AgentLocator.AppHost.Processes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;

namespace AgentLocator.Tests.AppHost;

[Collection(AppHostCollection.Name)]
public sealed class StartFailureTests
{
    [Fact]
    public async Task ABusyApiPortMakesTheAppHostRefuseBeforeLaunchingAnythingAndNameTheProcessHoldingIt()
    {
        var port = PortOwners.GetFreePort();
        using var squatter = Process.Start(new ProcessStartInfo("redis-server", ["--port", $"{port}", "--bind", "127.0.0.1", "--save", ""])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        try
        {
            await WaitUntilListeningAsync(port);
            await using var app = await AgentLocatorGraph.BuildAsync(new Dictionary<string, string?> { ["AppHost:ApiPort"] = $"{port}" });

            var failure = await Assert.ThrowsAnyAsync<Exception>(() => app.StartHealthyAsync(AgentLocatorGraph.StartTimeout));

            var refusal = Assert.IsType<DistributedApplicationException>(Innermost(failure));
            Assert.Contains($"port {port} (api) is already in use by pid {squatter.Id}", refusal.Message, StringComparison.Ordinal);
            Assert.Contains("redis-server", refusal.Message, StringComparison.Ordinal);
            Assert.All(["postgres", "redis", "mediaworker", "api"], name => Assert.False(
                app.ResourceNotifications.TryGetCurrentState(name, out var state) && AgentLocatorGraph.ProcessIdOf(state.Snapshot) is not null,
                $"{name} was launched"));
        }
        finally
        {
            squatter.Kill();
            await squatter.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task ADeadExternalRedisKeepsItsDependentsWaitingWhilePostgresComesUp()
    {
        var deadPort = PortOwners.GetFreePort();
        await using var app = await AgentLocatorGraph.BuildAsync(new Dictionary<string, string?>
        {
            ["AppHost:Redis:Mode"] = "external",
            ["ConnectionStrings:redis"] = $"127.0.0.1:{deadPort},connectTimeout=500",
        });
        using var timeout = new CancellationTokenSource(AgentLocatorGraph.StartTimeout);

        // The start completes only once every resource started, which the services never do here.
        var start = app.StartAsync(timeout.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("agentlocator", timeout.Token);
        // Health is checked every few seconds: give the dead server a few checks to come up. It does not.
        var redis = await app.ResourceNotifications.WaitForResourceAsync("redis",
            e => e.Snapshot.HealthReports.Any(r => r.Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy), timeout.Token);
        await Task.Delay(TimeSpan.FromSeconds(5), timeout.Token);

        Assert.NotEqual(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, app.Snapshot("redis").HealthStatus);
        Assert.Contains(redis.Snapshot.HealthReports, r => r.Description is not null || r.ExceptionText is not null);
        foreach (var dependent in new[] { "mediaworker", "api" })
        {
            Assert.Equal(KnownResourceStates.Waiting, app.Snapshot(dependent).State?.Text);
            Assert.Null(AgentLocatorGraph.ProcessIdOf(app.Snapshot(dependent)));
        }

        Assert.False(start.IsCompleted, "the start cannot complete while the services wait");
    }

    [Fact]
    public async Task ExternalPostgresWithoutAConnectionStringFailsNamingTheSettingToSet()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() =>
            AgentLocatorGraph.BuildAsync(new Dictionary<string, string?> { ["AppHost:Postgres:Mode"] = "external" }));

        Assert.Equal(
            "AppHost:Postgres:Mode is external but no connection string was given: set ConnectionStrings__agentlocator.",
            Innermost(failure).Message);
    }

    [Fact]
    public async Task AnUnknownModeIsRejectedNamingTheSettingAndTheChoices()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() =>
            AgentLocatorGraph.BuildAsync(new Dictionary<string, string?> { ["AppHost:Redis:Mode"] = "docker" }));

        Assert.Equal("AppHost:Redis:Mode must be auto, external, container, local or embedded, not 'docker'.", Innermost(failure).Message);
    }

    private static Exception Innermost(Exception exception) =>
        exception.InnerException is { } inner ? Innermost(inner) : exception;

    private static async Task WaitUntilListeningAsync(int port)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (PortOwners.FindHolders(port) is null or { Count: 0 })
        {
            Assert.True(DateTime.UtcNow < deadline, $"the squatter did not listen on {port}");
            await Task.Delay(50);
        }
    }
}
