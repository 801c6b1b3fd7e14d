using System.Collections.Concurrent;
using System.Threading.Channels;
using AgentLocator.ServiceDefaults.Telemetry;
using Microsoft.Extensions.Options;

namespace AgentLocator.Api.Voice;

/// <summary>
/// Writes a webhook could not make because Postgres was down, or left for later because it was shed under load
/// (<see cref="AddShed"/>). The webhook has already answered Twilio and logged everything needed to rebuild the write
/// (<c>WEBHOOK_ERROR</c>; a shed write carries it in its description instead of a line per request);
/// these loops make the write as soon as the database is back, with backoff: the writes of one call (or message) in
/// order, those of different calls on <c>Voice:DeferredWriteConcurrency</c> loops at once (one write at a time waits on
/// a commit each, which left a burst of shed calls queueing at ~100 writes/s). Each one Postgres could not take is a
/// webhook error of kind <c>postgres</c> (counted, and alerted past the threshold). Nothing is given up
/// silently: a write pushed out of a full queue, or one that keeps failing for a reason other than the
/// database being unreachable, is logged (<c>DEFERRED_WRITE_DROPPED</c>), counted and alerted.
/// </summary>
public sealed partial class DeferredWrites : BackgroundService
{
    private const string QueueFull = "queue_full";
    private const string Failing = "failing";
    private const string Stopping = "stopping";

    private readonly IServiceScopeFactory _scopes;
    private readonly ServiceTelemetry _telemetry;
    private readonly ILogger<DeferredWrites> _logger;
    private readonly int _maxAttempts;
    private readonly Channel<DeferredWrite>[] _queues;
    private readonly ConcurrentDictionary<string, int> _pending = new(StringComparer.Ordinal);

    public DeferredWrites(IServiceScopeFactory scopes, ServiceTelemetry telemetry, IOptions<VoiceOptions> options, ILogger<DeferredWrites> logger)
    {
        _scopes = scopes;
        _telemetry = telemetry;
        _logger = logger;
        _maxAttempts = options.Value.DeferredWriteMaxAttempts;
        // The capacity shared evenly by the loops: memory stays bounded by Voice:DeferredWriteCapacity in all.
        var loops = options.Value.DeferredWriteConcurrency;
        var capacity = Math.Max(1, options.Value.DeferredWriteCapacity / loops);
        _queues = Enumerable.Range(0, loops).Select(_ => Channel.CreateBounded<DeferredWrite>(
                new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
                dropped => Drop(dropped, QueueFull, "the queue of writes waiting for the database is full")))
            .ToArray();
    }

    public int Count => _queues.Sum(queue => queue.Reader.Count);

    /// <summary>A write Postgres could not take now; <paramref name="key"/> (the CallSid, the MessageSid) keeps the writes of one call in order.</summary>
    public void Add(string key, string description, Func<IServiceProvider, CancellationToken, Task> write)
    {
        _telemetry.WebhookError("postgres", "postgres unreachable");
        Enqueue(new DeferredWrite(key, () => description, Shed: false, write));
    }

    /// <summary>
    /// A write of a webhook shed under load (<see cref="Webhooks.WebhookAdmission"/>): not a database error (the shed is counted
    /// and alerted as such); made in order with the call's other writes, at most <c>Voice:DeferredWriteConcurrency</c> at once.
    /// Its description is made only if it is logged (dropped, or waiting on a database that is down): a burst holds thousands.
    /// </summary>
    public void AddShed(string key, Func<string> describe, Func<IServiceProvider, CancellationToken, Task> write) =>
        Enqueue(new DeferredWrite(key, describe, Shed: true, write));

    /// <summary>Whether a write of <paramref name="key"/> (a CallSid) waits here or is being tried: its row may not be in Postgres yet.</summary>
    public bool HasPending(string key) => _pending.ContainsKey(key);

    private void Enqueue(DeferredWrite write)
    {
        _pending.AddOrUpdate(write.Key, 1, static (_, count) => count + 1);
        QueueOf(write.Key).Writer.TryWrite(write);
    }

    /// <summary>A write made or given up: its key is pending no more once its last write is.</summary>
    private void Done(DeferredWrite write)
    {
        _pending.AddOrUpdate(write.Key, 0, static (_, count) => count - 1);
        _pending.TryRemove(KeyValuePair.Create(write.Key, 0));
    }

    private Channel<DeferredWrite> QueueOf(string key) => _queues[(uint)StringComparer.Ordinal.GetHashCode(key) % (uint)_queues.Length];

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_queues.Select(queue => Task.Run(() => DrainAsync(queue, stoppingToken), CancellationToken.None)));

    private async Task DrainAsync(Channel<DeferredWrite> queue, CancellationToken stoppingToken)
    {
        try
        {
            // Taken off the queue before it is tried: the queue's capacity counts only writes still waiting.
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                while (queue.Reader.TryRead(out var item))
                {
                    await WriteAsync(item, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The process is stopping: what still waits is lost with it, and said so.
            while (queue.Reader.TryRead(out var item))
            {
                Drop(item, Stopping, "the service stopped before the database came back");
            }
        }
    }

    /// <summary>
    /// Tries one write until it is made. The database being down is what this queue waits out, for as long as it lasts;
    /// any other failure is tried <see cref="VoiceOptions.DeferredWriteMaxAttempts"/> times, then given up visibly, so one
    /// bad write does not hold every write behind it.
    /// </summary>
    private async Task WriteAsync(DeferredWrite item, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        var failures = 0;
        while (true)
        {
            Exception failure;
            try
            {
                await using var scope = _scopes.CreateAsyncScope();
                await item.Write(scope.ServiceProvider, stoppingToken);
                if (!item.Shed)
                {
                    // A shed write done is the normal case, hundreds a second in a burst: no line each.
                    LogRecovered(_logger, item.Description);
                }
                Done(item);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                Drop(item, Stopping, "the service stopped before the database came back");
                throw;
            }
            catch (Exception ex)
            {
                failure = ex;
            }

            if (!DatabaseFailures.IsUnreachable(failure, stoppingToken) && ++failures >= _maxAttempts)
            {
                Drop(item, Failing, $"failed {failures} times: {failure.GetType().Name}: {failure.Message}");
                return;
            }

            LogStillDown(_logger, item.Description, failure.Message);
            try
            {
                await Task.Delay(delay, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                Drop(item, Stopping, "the service stopped before the database came back");
                throw;
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 10_000));
        }
    }

    private void Drop(DeferredWrite write, string reason, string why)
    {
        Done(write);
        LogDropped(_logger, write.Description, reason, why);
        _telemetry.DeferredWriteDropped(reason, write.Description);
    }

    /// <summary>A write, the call or message it belongs to, how to describe it (made only when logged), and whether a shed webhook left it.</summary>
    private sealed record DeferredWrite(string Key, Func<string> Describe, bool Shed, Func<IServiceProvider, CancellationToken, Task> Write)
    {
        public string Description => Describe();
    }

    [LoggerMessage(EventId = 3111, EventName = "DEFERRED_WRITE_DONE", Level = LogLevel.Information,
        Message = "DEFERRED_WRITE_DONE {Description} written after the database came back")]
    private static partial void LogRecovered(ILogger logger, string description);

    [LoggerMessage(EventId = 3112, EventName = "DEFERRED_WRITE_PENDING", Level = LogLevel.Warning,
        Message = "DEFERRED_WRITE_PENDING {Description} still waiting for the database: {Error}")]
    private static partial void LogStillDown(ILogger logger, string description, string error);

    [LoggerMessage(EventId = 3113, EventName = "DEFERRED_WRITE_DROPPED", Level = LogLevel.Error,
        Message = "DEFERRED_WRITE_DROPPED {Description} given up ({Reason}): {Why}; rebuild it from its WEBHOOK_ERROR line")]
    private static partial void LogDropped(ILogger logger, string description, string reason, string why);
}
