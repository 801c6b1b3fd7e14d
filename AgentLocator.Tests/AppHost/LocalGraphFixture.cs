using AgentLocator.AppHost.Hosting;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.AppHost;

/// <summary>One graph (local Postgres and Redis, ephemeral data, random ports) shared by the tests that only look at it.</summary>
public sealed class LocalGraphFixture : IAsyncLifetime
{
    public DistributedApplication App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        App = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AgentLocator_AppHost>();
        try
        {
            await App.StartAsync(TimeSpan.FromMinutes(2));
        }
        catch
        {
            await App.DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }
    }
}
