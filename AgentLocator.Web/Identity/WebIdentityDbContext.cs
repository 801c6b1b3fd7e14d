using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Web.Identity;

/// <summary>
/// The web app's users, roles and invitations: ASP.NET Core Identity's tables in the AgentLocator database, in a
/// schema of their own (<c>web</c>) with their own migrations history, so they never mix with the Api's.
/// </summary>
public sealed class WebIdentityDbContext(DbContextOptions<WebIdentityDbContext> options) : IdentityDbContext<IdentityUser>(options)
{
    public const string Schema = "web";
    public const string MigrationsHistoryTable = "__web_migrations_history";

    public DbSet<Invitation> Invitations => Set<Invitation>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.HasDefaultSchema(Schema);
        builder.Entity<Invitation>(invitation =>
        {
            invitation.ToTable("invitations");
            invitation.Property(i => i.Email).HasMaxLength(256);
            invitation.Property(i => i.TokenHash).HasMaxLength(64);
            invitation.HasIndex(i => i.TokenHash).IsUnique();
            invitation.HasIndex(i => i.BusinessId);
        });
    }
}
