using Aspire.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace AgentLocator.Tests.AppHost;

/// <summary>
/// Nothing of a graph outlives its test run. If this test host is killed, DCP notices (it monitors the AppHost's pid,
/// which in a test is the test host's) and stops what it started. But if only the runner dies (<c>dotnet test</c>,
/// vstest.console: a CI timeout, a closed terminal), the test host goes on with its current tests, and DCP, the servers
/// and the services with it, for as long as those take. This guard watches the runner: once it is gone, it stops every
/// graph still running, within a bound, and ends the orphaned test host.
/// </summary>
internal static class TestHostGuard
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);
    private static readonly Lock Gate = new();
    private static readonly List<DistributedApplication> Apps = [];
    private static Thread? _watcher;

    /// <summary>Exit code of a test host ended because its runner is gone.</summary>
    public const int RunnerGoneExitCode = 3;

    /// <summary>Watches <paramref name="app"/> until it is disposed.</summary>
    public static void Watch(DistributedApplication app)
    {
        lock (Gate)
        {
            Apps.Add(app);
            if (_watcher is null && ProcessTree.ParentOf(Environment.ProcessId) is { } runner and > 1)
            {
                _watcher = new Thread(() => WatchRunner(runner)) { IsBackground = true, Name = "AgentLocator test host guard" };
                _watcher.Start();
            }
        }

        // DisposeAsync stops the app: no need to watch it any longer.
        app.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopped.Register(() =>
        {
            lock (Gate)
            {
                Apps.Remove(app);
            }
        });
    }

    private static void WatchRunner(int runner)
    {
        // The runner is gone when it exits, or when this process is handed to another parent (the runner died and we were reparented).
        while (ProcessTree.IsAlive(runner) && ProcessTree.ParentOf(Environment.ProcessId) == runner)
        {
            Thread.Sleep(PollInterval);
        }

        DistributedApplication[] running;
        lock (Gate)
        {
            running = [.. Apps];
        }

        Console.Error.WriteLine($"AgentLocator test host guard: the test runner (pid {runner}) is gone; stopping {running.Length} graph(s) and exiting.");
        try
        {
            Task.WaitAll([.. running.Select(app => app.StopAsync())], StopTimeout);
        }
        catch (AggregateException)
        {
            // Stopping is best effort; DCP ends what is left once this process exits.
        }

        Environment.Exit(RunnerGoneExitCode);
    }
}
