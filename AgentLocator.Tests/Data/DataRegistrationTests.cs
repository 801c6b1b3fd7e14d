using System.Diagnostics;
using AgentLocator.AppHost.Processes;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Infrastructure;
using AgentLocator.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AgentLocator.Tests.Data;

/// <summary>The database as the services register it (<c>AddAgentLocatorData</c>: Aspire's EF Core integration).</summary>
public sealed class DataRegistrationTests
{
    [Fact]
    public async Task AnUnreachableDatabaseIsRetriedBrieflyThenReportedNotWaitedOnForAMinute()
    {
        var deadPort = PortOwners.GetFreePort();
        await using var api = ApiTestHost.Create($"Host=127.0.0.1;Port={deadPort};Database=none;Username=x;Timeout=1");
        api.CreateClient().Dispose();
        await using var scope = api.Services.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<CallStore>();

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RetryLimitExceededException>(() => store.FindCallAsync("CA" + Guid.NewGuid().ToString("N"), CancellationToken.None));

        // Retried (the strategy waited between attempts), then given up well inside what a caller can wait;
        // Aspire's default policy (6 retries up to 30 s apart) would take over a minute.
        Assert.IsAssignableFrom<NpgsqlException>(error.InnerException);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(15));
    }

    [Theory]
    [InlineData("", true, 3)]
    [InlineData(";No Reset On Close=false;Timeout=7", false, 7)]
    public async Task PooledConnectionsFailFastAndAreNotResetUnlessTheConnectionStringSaysOtherwise(string extra, bool noReset, int timeout)
    {
        await using var api = ApiTestHost.Create($"Host=127.0.0.1;Port={PortOwners.GetFreePort()};Database=none;Username=x{extra}");
        api.CreateClient().Dispose();
        await using var scope = api.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentLocatorDbContext>();

        var settings = new NpgsqlConnectionStringBuilder(db.Database.GetConnectionString());
        Assert.Equal(noReset, settings.NoResetOnClose);
        Assert.Equal(timeout, settings.Timeout);
    }
}
