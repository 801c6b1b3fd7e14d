using AgentLocator.AppHost.Hosting;
using AgentLocator.AppHost.Processes;

namespace AgentLocator.AppHost.Orchestration;

/// <summary>Provisions, health-checks and stops one resource.</summary>
internal abstract class ResourceLifecycle(AppHostContext context)
{
    protected AppHostContext Context { get; } = context;

    public abstract Resource Resource { get; }

    /// <summary>The process run for the resource, if any (external resources have none).</summary>
    public ChildProcess? Process { get; protected set; }

    /// <summary>external, local or embedded (Postgres/Redis); project for .NET projects.</summary>
    public string? Mode { get; protected set; }

    /// <summary>What <c>ConnectionStrings__{name}</c> is for a resource with a connection string.</summary>
    public string? ConnectionString { get; protected set; }

    /// <summary>The HTTP endpoint for a resource with one.</summary>
    public Uri? Endpoint { get; protected set; }

    /// <summary>Ports taken up front (fixed by configuration) so a port held by another process refuses the start.</summary>
    public virtual IEnumerable<int> FixedPorts => [];

    /// <summary>Provisions and launches the resource; returns once it is running, not necessarily healthy.</summary>
    public abstract Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Null when healthy, else why not.</summary>
    public abstract Task<string?> CheckHealthAsync(CancellationToken cancellationToken);

    public virtual async Task StopAsync(TimeSpan timeout)
    {
        if (Process is not null)
        {
            await Process.StopAsync(timeout);
        }
    }

    /// <summary>Files to delete once everything stopped (per-run data).</summary>
    public virtual IEnumerable<string> TemporaryDirectories => [];

    protected void Log(string message) => Context.Log.Write(Resource.Name, message);
}
