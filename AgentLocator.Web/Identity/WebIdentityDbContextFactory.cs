using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace AgentLocator.Web.Identity;

/// <summary>How <c>dotnet ef migrations add Name --project AgentLocator.Web</c> builds the context (no server needed).</summary>
public sealed class WebIdentityDbContextFactory : IDesignTimeDbContextFactory<WebIdentityDbContext>
{
    public WebIdentityDbContext CreateDbContext(string[] args)
    {
        var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__agentlocator")
            ?? "Host=localhost;Database=agentlocator;Username=postgres";
        return new WebIdentityDbContext(new DbContextOptionsBuilder<WebIdentityDbContext>()
            .UseNpgsql(connectionString, npgsql => npgsql.MigrationsHistoryTable(WebIdentityDbContext.MigrationsHistoryTable, WebIdentityDbContext.Schema))
            .Options);
    }
}
