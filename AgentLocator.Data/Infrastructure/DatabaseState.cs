using Microsoft.EntityFrameworkCore;

namespace AgentLocator.Data.Infrastructure;

/// <summary>Whether this process has seen the schema migrated, and the readiness test built on it.</summary>
public sealed class DatabaseState
{
    private volatile bool _migrated;

    public bool Migrated => _migrated;

    public void MarkMigrated() => _migrated = true;

    /// <summary>How long readiness waits for the database, retries of the execution strategy included.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The <c>postgres</c> readiness test: the database answers within <see cref="ProbeTimeout"/> and the
    /// schema is migrated. A failure throws with the reason, which the health report shows (<c>/readyz</c>).
    /// </summary>
    public async Task<bool> IsReadyAsync(AgentLocatorDbContext db, CancellationToken cancellationToken)
    {
        using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        probe.CancelAfter(ProbeTimeout);
        bool reachable;
        try
        {
            reachable = await db.Database.CanConnectAsync(probe.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            reachable = false;
        }
        if (!reachable)
        {
            throw new InvalidOperationException($"postgres unreachable (no answer within {ProbeTimeout.TotalSeconds:0} s)");
        }
        return Migrated ? true : throw new InvalidOperationException("postgres reachable but migrations not applied yet");
    }
}
