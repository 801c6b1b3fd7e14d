using System.Diagnostics;
using System.Reflection;
using System.Text;
using AgentLocator.AppHost.Processes;

namespace AgentLocator.Tests.AppHost;

/// <summary>
/// The AppHost run as operators run it, a real process (<c>dotnet AgentLocator.AppHost.dll</c>) with what its launch
/// profile gives <c>dotnet run</c> (dashboard, OTLP and resource-service addresses, here on free ports), ephemeral data,
/// free service ports and the installed Postgres and Redis.
/// </summary>
internal sealed class AppHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Stopwatch _sinceStart = Stopwatch.StartNew();

    private AppHostProcess(Process process) => _process = process;

    public int Id => _process.Id;

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

    public static AppHostProcess Start(params string[] arguments)
    {
        var configuration = typeof(AppHostProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dll = Path.Combine(RepositoryRoot(), "AgentLocator.AppHost", "bin", configuration, $"net{Environment.Version.Major}.0", "AgentLocator.AppHost.dll");
        Assert.True(File.Exists(dll), $"{dll} should have been built with the tests");

        var startInfo = new ProcessStartInfo(Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot(),
        };
        foreach (var argument in new[]
        {
            dll, "--AppHost:Ephemeral=true", "--AppHost:ApiPort=0", "--AppHost:MediaWorkerPort=0", "--AppHost:WebPort=0",
            "--AppHost:Postgres:Mode=local", "--AppHost:Redis:Mode=local",
        }.Concat(arguments))
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment["DOTNET_ENVIRONMENT"] = "Development";
        startInfo.Environment["ASPNETCORE_URLS"] = $"http://localhost:{PortOwners.GetFreePort()}";
        startInfo.Environment["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://localhost:{PortOwners.GetFreePort()}";
        startInfo.Environment["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://localhost:{PortOwners.GetFreePort()}";
        startInfo.Environment["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true";
        startInfo.Environment.Remove("ConnectionStrings__agentlocator");
        startInfo.Environment.Remove("ConnectionStrings__redis");
        startInfo.Environment.Remove("ConnectionStrings__openai");

        var process = new Process { StartInfo = startInfo };
        var host = new AppHostProcess(process);
        process.OutputDataReceived += (_, e) => host.Append(e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Waits for the AppHost's summary (every resource healthy); returns DCP and every process of the graph.</summary>
    public async Task<RunningGraph> WaitUntilUpAsync(TimeSpan timeout)
    {
        while (!Output.Contains("AgentLocator is up", StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                Assert.Fail($"The AppHost exited early ({_process.ExitCode}):\n{Output}");
            }

            if (_sinceStart.Elapsed > timeout)
            {
                throw new TimeoutException($"The AppHost was not up within {timeout.TotalSeconds:0} s:\n{Output}");
            }

            await Task.Delay(200);
        }

        var dcp = ProcessTree.FindDcp(Id) ?? throw new InvalidOperationException($"No DCP monitors the AppHost {Id}.");
        var processes = ProcessTree.Descendants(dcp);
        int PortOf(string service) => processes
            .Where(pid => ProcessTree.CommandLine(pid).Contains($"{service}/bin/", StringComparison.Ordinal))
            .Select(pid => new Uri(ProcessTree.EnvironmentOf(pid)["ASPNETCORE_URLS"].Split(';')[0]).Port)
            .First();
        return new RunningGraph(dcp, [dcp, .. processes], PortOf("AgentLocator.Api"), PortOf("AgentLocator.MediaWorker"), _sinceStart.Elapsed);
    }

    public async Task<int?> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancellation.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
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

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AgentLocator.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("AgentLocator.sln not found above the test binaries.");
    }
}

/// <summary>An AppHost's DCP, every process DCP started for it, the ports its services answer on, and how long it took to be up.</summary>
internal sealed record RunningGraph(int Dcp, IReadOnlyList<int> Processes, int ApiPort, int MediaWorkerPort, TimeSpan UpAfter);
