using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace AgentLocator.Data.Infrastructure;

/// <summary>
/// How <c>dotnet ef</c> builds the context at design time (<c>dotnet ef migrations add Name --project AgentLocator.Data</c>).
/// Adding a migration needs no server; commands that touch one (<c>database update</c>, <c>migrations script --idempotent</c>
/// does not) use <c>ConnectionStrings__agentlocator</c>.
/// </summary>
public sealed class AgentLocatorDbContextFactory : IDesignTimeDbContextFactory<AgentLocatorDbContext>
{
    public AgentLocatorDbContext CreateDbContext(string[] args)
    {
        var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__agentlocator")
            ?? "Host=localhost;Database=agentlocator;Username=postgres";
        return new AgentLocatorDbContext(new DbContextOptionsBuilder<AgentLocatorDbContext>().UseNpgsql(connectionString).Options);
    }
}
