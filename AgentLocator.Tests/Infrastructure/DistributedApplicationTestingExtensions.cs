using AgentLocator.AppHost.Hosting;

namespace AgentLocator.Tests.Infrastructure;

/// <summary>What Aspire.Hosting.Testing adds to a started application: clients and endpoints per resource, a bounded start.</summary>
public static class DistributedApplicationTestingExtensions
{
    /// <summary>Starts the graph and waits until every resource is healthy, failing with the states and the log tail after <paramref name="timeout"/>.</summary>
    public static async Task StartAsync(this DistributedApplication app, TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await app.StartAsync(cancellation.Token);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"The graph was not healthy within {timeout.TotalSeconds:0} s:\n{States(app)}\n--- log tail ---\n{Tail(app)}");
        }
    }

    /// <summary>An HttpClient whose base address is the resource's HTTP endpoint.</summary>
    public static HttpClient CreateHttpClient(this DistributedApplication app, string resourceName) =>
        new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
        {
            BaseAddress = app.GetEndpoint(resourceName),
            Timeout = TimeSpan.FromSeconds(10),
        };

    public static string States(this DistributedApplication app) =>
        string.Join('\n', app.Snapshots.Select(s => $"  {s.Name}: {s.State} {s.Message}"));

    public static string Tail(this DistributedApplication app, int lines = 60) =>
        string.Join('\n', app.Log.Lines.TakeLast(lines).Select(l => $"[{l.Resource}] {l.Text}"));
}
