using Aspire.Hosting;

namespace AgentLocator.Tests.AppHost;

/// <summary>One graph (installed Postgres and Redis, ephemeral data, free ports) shared by the tests that only look at it.</summary>
public sealed class LocalGraphFixture : IAsyncLifetime
{
    public DistributedApplication App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await AgentLocatorGraph.StartAsync();

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }
    }
}
