using System.Diagnostics;
using AgentLocator.AppHost.Hosting;

namespace AgentLocator.AppHost.Processes;

/// <summary>What to run for a resource.</summary>
internal sealed record ChildProcessSpec(string FileName, IReadOnlyList<string> Arguments)
{
    public string? WorkingDirectory { get; init; }

    /// <summary>Values to set (non-null) or remove (null) on top of the AppHost's own environment.</summary>
    public IReadOnlyDictionary<string, string?> Environment { get; init; } = new Dictionary<string, string?>();

    /// <summary>Run as this user (via <c>setpriv --reuid</c>) — Postgres refuses to run as root.</summary>
    public UnixUser? RunAsUser { get; init; }

    /// <summary>The signal that asks for a clean, quick stop (Postgres: SIGINT, "fast shutdown").</summary>
    public int StopSignal { get; init; } = Posix.SIGTERM;
}

/// <summary>
/// A child process whose output goes to the <see cref="ResourceLog"/> under its resource's name.
/// On Linux it is launched through <c>setpriv --pdeathsig KILL</c>, so it dies with the AppHost even when the
/// AppHost is SIGKILLed and cannot clean up.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ChildProcessSpec _spec;

    private ChildProcess(Process process, ChildProcessSpec spec)
    {
        _process = process;
        _spec = spec;
    }

    public int Id => _process.Id;

    public string CommandLine { get; private init; } = "";

    public Task<int> Exited => _exited.Task;

    public bool HasExited => _exited.Task.IsCompleted;

    public static async Task<ChildProcess> StartAsync(string resource, ChildProcessSpec spec, ResourceLog log)
    {
        var startInfo = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = spec.WorkingDirectory ?? Environment.CurrentDirectory,
        };

        var arguments = new List<string>();
        if (OperatingSystem.IsLinux())
        {
            startInfo.FileName = "setpriv";
            if (spec.RunAsUser is { } user)
            {
                arguments.AddRange(["--reuid", $"{user.Uid}", "--regid", $"{user.Gid}", "--init-groups"]);
            }

            arguments.AddRange(["--pdeathsig", "KILL", "--", spec.FileName]);
        }
        else
        {
            startInfo.FileName = spec.FileName;
        }

        arguments.AddRange(spec.Arguments);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in spec.Environment)
        {
            if (value is null)
            {
                startInfo.Environment.Remove(key);
            }
            else
            {
                startInfo.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var child = new ChildProcess(process, spec)
        {
            CommandLine = string.Join(' ', arguments.Prepend(startInfo.FileName).Select(a => a.Contains(' ') || a.Length == 0 ? $"'{a}'" : a)),
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.Write(resource, e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log.Write(resource, e.Data, isError: true);
            }
        };
        await ChildProcessLauncher.StartAsync(process);
        _ = child.CompleteExitAsync();
        return child;
    }

    /// <summary>Asks the process to stop with its stop signal, and kills it if it has not exited in <paramref name="timeout"/>.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (HasExited)
        {
            return;
        }

        Posix.Signal(_process.Id, _spec.StopSignal);
        try
        {
            await Exited.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Kill();
            await Exited.WaitAsync(TimeSpan.FromSeconds(5));
        }
    }

    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!HasExited)
        {
            Kill();
            await Exited.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }

        _process.Dispose();
    }

    private async Task CompleteExitAsync()
    {
        try
        {
            // Also waits for the output pumps to drain, so the last lines (often the reason it failed) are logged first.
            await _process.WaitForExitAsync().ConfigureAwait(false);
            _exited.TrySetResult(_process.ExitCode);
        }
        catch (InvalidOperationException)
        {
            _exited.TrySetResult(-1);
        }
    }
}
