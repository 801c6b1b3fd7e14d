using System.Diagnostics;
using AgentLocator.AppHost.Processes;
using Xunit.Abstractions;

namespace AgentLocator.Tests.AppHost;

/// <summary>The AppHost as a real process: what is left of the graph when it is killed or asked to stop.</summary>
[Collection(AppHostCollection.Name)]
public sealed class AppHostProcessTests(ITestOutputHelper output)
{
    private static readonly TimeSpan UpTimeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task SigkillOfTheAppHostLeavesNothingAnsweringWithin20Seconds()
    {
        await using var appHost = AppHostProcess.Start();
        var graph = await appHost.WaitUntilUpAsync(UpTimeout);
        Assert.Contains(graph.Processes, pid => ProcessTree.CommandLine(pid).Contains(" -D ", StringComparison.Ordinal));

        var stopwatch = Stopwatch.StartNew();
        Assert.True(ProcessTree.Signal(appHost.Id, ProcessTree.SIGKILL));
        Assert.Equal(128 + ProcessTree.SIGKILL, await appHost.WaitForExitAsync(TimeSpan.FromSeconds(10)));
        // DCP monitors the AppHost's pid and stops everything it started once it is gone.
        var survivors = await ProcessTree.WaitUntilAllDeadAsync(graph.Processes, TimeSpan.FromSeconds(20));

        output.WriteLine($"up (every resource healthy) {graph.UpAfter.TotalSeconds:0.0} s after the AppHost started; load {LoadAverage()}");
        output.WriteLine($"{graph.Processes.Count} processes gone {stopwatch.Elapsed.TotalSeconds:0.0} s after SIGKILL of the AppHost");
        var described = ProcessTree.Describe(survivors);
        foreach (var survivor in survivors)
        {
            ProcessTree.Signal(survivor, ProcessTree.SIGKILL);
        }

        Assert.True(survivors.Count == 0, $"outlived the SIGKILLed AppHost by 20 s: {described}");
        Assert.False(await ProcessTree.AnswersAsync(graph.ApiPort), "the Api still answers");
        Assert.False(await ProcessTree.AnswersAsync(graph.MediaWorkerPort), "the MediaWorker still answers");
    }

    [Theory]
    [InlineData(ProcessTree.SIGTERM)]
    [InlineData(ProcessTree.SIGINT)]
    public async Task ASignalToStopEndsEveryServiceAndServerWithin5SecondsAndExitsCleanly(int signal)
    {
        await using var appHost = AppHostProcess.Start();
        var graph = await appHost.WaitUntilUpAsync(UpTimeout);
        var answering = graph.Processes.Where(pid => !ProcessTree.CommandLine(pid).Contains("/tools/dcp ", StringComparison.Ordinal)).ToArray();

        var names = answering.ToDictionary(pid => pid, ProcessTree.CommandLine);

        var stopwatch = Stopwatch.StartNew();
        Assert.True(ProcessTree.Signal(appHost.Id, signal));
        var exits = await ProcessTree.TimeExitsAsync(answering, TimeSpan.FromSeconds(5));
        var servicesGone = stopwatch.Elapsed;
        var servicesLeft = exits.Where(exit => exit.Value is null).Select(exit => names[exit.Key]).ToArray();
        var exitCode = await appHost.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var dcpLeft = await ProcessTree.WaitUntilAllDeadAsync(graph.Processes, TimeSpan.FromSeconds(20));

        output.WriteLine($"up (every resource healthy) {graph.UpAfter.TotalSeconds:0.0} s after the AppHost started; load {LoadAverage()}");
        output.WriteLine($"signal {signal}: services, servers and dashboard gone after {servicesGone.TotalSeconds:0.0} s, AppHost exited {exitCode}, everything (DCP too) after {stopwatch.Elapsed.TotalSeconds:0.0} s");
        foreach (var (pid, exit) in exits.OrderBy(exit => exit.Value ?? TimeSpan.MaxValue))
        {
            output.WriteLine($"  {(exit is { } e ? $"{e.TotalSeconds:0.0} s" : "running")}  {Shorten(names[pid])}");
        }

        Assert.True(servicesLeft.Length == 0, $"still running 5 s after the signal: {string.Join("; ", servicesLeft)}\n{appHost.Output}");
        Assert.True(exitCode == 0, $"expected a clean exit, got {exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none within 30 s"}:\n{appHost.Output}");
        Assert.True(dcpLeft.Count == 0, $"DCP outlived the AppHost: {ProcessTree.Describe(dcpLeft)}");
        Assert.False(await ProcessTree.AnswersAsync(graph.ApiPort), "the Api still answers");
    }

    private static string Shorten(string commandLine) => commandLine.Length <= 120 ? commandLine : commandLine[..120] + "…";

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    [Fact]
    public async Task AHeldPortMakesTheAppHostExitBeforeLaunchingAnythingNamingTheHolder()
    {
        var port = PortOwners.GetFreePort();
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
        squatter.Start();
        await using var appHost = AppHostProcess.Start($"--AppHost:MediaWorkerPort={port}");

        var exitCode = await appHost.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.True(exitCode is not null and not 0, $"expected a failed start, got {exitCode}:\n{appHost.Output}");
        Assert.Contains($"port {port} (mediaworker) is already in use by pid {Environment.ProcessId}", appHost.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Starting DCP", appHost.Output, StringComparison.Ordinal);
    }
}
