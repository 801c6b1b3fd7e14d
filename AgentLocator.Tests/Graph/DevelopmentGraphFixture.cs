using AgentLocator.AppHost.Hosting;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.Graph;

/// <summary>The whole graph as a developer runs it (Development: signatures not validated, ws:// stream), with a CRM key.</summary>
public sealed class DevelopmentGraphFixture : IAsyncLifetime
{
    public DistributedApplication App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var configuration = new Dictionary<string, string?>(GraphSmoke.ApiSettings)
        {
            ["AppHost:Environment"] = "Development",
            ["AppHost:Resources:api:Env:Crm__ApiKeys__0"] = GraphSmoke.ApiKey,
        };
        App = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AgentLocator_AppHost>(configuration);
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
