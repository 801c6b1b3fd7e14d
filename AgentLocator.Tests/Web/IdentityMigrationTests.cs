using AgentLocator.Web.Identity;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Tests.Web;

public sealed class IdentityMigrationTests
{
    [Fact]
    public void TheIdentityModelHasNoChangeThatNoMigrationCovers()
    {
        // Fails when someone changes the web app's Identity model without `dotnet ef migrations add --project AgentLocator.Web`
        // (the web app no longer diffs the model at every start).
        using var db = new WebIdentityDbContextFactory().CreateDbContext([]);
        Assert.False(db.Database.HasPendingModelChanges(), "the Identity model differs from the last migration's snapshot: add a migration");
    }
}
