namespace AgentLocator.AppHost.Hosting;

/// <summary>The graph could not start (a port is taken, a resource failed) — the message says which and why.</summary>
public sealed class DistributedApplicationException(string message, Exception? innerException = null)
    : Exception(message, innerException);
