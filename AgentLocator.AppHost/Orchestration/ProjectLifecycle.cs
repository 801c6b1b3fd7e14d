using System.Net;
using AgentLocator.AppHost.Hosting;
using AgentLocator.AppHost.Processes;

namespace AgentLocator.AppHost.Orchestration;

/// <summary>
/// A .NET project: built once with <c>dotnet build</c>, then run as <c>dotnet &lt;dll&gt;</c> (no <c>dotnet run</c>, so no
/// second build) with Aspire's environment: connection strings, service endpoints, OTEL_*, build metadata.
/// </summary>
internal sealed class ProjectLifecycle(AppHostContext context, ProjectResource resource) : ResourceLifecycle(context)
{
    private string? _assemblyPath;

    public override Resource Resource => resource;

    public int Port { get; private set; }

    public override IEnumerable<int> FixedPorts => resource.Port > 0 ? [resource.Port] : [];

    public string ProjectDirectory => Path.GetDirectoryName(resource.ProjectPath)!;

    public string AssemblyPath => Path.Combine(
        ProjectDirectory, "bin", Context.Options.BuildConfiguration, $"net{Environment.Version.Major}.0",
        Path.GetFileNameWithoutExtension(resource.ProjectPath) + ".dll");

    /// <summary>Fixes the port before anything starts, so every resource's environment can name every endpoint.</summary>
    public void AssignPort()
    {
        Port = resource.Port > 0 ? resource.Port : PortOwners.GetFreePort();
        Endpoint = new Uri($"http://localhost:{Port}");
        Mode = "project";
    }

    /// <summary>Builds the project (unless <c>AppHost:Build=false</c>), before its dependencies are even healthy.</summary>
    public async Task BuildAsync(CancellationToken cancellationToken)
    {
        if (Context.Options.Build)
        {
            Log($"dotnet build {Path.GetFileName(resource.ProjectPath)} -c {Context.Options.BuildConfiguration}");
            var (exitCode, output) = await Context.RunToolAsync(
                resource.Name, DotnetHost.Path,
                ["build", resource.ProjectPath, "-c", Context.Options.BuildConfiguration, "--nologo", "-v", "q", "-clp:NoSummary"],
                cancellationToken, workingDirectory: Context.Options.RepositoryRoot);
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"dotnet build {resource.ProjectPath} failed (exit {exitCode}): {Postgres.PostgresServerLifecycle.LastLines(output)}");
            }
        }

        _assemblyPath = File.Exists(AssemblyPath)
            ? AssemblyPath
            : throw new InvalidOperationException($"{AssemblyPath} does not exist; build the solution first (or leave AppHost:Build on).");
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var assembly = _assemblyPath ?? throw new InvalidOperationException("The project was not built.");
        var environment = BuildEnvironment();
        Log($"Starting {Path.GetFileName(assembly)} on {Endpoint}");
        Process = await ChildProcess.StartAsync(resource.Name, new ChildProcessSpec(DotnetHost.Path, [assembly])
        {
            WorkingDirectory = ProjectDirectory,
            Environment = environment,
        }, Context.Log);
    }

    /// <summary>The environment Aspire would give the project, plus build metadata and the AppHost's pid.</summary>
    public Dictionary<string, string?> BuildEnvironment()
    {
        var options = Context.Options;
        var metadata = Context.Metadata;
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_URLS"] = Endpoint!.ToString().TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = options.Environment,
            ["DOTNET_ENVIRONMENT"] = options.Environment,
            ["OTEL_SERVICE_NAME"] = resource.Name,
            ["OTEL_RESOURCE_ATTRIBUTES"] =
                $"service.version={metadata.Commit},deployment.environment={options.Environment.ToLowerInvariant()},service.instance.id={resource.Name}-{metadata.DeployId}",
            // Only what the AppHost was given: a child must not inherit an exporter nobody asked for.
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = options.OtlpEndpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = options.OtlpEndpoint is null ? null : options.OtlpProtocol,
            ["PublicBaseUrl"] = PublicBaseUrl(),
            ["MediaStreamUrl"] = MediaStreamUrl(),
            ["GIT_COMMIT"] = metadata.Commit,
            ["BUILD_TIME"] = metadata.BuildTime,
            ["DEPLOY_ID"] = metadata.DeployId,
            ["AGENTLOCATOR_PARENT_PID"] = $"{Environment.ProcessId}",
            // Api and MediaWorker share the audio storage and the key of the per-call stream tokens.
            ["Storage__Directory"] = Environment.GetEnvironmentVariable("Storage__Directory") ?? Path.Combine(options.DataDirectory, "storage"),
            ["MediaStream__TokenSecret"] = Environment.GetEnvironmentVariable("MediaStream__TokenSecret") ?? SharedSecret(options.DataDirectory),
        };

        foreach (var reference in resource.References)
        {
            var lifecycle = Context.LifecycleOf(reference);
            if (reference is IResourceWithConnectionString withConnectionString && lifecycle.ConnectionString is { } connectionString)
            {
                environment[$"ConnectionStrings__{withConnectionString.ConnectionStringName}"] = connectionString;
            }

            if (reference is IResourceWithEndpoint && lifecycle.Endpoint is { } endpoint)
            {
                environment[$"services__{reference.Name}__http__0"] = endpoint.ToString().TrimEnd('/');
            }
        }

        foreach (var (key, value) in resource.Environment)
        {
            environment[key] = value;
        }

        // AppHost:Resources:<name>:Env:<KEY> — per-resource settings given to the AppHost (appsettings.json, env, command line).
        foreach (var setting in Context.Configuration.GetSection($"AppHost:Resources:{resource.Name}:Env").GetChildren())
        {
            environment[setting.Key] = setting.Value;
        }

        return environment;
    }

    private static readonly Lock SecretGate = new();

    /// <summary>A random secret kept with the data, so every run (and every replica) signs stream tokens alike.</summary>
    private static string SharedSecret(string dataDirectory)
    {
        lock (SecretGate)
        {
            var path = Path.Combine(dataDirectory, "media-stream-token.secret");
            if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: >= 32 } existing)
            {
                return existing;
            }
            Directory.CreateDirectory(dataDirectory);
            var secret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            File.WriteAllText(path, secret);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            return secret;
        }
    }

    public override async Task<string?> CheckHealthAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var health = await Context.Http.GetAsync(new Uri(Endpoint!, "/health"), cancellationToken);
            if (health.StatusCode != HttpStatusCode.OK)
            {
                return $"GET /health answered {(int)health.StatusCode}";
            }

            // /readyz is optional: a service that does not serve it (404) is judged by /health alone.
            using var ready = await Context.Http.GetAsync(new Uri(Endpoint!, "/readyz"), cancellationToken);
            return ready.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound
                ? null
                : $"GET /readyz answered {(int)ready.StatusCode}: {Truncate(await ready.Content.ReadAsStringAsync(cancellationToken))}";
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return exception.Message;
        }
    }

    private string PublicBaseUrl() =>
        Context.Options.PublicBaseUrl ?? (ProjectNamed("api")?.Endpoint ?? Endpoint!).ToString().TrimEnd('/');

    private string? MediaStreamUrl()
    {
        if (Context.Options.MediaStreamUrl is { } configured)
        {
            return configured;
        }

        if (ProjectNamed("mediaworker") is not { } mediaworker)
        {
            return null;
        }

        var publicBase = new Uri(PublicBaseUrl());
        var scheme = publicBase.Scheme == Uri.UriSchemeHttps ? "wss" : "ws";
        return $"{scheme}://{publicBase.Host}:{mediaworker.Port}/ws/twilio-media";
    }

    private ProjectLifecycle? ProjectNamed(string name) =>
        Context.Lifecycles.Values.OfType<ProjectLifecycle>().FirstOrDefault(p => p.Resource.Name == name);

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
