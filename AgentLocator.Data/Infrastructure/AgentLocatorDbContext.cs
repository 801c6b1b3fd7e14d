using AgentLocator.Data.Model;
using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Data.Infrastructure;

public class AgentLocatorDbContext(DbContextOptions<AgentLocatorDbContext> options) : DbContext(options)
{
    public DbSet<Business> Businesses => Set<Business>();

    public DbSet<BusinessPhoneNumber> BusinessPhoneNumbers => Set<BusinessPhoneNumber>();

    public DbSet<Customer> Customers => Set<Customer>();

    public DbSet<Call> Calls => Set<Call>();

    public DbSet<Recording> Recordings => Set<Recording>();

    public DbSet<Utterance> Utterances => Set<Utterance>();

    public DbSet<TranscriptTurn> TranscriptTurns => Set<TranscriptTurn>();

    public DbSet<Message> Messages => Set<Message>();

    public DbSet<Job> Jobs => Set<Job>();

    /// <summary>Clock for created/updated stamps; tests may replace it.</summary>
    public TimeProvider Clock { get; set; } = TimeProvider.System;

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(AgentLocatorDbContext).Assembly);
        SnakeCaseNaming.Apply(modelBuilder);
    }

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        StampTimes();
        return base.SaveChanges(acceptAllChangesOnSuccess);
    }

    public override Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        StampTimes();
        return base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    private void StampTimes()
    {
        var now = Clock.GetUtcNow();
        foreach (var entry in ChangeTracker.Entries())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified))
            {
                continue;
            }
            if (entry.Metadata.FindProperty("UpdatedAt") is not null)
            {
                entry.Property("UpdatedAt").CurrentValue = now;
            }
            if (entry.State == EntityState.Added && entry.Metadata.FindProperty("CreatedAt") is { } created
                && entry.Property(created.Name).CurrentValue is DateTimeOffset value && value == default)
            {
                entry.Property(created.Name).CurrentValue = now;
            }
        }
    }
}
