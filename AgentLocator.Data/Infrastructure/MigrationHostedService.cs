using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Data.Infrastructure;

/// <summary>
/// Migrates at start-up without holding the service hostage: webhooks must answer even when
/// Postgres is down, so a failed attempt is logged and retried in the background until it works.
/// </summary>
internal sealed partial class MigrationHostedService(
    DatabaseMigrator migrator,
    DatabaseState state,
    IServiceScopeFactory scopes,
    ILogger<MigrationHostedService> logger)
    : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // First attempt inline, so a healthy deployment is migrated before it takes traffic.
        if (!await TryMigrateAsync(cancellationToken))
        {
            await base.StartAsync(cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(delay, stoppingToken);
            if (await TryMigrateAsync(stoppingToken))
            {
                return;
            }
            delay = TimeSpan.FromSeconds(Math.Min(delay.TotalSeconds * 2, 30));
        }
    }

    private async Task<bool> TryMigrateAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await migrator.MigrateAsync(timeout.Token);
            state.MarkMigrated();
            await WarmUpAsync(timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogMigrationFailed(logger, ex);
            return false;
        }
    }

    /// <summary>
    /// Builds the EF model and runs the hot-path queries once, so the first webhook after a deploy
    /// does not pay a second of model building inside Twilio's timeout, nor the first calls' reads of
    /// their business's settings (bounded at a second, or the call falls back to the intake).
    /// </summary>
    private async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<AgentLocator.Data.Calls.CallStore>();
        await store.FindBusinessByNumberAsync("+10000000000", cancellationToken);
        await store.FindCallAsync("CAwarmup", cancellationToken);
        await scope.ServiceProvider.GetRequiredService<AgentLocator.Data.Calls.ConversationStore>().FindProfileAsync(Guid.Empty, cancellationToken);
    }

    [LoggerMessage(EventId = 2002, EventName = "MIGRATION_FAILED", Level = LogLevel.Error, Message = "MIGRATION_FAILED will retry")]
    private static partial void LogMigrationFailed(ILogger logger, Exception exception);
}
