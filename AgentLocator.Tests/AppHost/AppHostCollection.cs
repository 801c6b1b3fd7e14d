namespace AgentLocator.Tests.AppHost;

/// <summary>
/// Every AppHost test starts real servers and two .NET services; on a 2-core machine they run one at a time,
/// after the parallel tests, so health timeouts measure the AppHost and not CPU contention.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AppHostCollection
{
    public const string Name = "AppHost";
}
