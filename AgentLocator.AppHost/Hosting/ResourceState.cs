namespace AgentLocator.AppHost.Hosting;

/// <summary>Lifecycle states, named as Aspire's <c>KnownResourceStates</c> name them.</summary>
public enum ResourceState
{
    NotStarted,
    Waiting,
    Starting,
    Running,
    Healthy,
    Stopping,
    Exited,
    FailedToStart,
}
