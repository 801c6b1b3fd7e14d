using AgentLocator.AppHost.Processes;

namespace AgentLocator.Tests.AppHost;

/// <summary>The AppHost as a real process: what happens to its children when it is killed or asked to stop.</summary>
[Collection(AppHostCollection.Name)]
public sealed class AppHostProcessTests
{
    private static readonly TimeSpan HealthyTimeout = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task SigkillOfTheAppHostLeavesNoChildAlive()
    {
        await using var appHost = AppHostProcess.Start();
        var resources = await appHost.WaitUntilHealthyAsync(HealthyTimeout);
        var tree = ProcessTree.Descendants(appHost.Id);
        Assert.Equal(["api", "mediaworker", "postgres", "redis"], resources.Keys.Order());
        Assert.All(resources.Values, pid => Assert.Contains(pid, tree));
        // Postgres forks its background workers: they belong to the tree too and must go with it.
        Assert.True(tree.Count > resources.Count, $"expected postgres's own children in the tree: {ProcessTree.Describe(tree)}");

        appHost.Signal(Posix.SIGKILL);
        Assert.Equal(128 + Posix.SIGKILL, await appHost.WaitForExitAsync(TimeSpan.FromSeconds(10)));

        var survivors = await ProcessTree.WaitUntilAllDeadAsync(tree, TimeSpan.FromSeconds(15));
        var described = ProcessTree.Describe(survivors);
        foreach (var survivor in survivors)
        {
            // Do not leave the evidence running for the next test.
            Posix.Signal(survivor, Posix.SIGKILL);
        }

        Assert.True(survivors.Count == 0, $"children outlived the SIGKILLed AppHost: {described}");
    }

    [Theory]
    [InlineData(Posix.SIGTERM)]
    [InlineData(Posix.SIGINT)]
    public async Task ASignalToStopStopsEverythingInReverseOrderAndExitsCleanly(int signal)
    {
        await using var appHost = AppHostProcess.Start();
        var resources = await appHost.WaitUntilHealthyAsync(HealthyTimeout);
        var tree = ProcessTree.Descendants(appHost.Id);
        Assert.All(resources.Values, pid => Assert.Contains(pid, tree));

        appHost.Signal(signal);
        var exitCode = await appHost.WaitForExitAsync(TimeSpan.FromSeconds(45));

        Assert.True(exitCode == 0, $"expected a clean exit, got {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no exit within 45 s"}:\n{appHost.Output}");
        Assert.Empty(ProcessTree.Alive(tree));
        Assert.False(File.Exists(appHost.PidFile), "a clean stop removes the pid file");
        var output = appHost.Output;
        var stopping = new[] { "api", "mediaworker", "redis", "postgres" }
            .Select(name => output.IndexOf($"[apphost] {name}: Stopping", StringComparison.Ordinal))
            .ToArray();
        Assert.All(stopping, index => Assert.True(index >= 0, $"every process is stopped by the AppHost:\n{output}"));
        // api waits for mediaworker, which waits for redis and postgres (started side by side, so either may stop first).
        Assert.True(stopping[0] < stopping[1] && stopping[1] < stopping[2] && stopping[1] < stopping[3],
            $"dependents stop before what they depend on:\n{output}");
        Assert.Contains("[apphost] Stopped.", output, StringComparison.Ordinal);
    }
}
