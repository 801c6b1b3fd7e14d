using AgentLocator.Tests.AppHost;
using Aspire.Hosting;

namespace AgentLocator.Tests.Graph;

/// <summary>
/// The whole graph as a developer runs it (Development: signatures not validated, ws:// stream), with a CRM key and the
/// Aspire dashboard, whose telemetry API (key pinned by <c>AppHost:DashboardApiKey</c>) shows what the services exported.
/// </summary>
public sealed class DevelopmentGraphFixture : IAsyncLifetime
{
    public const string DashboardApiKey = "graph-dashboard-telemetry-key-0123456789";

    public DistributedApplication App { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>(GraphSmoke.ApiSettings)
        {
            ["AppHost:Environment"] = "Development",
            ["AppHost:Resources:api:Env:Crm__ApiKeys__0"] = GraphSmoke.ApiKey,
            ["AppHost:DashboardApiKey"] = DashboardApiKey,
        };
        foreach (var (key, value) in GraphSmoke.CommandBudgets)
        {
            settings[key] = value;
        }

        App = await AgentLocatorGraph.StartAsync(settings, dashboard: true);
    }

    public async Task DisposeAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }
    }
}
