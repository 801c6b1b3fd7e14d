using System.Globalization;
using AgentLocator.AppHost;
using AgentLocator.AppHost.Processes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Tests.AppHost;

/// <summary>
/// The whole graph under Aspire.Hosting.Testing, as every whole-graph test starts it: the AppHost's own Program with
/// ephemeral data, free ports, the installed Postgres and Redis, and no connection string or exporter taken from the
/// machine the tests run on. <see cref="TestHostGuard"/> ends DCP and everything it started if this test host is killed.
/// </summary>
internal static class AgentLocatorGraph
{
    /// <summary>Bounds a whole start, a first build of the embedded servers excepted.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    /// <summary>What the services wait for, in the order they come up.</summary>
    public static readonly string[] Resources = ["agentlocator", "redis", "mediaworker", "api", "web"];

    public static IReadOnlyDictionary<string, string?> TestDefaults { get; } = new Dictionary<string, string?>
    {
        ["AppHost:Ephemeral"] = "true",
        ["AppHost:ApiPort"] = "0",
        ["AppHost:MediaWorkerPort"] = "0",
        ["AppHost:WebPort"] = "0",
        ["AppHost:Postgres:Mode"] = "local",
        ["AppHost:Redis:Mode"] = "local",
        // A test must not pick up a server of the machine it runs on.
        ["ConnectionStrings:agentlocator"] = "",
        ["ConnectionStrings:redis"] = "",
    };

    /// <summary>Runs the AppHost's Program and builds its application, not started.</summary>
    public static async Task<DistributedApplication> BuildAsync(IReadOnlyDictionary<string, string?>? settings = null, bool dashboard = false)
    {
        var configuration = new Dictionary<string, string?>(TestDefaults);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        if (dashboard)
        {
            // Fixed addresses for the dashboard, its OTLP intake and the resource service, each free: the services are told
            // the OTLP address from configuration, so it must not be randomized away from where the dashboard listens.
            configuration["ASPNETCORE_URLS"] = $"http://localhost:{PortOwners.GetFreePort()}";
            configuration["ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL"] = $"http://localhost:{PortOwners.GetFreePort()}";
            configuration["ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL"] = $"http://localhost:{PortOwners.GetFreePort()}";
            configuration["DcpPublisher:RandomizePorts"] = "false";
        }

        var arguments = configuration.Select(setting => $"--{setting.Key}={setting.Value}").ToArray();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AgentLocator_AppHost>(
            arguments, (options, _) => options.DisableDashboard = !dashboard);
        // The AppHost's own log (resource logs, health checks of servers that are meant to be down) stays out of the test
        // output: a failing test reads the resource states and console logs back instead (DescribeStates, LogTailAsync).
        builder.Services.AddLogging(logging => logging.ClearProviders());
        var app = await builder.BuildAsync();
        TestHostGuard.Watch(app);
        return app;
    }

    /// <summary>Builds, starts and waits until every service is healthy, or fails naming each resource's state.</summary>
    public static async Task<DistributedApplication> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, bool dashboard = false)
    {
        var app = await BuildAsync(settings, dashboard);
        try
        {
            await app.StartHealthyAsync(StartTimeout);
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the application and waits, within <paramref name="timeout"/>, until every resource the services use is healthy.</summary>
    public static async Task StartHealthyAsync(this DistributedApplication app, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await app.StartAsync(cancellation.Token);
            foreach (var resource in Resources)
            {
                await app.ResourceNotifications.WaitForResourceHealthyAsync(resource, cancellation.Token);
            }
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            throw new TimeoutException($"The graph was not healthy within {timeout.TotalSeconds:0} s:\n{app.DescribeStates()}");
        }
    }

    /// <summary>The commit, build time and deploy id the AppHost injected into both services.</summary>
    public static BuildMetadata Build(this DistributedApplication app) => app.Services.GetRequiredService<BuildMetadata>();

    /// <summary>The current snapshot of a resource.</summary>
    public static CustomResourceSnapshot Snapshot(this DistributedApplication app, string resource) =>
        app.ResourceNotifications.TryGetCurrentState(resource, out var state)
            ? state.Snapshot
            : throw new InvalidOperationException($"No state for '{resource}'.");

    /// <summary>The pid DCP started for an executable or project (for a project: its <c>dotnet run</c>).</summary>
    public static int ProcessId(this DistributedApplication app, string resource) =>
        app.ResourceNotifications.TryGetCurrentState(resource, out var state) && ProcessIdOf(state.Snapshot) is { } pid
            ? pid
            : throw new InvalidOperationException($"'{resource}' has no process (yet):\n{app.DescribeStates()}");

    /// <summary>The pid in a snapshot, null while DCP has launched nothing for it.</summary>
    public static int? ProcessIdOf(CustomResourceSnapshot snapshot) =>
        snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value is { } pid && $"{pid}" is { Length: > 0 } text
            ? Convert.ToInt32(text, CultureInfo.InvariantCulture)
            : null;

    /// <summary>The service itself: the process DCP started for a project (its built launcher), or the child of a <c>dotnet run</c>.</summary>
    public static int ServiceProcessId(this DistributedApplication app, string project)
    {
        var launcher = app.ProcessId(project);
        if (!ProcessTree.CommandLine(launcher).StartsWith("dotnet run", StringComparison.Ordinal))
        {
            return launcher;
        }

        var services = ProcessTree.Descendants(launcher).Where(pid => !ProcessTree.CommandLine(pid).StartsWith("dotnet run", StringComparison.Ordinal)).ToArray();
        return services.Length > 0
            ? services[0]
            : throw new InvalidOperationException($"'{project}' ({launcher}: {ProcessTree.CommandLine(launcher)}) has no service process.");
    }

    /// <summary>The last lines a resource wrote (its console log as the dashboard shows it).</summary>
    public static async Task<string> LogTailAsync(this DistributedApplication app, string resource, int lines)
    {
        var tail = new Queue<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await foreach (var batch in app.Services.GetRequiredService<ResourceLoggerService>().GetAllAsync(resource).WithCancellation(timeout.Token))
            {
                foreach (var line in batch)
                {
                    tail.Enqueue(line.Content);
                    if (tail.Count > lines)
                    {
                        tail.Dequeue();
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            tail.Enqueue("(log read timed out)");
        }

        return string.Join('\n', tail);
    }

    public static string DescribeStates(this DistributedApplication app) =>
        string.Join('\n', app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Select(resource =>
            app.ResourceNotifications.TryGetCurrentState(resource.Name, out var state)
                ? $"  {resource.Name}: {state.Snapshot.State?.Text} (health {state.Snapshot.HealthStatus?.ToString() ?? "-"}, exit {state.Snapshot.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "-"})"
                : $"  {resource.Name}: no state"));
}
