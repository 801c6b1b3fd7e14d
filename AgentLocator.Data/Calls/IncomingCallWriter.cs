using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AgentLocator.Data.Calls;

/// <summary>
/// Group commit for the <c>incoming_call</c> webhook's call rows: the rows of concurrent webhooks go to Postgres
/// together, in one round trip and one transaction (<see cref="CallStore.RecordIncomingAsync(IReadOnlyList{IncomingCall}, CancellationToken)"/>),
/// and each webhook gets its own call back. A batch is whatever queued while the previous one ran, so a lone call
/// waits for nothing and a burst shares the work: Postgres spends far less per call in a batch than one
/// statement and commit at a time, and it shares the machine with everything else.
/// </summary>
/// <remarks>
/// A statement Postgres refuses (a constraint, a business deleted meanwhile) would fail the whole batch, so a
/// refused batch is written again one call at a time and only that call fails. A batch that cannot reach Postgres
/// fails every call in it; the webhooks then answer from what they know and write later, as when they time out.
/// A webhook that stopped waiting (its database budget) still has its row written, and writing it again later
/// is a no-op.
/// </remarks>
public sealed partial class IncomingCallWriter(IServiceScopeFactory scopes, ILogger<IncomingCallWriter> logger, IMeterFactory meters)
    : BackgroundService
{
    /// <summary>Calls per round trip at most.</summary>
    public const int MaxBatch = 64;

    /// <summary>Batches in flight at once (connections used): one per core here, so Postgres works on both.</summary>
    public const int Writers = 2;

    /// <summary>Calls waiting at most; past it Postgres is not keeping up and a webhook is told so at once.</summary>
    public const int MaxQueued = 4096;

    private readonly Channel<Pending> _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(MaxQueued)
    {
        FullMode = BoundedChannelFullMode.Wait,
    });

    private volatile bool _stopped;

    private readonly Histogram<int> _batchSize = meters.Create("AgentLocator.Data").CreateHistogram<int>(
        "agentlocator.calls.write_batch", "{call}", "Incoming calls written to Postgres per round trip.");

    private readonly Counter<long> _failed = meters.Create("AgentLocator.Data").CreateCounter<long>(
        "agentlocator.calls.write_failures", "{call}", "Incoming calls whose row the writer could not write, by reason (unreachable, refused).");

    /// <summary>Writes the call (once per CallSid) with whatever else is waiting; completes when it is committed.</summary>
    /// <exception cref="TimeoutException">Too many calls are waiting for Postgres already, or the writer has stopped.</exception>
    public Task<RecordedCall> RecordAsync(IncomingCall call, CancellationToken cancellationToken)
    {
        var pending = new Pending(call, Activity.Current, new TaskCompletionSource<RecordedCall>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
        {
            return Task.FromException<RecordedCall>(new TimeoutException(_stopped
                ? $"the incoming call writer has stopped; call {call.CallSid} was not queued"
                : $"{MaxQueued} incoming calls are already waiting for Postgres; call {call.CallSid} was not queued"));
        }
        return pending.Written.Task.WaitAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Writers).Select(_ => Task.Run(WriteQueuedAsync, CancellationToken.None)));

    /// <summary>Stops taking calls and writes those already queued before the service stops.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopped = true;
        _queue.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
        // A host stopped right after it started may never have run the writers: what is still queued is written here.
        await WriteQueuedAsync().WaitAsync(cancellationToken);
    }

    private async Task WriteQueuedAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        // Ends when the queue is completed at stop and drained.
        while (await _queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }
            if (batch.Count > 0)
            {
                await WriteAsync(batch);
                batch.Clear();
            }
        }
    }

    /// <summary>Writes a batch and completes each of its calls; never throws, so the writer outlives any batch.</summary>
    private async Task WriteAsync(List<Pending> batch)
    {
        _batchSize.Record(batch.Count);
        // The batch's Postgres span goes in the trace of its first call, under its webhook's span, as a lone call's
        // statement always did (reverted when this method returns).
        Activity.Current = batch[0].Caller;
        try
        {
            var written = await WriteBatchAsync(batch.ConvertAll(p => p.Call));
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Written.TrySetResult(written[i]);
            }
        }
        catch (PostgresException ex) when (!ex.IsTransient && batch.Count > 1)
        {
            LogBatchRefused(logger, batch.Count, ex.SqlState, ex.MessageText);
            foreach (var pending in batch)
            {
                await WriteAloneAsync(pending);
            }
        }
        catch (Exception ex)
        {
            Fail(batch, ex);
        }
    }

    private async Task WriteAloneAsync(Pending pending)
    {
        try
        {
            pending.Written.TrySetResult((await WriteBatchAsync([pending.Call]))[0]);
        }
        catch (Exception ex)
        {
            Fail([pending], ex);
        }
    }

    private async Task<RecordedCall[]> WriteBatchAsync(IReadOnlyList<IncomingCall> calls)
    {
        await using var scope = scopes.CreateAsyncScope();
        // No caller's token: the batch is shared, and bounded by the command timeout and the retry strategy.
        return await scope.ServiceProvider.GetRequiredService<CallStore>().RecordIncomingAsync(calls, CancellationToken.None);
    }

    private void Fail(List<Pending> batch, Exception ex)
    {
        var reason = ex is PostgresException { IsTransient: false } ? "refused" : "unreachable";
        _failed.Add(batch.Count, new KeyValuePair<string, object?>("reason", reason));
        LogWriteFailed(logger, batch.Count, reason, batch[0].Call.CallSid, ex);
        foreach (var pending in batch)
        {
            pending.Written.TrySetException(ex);
        }
    }

    private sealed record Pending(IncomingCall Call, Activity? Caller, TaskCompletionSource<RecordedCall> Written);

    [LoggerMessage(EventId = 5101, EventName = "CALL_BATCH_REFUSED", Level = LogLevel.Warning,
        Message = "CALL_BATCH_REFUSED Postgres refused a batch of {Count} incoming calls ({SqlState}: {Error}); writing them one at a time")]
    private static partial void LogBatchRefused(ILogger logger, int count, string sqlState, string error);

    [LoggerMessage(EventId = 5102, EventName = "CALL_WRITE_FAILED", Level = LogLevel.Warning,
        Message = "CALL_WRITE_FAILED {Count} incoming call(s) not written ({Reason}), the first {CallSid}")]
    private static partial void LogWriteFailed(ILogger logger, int count, string reason, string callSid, Exception exception);
}
