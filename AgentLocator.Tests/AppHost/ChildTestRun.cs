using System.Diagnostics;
using System.Text;

namespace AgentLocator.Tests.AppHost;

/// <summary>
/// <c>dotnet test</c> on this test assembly, in a child process, running a whole-graph test class: a test host whose
/// graph another test can kill it under. The runner's tree is <c>dotnet test</c> → vstest.console → testhost, and the
/// testhost is the AppHost that DCP monitors.
/// </summary>
internal sealed class ChildTestRun : IAsyncDisposable
{
    private readonly Process _runner;
    private readonly StringBuilder _output = new();

    private ChildTestRun(Process runner) => _runner = runner;

    /// <summary>What the child run printed so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public int RunnerId => _runner.Id;

    /// <summary>Runs the named test classes, one after the other (they share the AppHost collection).</summary>
    public static ChildTestRun Start(params Type[] testClasses)
    {
        var startInfo = new ProcessStartInfo(Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var filter = string.Join('|', testClasses.Select(type => $"FullyQualifiedName~{type.FullName}"));
        foreach (var argument in new[] { "test", typeof(ChildTestRun).Assembly.Location, "--filter", filter })
        {
            startInfo.ArgumentList.Add(argument);
        }

        var runner = new Process { StartInfo = startInfo };
        var run = new ChildTestRun(runner);
        runner.OutputDataReceived += (_, e) => run.Append(e.Data);
        runner.ErrorDataReceived += (_, e) => run.Append(e.Data);
        runner.Start();
        runner.BeginOutputReadLine();
        runner.BeginErrorReadLine();
        return run;
    }

    /// <summary>Waits until the child's graph runs its Api; returns the test host, DCP, and every process of the graph.</summary>
    public async Task<ChildGraph> WaitForGraphAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            Assert.False(_runner.HasExited, $"the child test run ended before its graph ran:\n{Output}");
            var testHost = ProcessTree.Descendants(_runner.Id).FirstOrDefault(pid => ProcessTree.CommandLine(pid).Contains("testhost.dll", StringComparison.Ordinal));
            if (testHost > 0 && ProcessTree.FindDcp(testHost) is { } dcp)
            {
                var graph = ProcessTree.Descendants(dcp);
                var api = graph.FirstOrDefault(pid => ProcessTree.CommandLine(pid).Contains("AgentLocator.Api/bin/", StringComparison.Ordinal));
                if (api > 0 && ProcessTree.EnvironmentOf(api).TryGetValue("ASPNETCORE_URLS", out var urls))
                {
                    return new ChildGraph(testHost, dcp, [dcp, .. graph], new Uri(urls.Split(';')[0]).Port);
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The child test run's graph did not start its Api within {timeout.TotalSeconds:0} s:\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        if (!_runner.HasExited)
        {
            _runner.Kill(entireProcessTree: true);
            await _runner.WaitForExitAsync();
        }

        _runner.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}

/// <summary>A child run's test host, its DCP, every process of its graph, and the port its Api listens on.</summary>
internal sealed record ChildGraph(int TestHost, int Dcp, IReadOnlyList<int> Processes, int ApiPort);
