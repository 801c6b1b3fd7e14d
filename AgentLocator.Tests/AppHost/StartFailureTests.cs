using System.Diagnostics;
using AgentLocator.AppHost.Hosting;
using AgentLocator.AppHost.Processes;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.AppHost;

[Collection(AppHostCollection.Name)]
public sealed class StartFailureTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task ABusyApiPortMakesTheAppHostRefuseAndNameTheProcessHoldingIt()
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
            await using var app = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AgentLocator_AppHost>(
                new Dictionary<string, string?> { ["AppHost:ApiPort"] = $"{port}" });

            var refusal = await Assert.ThrowsAsync<DistributedApplicationException>(() => app.StartAsync(StartTimeout));

            Assert.Contains($"port {port} (api) is already in use by pid {squatter.Id}", refusal.Message, StringComparison.Ordinal);
            Assert.Contains("redis-server", refusal.Message, StringComparison.Ordinal);
            Assert.All(app.Snapshots, s => Assert.Equal(ResourceState.NotStarted, s.State));
            Assert.All(app.Snapshots, s => Assert.Null(s.ProcessId));
        }
        finally
        {
            squatter.Kill();
            await squatter.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task ADeadExternalRedisLeavesItsDependentsUnstartedWithFailedToStart()
    {
        var deadPort = PortOwners.GetFreePort();
        await using var app = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AgentLocator_AppHost>(
            new Dictionary<string, string?>
            {
                ["AppHost:Redis:Mode"] = "external",
                ["ConnectionStrings:redis"] = $"127.0.0.1:{deadPort}",
                ["AppHost:HealthTimeout"] = "00:00:04",
            });

        var failure = await Assert.ThrowsAsync<DistributedApplicationException>(() => app.StartAsync(StartTimeout));

        var redis = app.GetResource("redis");
        Assert.Equal(ResourceState.FailedToStart, redis.State);
        Assert.Contains("not healthy within 4 s", redis.Message, StringComparison.Ordinal);
        Assert.Contains("refused", redis.Message, StringComparison.OrdinalIgnoreCase);
        foreach (var dependent in new[] { "mediaworker", "api" })
        {
            var snapshot = app.GetResource(dependent);
            Assert.Equal(ResourceState.FailedToStart, snapshot.State);
            Assert.Contains("waits for '", snapshot.Message, StringComparison.Ordinal);
            Assert.Null(snapshot.ProcessId);
        }

        Assert.Contains("waits for 'redis', which is FailedToStart", app.GetResource("mediaworker").Message, StringComparison.Ordinal);
        Assert.Equal(ResourceState.Healthy, app.GetResource("postgres").State);
        Assert.Contains("api: FailedToStart", failure.Message, StringComparison.Ordinal);
        Assert.Contains("redis: FailedToStart", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExternalPostgresWithoutAConnectionStringFailsNamingTheSettingToSet()
    {
        await using var app = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AgentLocator_AppHost>(
            new Dictionary<string, string?> { ["AppHost:Postgres:Mode"] = "external" });

        await Assert.ThrowsAsync<DistributedApplicationException>(() => app.StartAsync(StartTimeout));

        var postgres = app.GetResource("postgres");
        Assert.Equal(ResourceState.FailedToStart, postgres.State);
        Assert.Contains("ConnectionStrings__agentlocator", postgres.Message, StringComparison.Ordinal);
        Assert.Equal(ResourceState.FailedToStart, app.GetResource("agentlocator").State);
        Assert.Contains("waits for 'postgres'", app.GetResource("agentlocator").Message, StringComparison.Ordinal);
        Assert.Null(app.GetResource("api").ProcessId);
    }

    [Fact]
    public async Task AnUnknownModeIsRejectedNamingTheSettingAndTheChoices()
    {
        var rejected = await Assert.ThrowsAsync<DistributedApplicationException>(() =>
            DistributedApplicationTestingBuilder.CreateAsync<Projects.AgentLocator_AppHost>(
                new Dictionary<string, string?> { ["AppHost:Redis:Mode"] = "docker" }));

        Assert.Equal("AppHost:Redis:Mode must be auto, external, local or embedded, not 'docker'.", rejected.Message);
    }

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
