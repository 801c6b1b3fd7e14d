using System.Diagnostics;
using Xunit.Abstractions;

namespace AgentLocator.Tests.AppHost;

/// <summary>
/// A test run that dies leaves nothing of its graphs running: a killed test host (DCP monitors it, as it monitors any
/// AppHost) and a killed runner (the <see cref="TestHostGuard"/> in the orphaned test host). Each test kills a child
/// <c>dotnet test</c> of whole-graph test classes while its first graph is up.
/// </summary>
[Collection(AppHostCollection.Name)]
public sealed class TestHostKillTests(ITestOutputHelper output)
{
    private static readonly TimeSpan GraphTimeout = TimeSpan.FromMinutes(4);
    private static readonly TimeSpan NothingLeftWithin = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task KillingATestHostLeavesNothingOfItsGraphRunning()
    {
        await using var run = ChildTestRun.Start(typeof(LocalGraphTests));
        var graph = await run.WaitForGraphAsync(GraphTimeout);

        var stopwatch = Stopwatch.StartNew();
        Assert.True(ProcessTree.Signal(graph.TestHost, ProcessTree.SIGKILL));
        var survivors = await ProcessTree.WaitUntilAllDeadAsync(graph.Processes, NothingLeftWithin);

        output.WriteLine($"test host {graph.TestHost} killed; {graph.Processes.Count} processes of its graph gone after {stopwatch.Elapsed.TotalSeconds:0.0} s");
        AssertNothingLeft(graph, survivors);
        Assert.False(await ProcessTree.AnswersAsync(graph.ApiPort), $"something still answers on the Api's port {graph.ApiPort}");
    }

    [Fact]
    public async Task KillingTheTestRunnerStopsTheGraphAndEndsTheOrphanedTestHost()
    {
        // Two graph classes: left alone, the orphaned test host would go on to the second graph for a minute or more
        // (measured: still running 30 s after its runner died with one class to finish).
        await using var run = ChildTestRun.Start(typeof(LocalGraphTests), typeof(ConfiguredGraphTests));
        var graph = await run.WaitForGraphAsync(GraphTimeout);
        var runner = ProcessTree.Descendants(run.RunnerId).Where(pid => pid != graph.TestHost && !graph.Processes.Contains(pid))
            .Where(pid => ProcessTree.Descendants(pid).Contains(graph.TestHost)).Prepend(run.RunnerId).ToArray();

        var stopwatch = Stopwatch.StartNew();
        // dotnet test and vstest.console die; the test host is left without its runner.
        Assert.All(runner, pid => Assert.True(ProcessTree.Signal(pid, ProcessTree.SIGKILL)));
        var survivors = await ProcessTree.WaitUntilAllDeadAsync([.. graph.Processes, graph.TestHost], NothingLeftWithin);

        output.WriteLine($"runner {string.Join(",", runner)} killed; test host and {graph.Processes.Count} graph processes gone after {stopwatch.Elapsed.TotalSeconds:0.0} s");
        AssertNothingLeft(graph, survivors);
        Assert.False(await ProcessTree.AnswersAsync(graph.ApiPort), $"something still answers on the Api's port {graph.ApiPort}");
    }

    private static void AssertNothingLeft(ChildGraph graph, IReadOnlyList<int> survivors)
    {
        var described = ProcessTree.Describe(survivors);
        foreach (var survivor in survivors)
        {
            // Do not leave the evidence running for the next test.
            ProcessTree.Signal(survivor, ProcessTree.SIGKILL);
        }

        Assert.True(survivors.Count == 0, $"outlived the killed run by {NothingLeftWithin.TotalSeconds:0} s: {described}");
    }
}
