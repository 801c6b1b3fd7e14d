namespace AgentLocator.AppHost.Redis;

/// <summary>What runs a <see cref="RedisExecutableResource"/>: the installed <c>redis-server</c>, or Garnet (needs only the .NET SDK).</summary>
public sealed record RedisBinaries(string Command, string WorkingDirectory, bool IsGarnet)
{
    /// <summary><c>redis-server</c> on PATH; null if none.</summary>
    public static RedisBinaries? FindLocal() =>
        FindLocalServer() is { } server ? new RedisBinaries(server, Path.GetDirectoryName(server)!, IsGarnet: false) : null;

    public static string? FindLocalServer() =>
        (Environment.GetEnvironmentVariable("PATH")?.Split(':', StringSplitOptions.RemoveEmptyEntries) ?? [])
            .Select(directory => Path.Combine(directory, "redis-server"))
            .FirstOrDefault(File.Exists);

    /// <summary>Garnet, the <c>garnet-server</c> tool of the manifest in <paramref name="manifestDirectory"/>, run as <c>dotnet GarnetServer.dll</c>.</summary>
    public static RedisBinaries Garnet(string manifestDirectory) => new(GarnetTool.DotnetHost, manifestDirectory, IsGarnet: true);
}
