namespace AgentLocator.AppHost.Hosting;

/// <summary>
/// Lets a test run the AppHost's own <c>Program</c> in-process: configuration given here overrides the command line,
/// and <see cref="DistributedApplication.Run"/> hands the built application to <see cref="Captured"/> instead of running it.
/// Scoped to the calling async flow, so tests running in parallel do not see each other's hook.
/// </summary>
public sealed class DistributedApplicationTestingHook
{
    private static readonly AsyncLocal<DistributedApplicationTestingHook?> CurrentHook = new();

    public static DistributedApplicationTestingHook? Current
    {
        get => CurrentHook.Value;
        set => CurrentHook.Value = value;
    }

    public Dictionary<string, string?> Configuration { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The log the application writes to (console off by default, so test output stays readable).</summary>
    public ResourceLog Log { get; } = new() { WriteToConsole = false };

    public DistributedApplication? Captured { get; internal set; }
}
