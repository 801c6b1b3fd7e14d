using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Data.Infrastructure;

/// <summary>Whether this process has seen the schema migrated, and the readiness test built on it.</summary>
public sealed class DatabaseState
{
    private volatile bool _migrated;

    public bool Migrated => _migrated;

    public void MarkMigrated() => _migrated = true;

    /// <summary>
    /// The <c>postgres</c> readiness test: the database answers and the schema is migrated. A failure
    /// throws with the reason, which the health report shows (<c>/readyz</c>).
    /// </summary>
    public async Task<bool> IsReadyAsync(AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        if (!await db.Database.CanConnectAsync(cancellationToken))
        {
            throw new InvalidOperationException("postgres unreachable");
        }
        return Migrated ? true : throw new InvalidOperationException("postgres reachable but migrations not applied yet");
    }
}
