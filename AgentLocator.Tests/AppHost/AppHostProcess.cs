using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using AgentLocator.AppHost.Processes;

namespace AgentLocator.Tests.AppHost;

/// <summary>The AppHost run as operators run it: <c>dotnet AgentLocator.AppHost.dll</c>, a real child process.</summary>
internal sealed class AppHostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private AppHostProcess(Process process, string dataDirectory)
    {
        _process = process;
        DataDirectory = dataDirectory;
    }

    public string DataDirectory { get; }

    public int Id => _process.Id;

    public string PidFile => Path.Combine(DataDirectory, "apphost.pids.json");

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

    public static AppHostProcess Start()
    {
        var repositoryRoot = FindRepositoryRoot();
        var configuration = typeof(AppHostProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dll = Path.Combine(repositoryRoot, "AgentLocator.AppHost", "bin", configuration, $"net{Environment.Version.Major}.0", "AgentLocator.AppHost.dll");
        Assert.True(File.Exists(dll), $"{dll} should have been built with the tests");
        var dataDirectory = Directory.CreateTempSubdirectory("agentlocator-apphost-test-").FullName;

        var startInfo = new ProcessStartInfo(Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = repositoryRoot,
        };
        foreach (var argument in new[]
        {
            dll,
            "--AppHost:DataDir", dataDirectory,
            "--AppHost:ApiPort", "0",
            "--AppHost:MediaWorkerPort", "0",
            "--AppHost:Build", "false",
            "--AppHost:Postgres:Mode", "local",
            "--AppHost:Redis:Mode", "local",
            "--AppHost:HealthTimeout", "00:01:00",
            "--AppHost:StopTimeout", "00:00:10",
        })
        {
            startInfo.ArgumentList.Add(argument);
        }

        startInfo.Environment.Remove("ConnectionStrings__agentlocator");
        startInfo.Environment.Remove("ConnectionStrings__redis");
        var process = new Process { StartInfo = startInfo };
        var host = new AppHostProcess(process, dataDirectory);
        process.OutputDataReceived += (_, e) => host.Append(e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Waits until the pid file says every resource is healthy; returns the resources' pids.</summary>
    public async Task<IReadOnlyDictionary<string, int>> WaitUntilHealthyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                Assert.Fail($"The AppHost exited early ({_process.ExitCode}):\n{Output}");
            }

            if (File.Exists(PidFile))
            {
                using var document = JsonDocument.Parse(await ReadSharedAsync(PidFile));
                var root = document.RootElement;
                if (root.GetProperty("allHealthy").GetBoolean())
                {
                    Assert.Equal(Id, root.GetProperty("apphostPid").GetInt32());
                    return root.GetProperty("resources").EnumerateArray()
                        .Where(r => r.GetProperty("pid").ValueKind == JsonValueKind.Number)
                        .ToDictionary(r => r.GetProperty("name").GetString()!, r => r.GetProperty("pid").GetInt32());
                }
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The AppHost was not healthy within {timeout.TotalSeconds:0} s:\n{Output}");
    }

    public void Signal(int signal) => Assert.True(Posix.Signal(Id, signal), $"could not send signal {signal} to {Id}");

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
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        try
        {
            return await File.ReadAllTextAsync(path);
        }
        catch (IOException)
        {
            return """{"allHealthy":false}""";
        }
    }

    private static string FindRepositoryRoot()
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
