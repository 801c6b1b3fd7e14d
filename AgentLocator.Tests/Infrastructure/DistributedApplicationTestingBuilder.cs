using AgentLocator.AppHost.Hosting;

namespace AgentLocator.Tests.Infrastructure;

/// <summary>
/// Aspire's <c>DistributedApplicationTestingBuilder</c>, for our AppHost: runs the AppHost's own <c>Program</c> in-process
/// (so the graph under test is the one operators run), with random free ports, ephemeral data, no rebuild of the
/// projects (the test build already built them) and local Postgres/Redis — each overridable by <c>configuration</c>.
/// <code>
/// await using var app = await DistributedApplicationTestingBuilder.CreateAsync&lt;Projects.AgentLocator_AppHost&gt;();
/// await app.StartAsync(TimeSpan.FromMinutes(2));
/// using var api = app.CreateHttpClient("api");
/// </code>
/// </summary>
public static class DistributedApplicationTestingBuilder
{
    public static IReadOnlyDictionary<string, string?> TestDefaults { get; } = new Dictionary<string, string?>
    {
        ["AppHost:Ephemeral"] = "true",
        ["AppHost:ApiPort"] = "0",
        ["AppHost:MediaWorkerPort"] = "0",
        ["AppHost:Build"] = "false",
        ["AppHost:Postgres:Mode"] = "local",
        ["AppHost:Redis:Mode"] = "local",
        ["AppHost:HealthTimeout"] = "00:01:00",
        ["AppHost:StopTimeout"] = "00:00:10",
        // A test must not pick up an exporter or a connection string from the machine it runs on.
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "",
        ["ConnectionStrings:agentlocator"] = "",
        ["ConnectionStrings:redis"] = "",
    };

    /// <summary>Runs the AppHost's entry point and returns its application, built but not started.</summary>
    public static async Task<DistributedApplication> CreateAsync<TEntryPoint>(
        IReadOnlyDictionary<string, string?>? configuration = null, CancellationToken cancellationToken = default)
    {
        var entryPoint = typeof(TEntryPoint).Assembly.EntryPoint
            ?? throw new InvalidOperationException($"{typeof(TEntryPoint).Assembly.GetName().Name} has no entry point.");
        var hook = new DistributedApplicationTestingHook();
        foreach (var (key, value) in TestDefaults.Concat(configuration ?? new Dictionary<string, string?>()))
        {
            hook.Configuration[key] = value;
        }

        await Task.Run(() =>
        {
            // Scoped to this flow: tests running in parallel each capture their own application.
            DistributedApplicationTestingHook.Current = hook;
            try
            {
                entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
            }
            catch (System.Reflection.TargetInvocationException exception) when (exception.InnerException is not null)
            {
                // Surface what Program.cs threw (a missing project, a bad setting), not the reflection wrapper.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(exception.InnerException);
            }
        }, cancellationToken);

        return hook.Captured ?? throw new InvalidOperationException("The AppHost's Program returned without calling Build().Run().");
    }
}
