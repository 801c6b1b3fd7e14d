using AgentLocator.AppHost.Hosting;
using AgentLocator.AppHost.Orchestration;
using AgentLocator.AppHost.Processes;

namespace AgentLocator.AppHost.Redis;

/// <summary>
/// Provides Redis: the given connection string (external), a private <c>redis-server</c> (local), or Garnet (embedded).
/// Redis holds only what may be lost, so the private servers keep nothing on disk.
/// </summary>
internal sealed class RedisLifecycle(AppHostContext context, RedisResource resource) : ResourceLifecycle(context)
{
    public override Resource Resource => resource;

    private string? ExternalConnectionString =>
        Context.Configuration[$"ConnectionStrings:{resource.ConnectionStringName}"] is { Length: > 0 } value ? value : null;

    public override IEnumerable<int> FixedPorts =>
        Context.Options.RedisPort > 0 && ResolveMode() != ProvisioningMode.External ? [Context.Options.RedisPort] : [];

    public ProvisioningMode ResolveMode() => Context.Options.RedisMode switch
    {
        ProvisioningMode.Auto when ExternalConnectionString is not null => ProvisioningMode.External,
        ProvisioningMode.Auto => FindRedisServer() is not null ? ProvisioningMode.Local : ProvisioningMode.Embedded,
        var forced => forced,
    };

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var mode = ResolveMode();
        Mode = mode.ToString().ToLowerInvariant();
        if (mode == ProvisioningMode.External)
        {
            ConnectionString = ExternalConnectionString ?? throw new InvalidOperationException(
                $"AppHost:Redis:Mode is external but no connection string was given: set ConnectionStrings__{resource.ConnectionStringName}.");
            Log($"Using the given connection string ({RedisConnectionString.Redact(ConnectionString)})");
            return;
        }

        var port = Context.Options.RedisPort > 0 ? Context.Options.RedisPort : PortOwners.GetFreePort();
        ChildProcessSpec spec;
        if (mode == ProvisioningMode.Local)
        {
            var server = FindRedisServer() ?? throw new InvalidOperationException(
                "AppHost:Redis:Mode is local but redis-server is not on PATH (apt-get install redis-server).");
            spec = new ChildProcessSpec(server,
                ["--port", $"{port}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"]);
            Log($"Starting redis-server ({server}) on 127.0.0.1:{port}");
        }
        else
        {
            var garnet = await GarnetTool.ResolveAsync(Context, resource.Name, cancellationToken);
            spec = new ChildProcessSpec(DotnetHost.Path, [garnet, "--port", $"{port}", "--bind", "127.0.0.1", "--memory", "256m", "--index", "16m"]);
            Log($"Starting Garnet ({garnet}) on 127.0.0.1:{port}");
        }

        Process = await ChildProcess.StartAsync(resource.Name, spec with { WorkingDirectory = Context.Options.DataDirectory }, Context.Log);
        ConnectionString = $"127.0.0.1:{port}";
    }

    public override Task<string?> CheckHealthAsync(CancellationToken cancellationToken) =>
        RespPing.CheckAsync(RedisConnectionString.Parse(ConnectionString!), cancellationToken);

    private static string? FindRedisServer() =>
        (Environment.GetEnvironmentVariable("PATH")?.Split(':', StringSplitOptions.RemoveEmptyEntries) ?? [])
        .Select(d => Path.Combine(d, "redis-server"))
        .FirstOrDefault(File.Exists);
}
