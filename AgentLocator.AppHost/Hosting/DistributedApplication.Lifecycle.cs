using System.Runtime.InteropServices;
using System.Text.Json;
using AgentLocator.AppHost.Orchestration;
using AgentLocator.AppHost.Processes;

namespace AgentLocator.AppHost.Hosting;

public sealed partial class DistributedApplication
{
    private static readonly TimeSpan HealthPollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Starts the graph and completes once every resource is healthy. Throws <see cref="DistributedApplicationException"/>
    /// naming what failed and why (a port held by another process, a dependency that never became healthy, …).
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_stateLock)
        {
            if (_startTask is not null || _stopping)
            {
                throw new InvalidOperationException("The application was already started.");
            }

            _startTask = StartCoreAsync(cancellationToken);
        }

        return _startTask;
    }

    /// <summary>Stops everything that was started, in reverse order: the stop signal first, a kill after <c>AppHost:StopTimeout</c>.</summary>
    public async Task StopAsync()
    {
        await _stopGate.WaitAsync();
        try
        {
            if (_stopped)
            {
                return;
            }

            _stopping = true;
            await _lifetime.CancelAsync();
            if (_startTask is not null)
            {
                try
                {
                    await _startTask.WaitAsync(Options.StopTimeout);
                }
                catch (Exception exception) when (exception is not OutOfMemoryException)
                {
                    // Start failures were reported by StartAsync; here we only wait for in-flight starts to unwind.
                }
            }

            List<ResourceLifecycle> started;
            lock (_stateLock)
            {
                started = [.. _startOrder];
            }

            started.Reverse();
            foreach (var lifecycle in started)
            {
                var state = GetResource(lifecycle.Resource.Name).State;
                if (lifecycle.Process is { HasExited: false })
                {
                    SetState(lifecycle, ResourceState.Stopping);
                    await lifecycle.StopAsync(Options.StopTimeout);
                    SetState(lifecycle, ResourceState.Exited, "stopped", lifecycle.Process.Exited.IsCompletedSuccessfully ? lifecycle.Process.Exited.Result : null);
                }
                else if (state is ResourceState.Healthy or ResourceState.Running or ResourceState.Starting)
                {
                    SetState(lifecycle, ResourceState.Exited, "stopped");
                }
            }

            foreach (var lifecycle in _context.Lifecycles.Values)
            {
                if (lifecycle.Process is not null)
                {
                    await lifecycle.Process.DisposeAsync();
                }

                foreach (var directory in lifecycle.TemporaryDirectories)
                {
                    TryDeleteDirectory(directory);
                }
            }

            _stopped = true;
            TryDeleteFile(PidFilePath);
            if (Options.Ephemeral)
            {
                TryDeleteDirectory(Options.DataDirectory);
            }

            Log.Write(ResourceLog.AppHostName, "Stopped.");
        }
        finally
        {
            _stopGate.Release();
        }
    }

    /// <summary>Starts the graph, prints the endpoints, and waits for Ctrl+C or SIGTERM.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (_testingHook is not null)
        {
            // Under DistributedApplicationTestingBuilder the test starts (and stops) the application itself.
            _testingHook.Captured = this;
            return;
        }

        using var shutdown = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void RequestShutdown(PosixSignalContext context)
        {
            context.Cancel = true;
            // From a terminal the children get the same SIGINT; their exits are part of the stop, not a crash.
            _stopping = true;
            Log.Write(ResourceLog.AppHostName, $"{context.Signal} received, stopping…");
            shutdown.Cancel();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, RequestShutdown);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, RequestShutdown);
        try
        {
            await StartAsync(shutdown.Token);
            Log.Write(ResourceLog.AppHostName, "All resources are healthy. Press Ctrl+C to stop.");
            await Task.Delay(Timeout.Infinite, shutdown.Token);
        }
        catch (DistributedApplicationException exception)
        {
            Log.Write(ResourceLog.AppHostName, exception.Message, isError: true);
            Environment.ExitCode = 1;
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
        }
        finally
        {
            await StopAsync();
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        var token = linked.Token;
        Log.Write(ResourceLog.AppHostName,
            $"AgentLocator AppHost — commit {Metadata.Commit}, deploy {Metadata.DeployId}, {Options.Environment}, data in {Options.DataDirectory}{(Options.Ephemeral ? " (ephemeral)" : "")}");

        RefuseHeldPorts();
        foreach (var project in _context.Lifecycles.Values.OfType<ProjectLifecycle>())
        {
            project.AssignPort();
        }

        Directory.CreateDirectory(Options.DataDirectory);
        foreach (var lifecycle in _context.Lifecycles.Values)
        {
            SetState(lifecycle, ResourceState.Waiting);
        }

        // Build the projects one after another (they share projects, so parallel builds would collide), while the servers start.
        var builds = new Dictionary<ProjectLifecycle, Task>();
        Task previousBuild = Task.CompletedTask;
        foreach (var project in _context.Lifecycles.Values.OfType<ProjectLifecycle>())
        {
            var after = previousBuild;
            previousBuild = builds[project] = Task.Run(async () =>
            {
                await after.ContinueWith(_ => { }, TaskScheduler.Default);
                await project.BuildAsync(token);
            }, token);
        }

        var runs = new Dictionary<IResource, Task<bool>>();
        Task<bool> RunOf(IResource resource)
        {
            if (!runs.TryGetValue(resource, out var run))
            {
                var lifecycle = _context.LifecycleOf(resource);
                var dependencies = ((Resource)resource).WaitsFor.Distinct().Select(d => (d, RunOf(d))).ToArray();
                run = runs[resource] = RunResourceAsync(lifecycle, dependencies, lifecycle is ProjectLifecycle p ? builds[p] : null, token);
            }

            return run;
        }

        var all = Resources.Select(RunOf).ToArray();
        await Task.WhenAll(all);
        token.ThrowIfCancellationRequested();

        var failed = Snapshots.Where(s => s.State != ResourceState.Healthy).ToArray();
        if (failed.Length > 0)
        {
            throw new DistributedApplicationException(
                "The application did not start:" + string.Concat(failed.Select(s => $"\n  {s.Name}: {s.State} — {s.Message}")));
        }

        _allHealthy = true;
        WritePidFile();
        Log.Write(ResourceLog.AppHostName, SummaryTable());
    }

    private void RefuseHeldPorts()
    {
        var problems = new List<string>();
        foreach (var lifecycle in _context.Lifecycles.Values)
        {
            foreach (var port in lifecycle.FixedPorts)
            {
                if (PortOwners.FindHolders(port) is { } holders)
                {
                    problems.Add(holders.Count == 0
                        ? $"port {port} ({lifecycle.Resource.Name}) is already in use by a process this user cannot see"
                        : $"port {port} ({lifecycle.Resource.Name}) is already in use by {string.Join(", ", holders)}");
                }
            }
        }

        if (problems.Count > 0)
        {
            var message = "Refusing to start: " + string.Join("; ", problems)
                + ". Stop that process or choose another port (--AppHost:ApiPort / --AppHost:MediaWorkerPort).";
            throw new DistributedApplicationException(message);
        }
    }

    private async Task<bool> RunResourceAsync(
        ResourceLifecycle lifecycle, (IResource Resource, Task<bool> Run)[] dependencies, Task? build, CancellationToken cancellationToken)
    {
        await Task.Yield();
        if (dependencies.Length > 0)
        {
            SetState(lifecycle, ResourceState.Waiting, $"waiting for {string.Join(", ", dependencies.Select(d => d.Resource.Name))}");
        }

        foreach (var (dependency, run) in dependencies)
        {
            if (!await run)
            {
                var reason = GetResource(dependency.Name);
                SetState(lifecycle, ResourceState.FailedToStart,
                    $"not started: it waits for '{dependency.Name}', which is {reason.State}{(reason.Message is null ? "" : $" ({reason.Message})")}");
                return false;
            }
        }

        try
        {
            if (build is not null)
            {
                await build;
            }

            cancellationToken.ThrowIfCancellationRequested();
            SetState(lifecycle, ResourceState.Starting);
            lock (_stateLock)
            {
                _startOrder.Add(lifecycle);
            }

            await lifecycle.StartAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            SetState(lifecycle, ResourceState.FailedToStart, exception.Message);
            return false;
        }
        catch (OperationCanceledException)
        {
            SetState(lifecycle, ResourceState.FailedToStart, "start cancelled");
            return false;
        }

        SetState(lifecycle, ResourceState.Running);
        if (lifecycle.Process is { } process)
        {
            _ = process.Exited.ContinueWith(exited => OnProcessExited(lifecycle, exited.Result), TaskScheduler.Default);
        }

        return await WaitUntilHealthyAsync(lifecycle, cancellationToken);
    }

    private async Task<bool> WaitUntilHealthyAsync(ResourceLifecycle lifecycle, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Options.HealthTimeout;
        string? reason;
        try
        {
            while (true)
            {
                if (lifecycle.Process is { HasExited: true } process)
                {
                    var lastLines = Log.Lines.Where(l => l.Resource == lifecycle.Resource.Name).TakeLast(5).Select(l => l.Text);
                    SetState(lifecycle, ResourceState.FailedToStart,
                        $"exited with code {process.Exited.Result} before it was healthy: {string.Join(" | ", lastLines)}", process.Exited.Result);
                    return false;
                }

                reason = await lifecycle.CheckHealthAsync(cancellationToken);
                if (reason is null)
                {
                    SetState(lifecycle, ResourceState.Healthy, Describe(lifecycle));
                    return true;
                }

                if (DateTime.UtcNow > deadline)
                {
                    break;
                }

                await Task.Delay(HealthPollInterval, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            SetState(lifecycle, ResourceState.FailedToStart, "start cancelled");
            return false;
        }

        SetState(lifecycle, ResourceState.FailedToStart, $"not healthy within {Options.HealthTimeout.TotalSeconds:0} s: {reason}");
        return false;
    }

    private void OnProcessExited(ResourceLifecycle lifecycle, int exitCode)
    {
        var state = GetResource(lifecycle.Resource.Name).State;
        if (!_stopping && state is ResourceState.Healthy or ResourceState.Running)
        {
            SetState(lifecycle, ResourceState.Exited, $"exited unexpectedly with code {exitCode}", exitCode);
        }
    }

    private static string Describe(ResourceLifecycle lifecycle) =>
        lifecycle.Endpoint?.ToString().TrimEnd('/')
        ?? (lifecycle.ConnectionString is { } connectionString
            ? lifecycle.Resource is RedisResource ? Redis.RedisConnectionString.Redact(connectionString) : Postgres.PostgresServerLifecycle.Redact(connectionString)
            : lifecycle is Postgres.PostgresServerLifecycle { ServerConnectionString: { } server } ? Postgres.PostgresServerLifecycle.Redact(server) : lifecycle.Mode ?? "");

    private string SummaryTable()
    {
        var rows = Snapshots.Select(s => (s.Name, State: s.State.ToString(), Mode: s.Mode ?? "", Endpoint: s.Message ?? "", Pid: s.ProcessId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"))
            .Prepend(("RESOURCE", "STATE", "MODE", "ENDPOINT", "PID")).ToArray();
        int Width(Func<(string, string, string, string, string), string> column) => rows.Max(r => column(r).Length);
        var (name, state, mode, pid) = (Width(r => r.Item1), Width(r => r.Item2), Width(r => r.Item3), Width(r => r.Item5));
        return "\n" + string.Join('\n', rows.Select(r => $"  {r.Item1.PadRight(name)}  {r.Item2.PadRight(state)}  {r.Item3.PadRight(mode)}  {r.Item5.PadLeft(pid)}  {r.Item4}"))
            + $"\n  commit {Metadata.Commit}  deploy {Metadata.DeployId}  pids in {PidFilePath}";
    }

    private void WritePidFile()
    {
        if (!Directory.Exists(Options.DataDirectory) || _stopped)
        {
            return;
        }

        var document = new
        {
            apphostPid = Environment.ProcessId,
            commit = Metadata.Commit,
            deployId = Metadata.DeployId,
            allHealthy = _allHealthy,
            resources = Snapshots.Select(s => new { name = s.Name, state = s.State.ToString(), pid = s.ProcessId, endpoint = s.Endpoint?.ToString() }),
        };
        lock (_pidFileLock)
        {
            var temporary = PidFilePath + ".tmp";
            File.WriteAllText(temporary, JsonSerializer.Serialize(document));
            File.Move(temporary, PidFilePath, overwrite: true);
        }
    }

    private readonly Lock _pidFileLock = new();

    private static void TryDeleteDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Left for the next run; never fail a shutdown over a temp folder.
        }
    }

    private static void TryDeleteFile(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
        }
    }
}
