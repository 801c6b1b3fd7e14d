namespace AgentLocator.MediaWorker;

/// <summary>Names this assembly for <c>WebApplicationFactory</c> (both services have a top-level <c>Program</c>).</summary>
public sealed class MediaWorkerEntryPoint;
