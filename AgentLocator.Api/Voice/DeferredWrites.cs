using System.Threading.Channels;
using AgentLocator.ServiceDefaults.Telemetry;

namespace AgentLocator.Api.Voice;

/// <summary>
/// Writes a webhook could not make because Postgres was down. The webhook has already
/// answered Twilio and logged everything needed to rebuild the write (<c>WEBHOOK_ERROR</c>);
/// this loop makes the write as soon as the database is back, in order, with backoff. Each one is a
/// webhook error of kind <c>postgres</c> (counted, and alerted past the threshold).
/// </summary>
public sealed partial class DeferredWrites(IServiceScopeFactory scopes, ServiceTelemetry telemetry, ILogger<DeferredWrites> logger) : BackgroundService
{
    private readonly Channel<DeferredWrite> _pending = Channel.CreateBounded<DeferredWrite>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest });

    public int Count => _pending.Reader.Count;

    public void Add(string description, Func<IServiceProvider, CancellationToken, Task> write)
    {
        telemetry.WebhookError("postgres", "postgres unreachable");
        _pending.Writer.TryWrite(new DeferredWrite(description, write));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        while (await _pending.Reader.WaitToReadAsync(stoppingToken))
        {
            if (!_pending.Reader.TryPeek(out var item))
            {
                continue;
            }
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await item.Write(scope.ServiceProvider, stoppingToken);
                _pending.Reader.TryRead(out _);
                LogRecovered(logger, item.Description);
                delay = TimeSpan.FromMilliseconds(250);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogStillDown(logger, item.Description, ex.Message);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 10_000));
            }
        }
    }

    private sealed record DeferredWrite(string Description, Func<IServiceProvider, CancellationToken, Task> Write);

    [LoggerMessage(EventId = 3111, EventName = "DEFERRED_WRITE_DONE", Level = LogLevel.Information,
        Message = "DEFERRED_WRITE_DONE {Description} written after the database came back")]
    private static partial void LogRecovered(ILogger logger, string description);

    [LoggerMessage(EventId = 3112, EventName = "DEFERRED_WRITE_PENDING", Level = LogLevel.Warning,
        Message = "DEFERRED_WRITE_PENDING {Description} still waiting for the database: {Error}")]
    private static partial void LogStillDown(ILogger logger, string description, string error);
}
