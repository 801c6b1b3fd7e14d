namespace AgentLocator.AppHost.Hosting;

/// <summary>What the AppHost knows about one resource at one moment.</summary>
public sealed record ResourceSnapshot(
    string Name,
    ResourceState State,
    string? Message = null,
    int? ProcessId = null,
    Uri? Endpoint = null,
    string? Mode = null,
    int? ExitCode = null);
