using System.Collections.Concurrent;
using AgentLocator.AppHost.Orchestration;
using Microsoft.Extensions.Configuration;

namespace AgentLocator.AppHost.Hosting;

/// <summary>
/// The built graph: starts each resource once what it waits for is healthy, reports Aspire's resource states,
/// and stops everything it started, in reverse order.
/// </summary>
public sealed partial class DistributedApplication : IAsyncDisposable
{
    private readonly DistributedApplicationTestingHook? _testingHook;
    private readonly AppHostContext _context;
    private readonly ConcurrentDictionary<string, ResourceSnapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly List<ResourceLifecycle> _startOrder = [];
    private readonly CancellationTokenSource _lifetime = new();
    private readonly SemaphoreSlim _stopGate = new(1, 1);
    private readonly Lock _stateLock = new();
    private Task? _startTask;
    private bool _stopping;
    private bool _stopped;
    private bool _allHealthy;

    internal DistributedApplication(
        IResource[] resources, AppHostOptions options, IConfiguration configuration, ResourceLog log, DistributedApplicationTestingHook? testingHook)
    {
        Resources = resources;
        Options = options;
        Log = log;
        _testingHook = testingHook;
        Metadata = BuildMetadata.Create(options.RepositoryRoot, DateTimeOffset.UtcNow);
        _context = new AppHostContext(options, configuration, log, Metadata);
        foreach (var resource in resources)
        {
            _context.Lifecycles[resource] = resource switch
            {
                PostgresServerResource postgres => new Postgres.PostgresServerLifecycle(_context, postgres),
                PostgresDatabaseResource database => new Postgres.PostgresDatabaseLifecycle(_context, database),
                RedisResource redis => new Redis.RedisLifecycle(_context, redis),
                ProjectResource project => new ProjectLifecycle(_context, project),
                _ => throw new NotSupportedException($"No lifecycle for resource type {resource.GetType().Name}."),
            };
            _snapshots[resource.Name] = new ResourceSnapshot(resource.Name, ResourceState.NotStarted);
        }
    }

    /// <summary>Aspire's entry point: <c>DistributedApplication.CreateBuilder(args)</c>.</summary>
    public static DistributedApplicationBuilder CreateBuilder(string[] args) => new(args);

    public IReadOnlyList<IResource> Resources { get; }

    public AppHostOptions Options { get; }

    /// <summary>The commit, build time and deploy id handed to every project.</summary>
    public BuildMetadata Metadata { get; }

    public ResourceLog Log { get; }

    /// <summary><c>&lt;DataDir&gt;/apphost.pids.json</c>: the AppHost's and every child's pid and state.</summary>
    public string PidFilePath => Path.Combine(Options.DataDirectory, "apphost.pids.json");

    public IReadOnlyList<ResourceSnapshot> Snapshots => Resources.Select(r => _snapshots[r.Name]).ToArray();

    public event Action<ResourceSnapshot>? ResourceChanged;

    public ResourceSnapshot GetResource(string name) =>
        _snapshots.TryGetValue(name, out var snapshot) ? snapshot : throw new ArgumentException($"No resource named '{name}'.", nameof(name));

    /// <summary>The HTTP endpoint of a project (known once <see cref="StartAsync"/> has begun).</summary>
    public Uri GetEndpoint(string name) =>
        LifecycleNamed(name).Endpoint ?? throw new InvalidOperationException($"'{name}' has no endpoint (yet).");

    /// <summary>The connection string a referencing project receives as <c>ConnectionStrings__{name}</c>.</summary>
    public string? GetConnectionString(string name) => LifecycleNamed(name).ConnectionString;

    /// <summary>The environment a project is (or would be) started with.</summary>
    public IReadOnlyDictionary<string, string?> GetEnvironment(string name) =>
        LifecycleNamed(name) is ProjectLifecycle project
            ? project.BuildEnvironment()
            : throw new ArgumentException($"'{name}' is not a project.", nameof(name));

    /// <summary>Completes when the resource's snapshot satisfies <paramref name="predicate"/>.</summary>
    public async Task<ResourceSnapshot> WaitForResourceAsync(string name, Func<ResourceSnapshot, bool> predicate, CancellationToken cancellationToken)
    {
        var reached = new TaskCompletionSource<ResourceSnapshot>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(ResourceSnapshot snapshot)
        {
            if (snapshot.Name == name && predicate(snapshot))
            {
                reached.TrySetResult(snapshot);
            }
        }

        ResourceChanged += OnChanged;
        try
        {
            OnChanged(GetResource(name));
            return await reached.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            ResourceChanged -= OnChanged;
        }
    }

    /// <summary>Runs until Ctrl+C or SIGTERM, then stops everything; exit code 1 if the graph could not start.</summary>
    public void Run() => RunAsync().GetAwaiter().GetResult();

    public ValueTask DisposeAsync() => new(StopAsync());

    private ResourceLifecycle LifecycleNamed(string name) =>
        _context.Lifecycles.Values.FirstOrDefault(l => l.Resource.Name == name)
        ?? throw new ArgumentException($"No resource named '{name}'.", nameof(name));

    private void SetState(ResourceLifecycle lifecycle, ResourceState state, string? message = null, int? exitCode = null)
    {
        ResourceSnapshot snapshot;
        lock (_stateLock)
        {
            snapshot = new ResourceSnapshot(
                lifecycle.Resource.Name, state, message, lifecycle.Process?.Id, lifecycle.Endpoint, lifecycle.Mode,
                exitCode ?? _snapshots[lifecycle.Resource.Name].ExitCode);
            _snapshots[lifecycle.Resource.Name] = snapshot;
        }

        Log.Write(ResourceLog.AppHostName, $"{snapshot.Name}: {state}{(message is null ? "" : $" — {message}")}", isError: state == ResourceState.FailedToStart);
        WritePidFile();
        ResourceChanged?.Invoke(snapshot);
    }
}
