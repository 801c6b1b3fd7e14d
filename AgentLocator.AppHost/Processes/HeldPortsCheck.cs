namespace AgentLocator.AppHost.Processes;

/// <summary>
/// Refuses to start when a fixed, unproxied port (the Api's, the MediaWorker's, a pinned server port) is already held,
/// naming the holder, before DCP launches anything. Aspire would start the graph anyway and the project would fail to
/// bind — or, worse, a stale AppHost's service would keep answering on the port with old code.
/// </summary>
public static class HeldPortsCheck
{
    public static IDistributedApplicationBuilder RefuseToStartOnHeldPorts(this IDistributedApplicationBuilder builder)
    {
        if (!builder.ExecutionContext.IsRunMode)
        {
            return builder;
        }

        builder.Eventing.Subscribe<BeforeStartEvent>((@event, _) =>
        {
            var problems = new List<string>();
            foreach (var resource in @event.Model.Resources)
            {
                foreach (var endpoint in resource.Annotations.OfType<EndpointAnnotation>().Where(e => !e.IsProxied && e.Port is > 0))
                {
                    var port = endpoint.Port!.Value;
                    if (PortOwners.FindHolders(port) is { } holders)
                    {
                        problems.Add(holders.Count == 0
                            ? $"port {port} ({resource.Name}) is already in use by a process this user cannot see"
                            : $"port {port} ({resource.Name}) is already in use by {string.Join(", ", holders)}");
                    }
                }
            }

            return problems.Count == 0
                ? Task.CompletedTask
                : throw new DistributedApplicationException(
                    "Refusing to start: " + string.Join("; ", problems)
                    + ". Stop that process or choose another port (--AppHost:ApiPort / --AppHost:MediaWorkerPort / --AppHost:WebPort).");
        });
        return builder;
    }
}
