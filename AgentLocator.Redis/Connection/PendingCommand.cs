using AgentLocator.Redis.Protocol;

namespace AgentLocator.Redis.Connection;

/// <summary>
/// One command on its way to Redis and the promise of its reply. Replies are matched strictly in FIFO
/// order; a caller that stops waiting (timeout, cancellation) only marks the command abandoned, so the
/// reply, when it arrives, is still matched to this command and discarded.
/// </summary>
internal sealed class PendingCommand : TaskCompletionSource<RespValue>
{
    private int _abandoned;

    public PendingCommand(ReadOnlyMemory<object> args, bool expectsReply = true)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        Args = args;
        ExpectsReply = expectsReply;
        Created = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    /// <summary>Stopwatch timestamp of when the caller issued the command.</summary>
    public long Created { get; }

    /// <summary>
    /// When non-zero, the connection's timeout sweep fails the command at this Stopwatch timestamp, so the
    /// common call (default timeout, no cancellation token) needs no timer of its own.
    /// </summary>
    public long SweepDeadline { get; init; }

    public ReadOnlyMemory<object> Args { get; }

    /// <summary>False for SUBSCRIBE/UNSUBSCRIBE, whose confirmations arrive as push messages.</summary>
    public bool ExpectsReply { get; }

    /// <summary>For MULTI and queued commands: the EXEC that closes their transaction.</summary>
    public PendingCommand? Exec { get; init; }

    public bool IsExec { get; init; }

    /// <summary>On an EXEC: a command of its transaction was refused at queue time.</summary>
    public bool SawQueueRejection { get; set; }

    public bool IsAbandoned => Volatile.Read(ref _abandoned) != 0;

    public string Name => Args.Length > 0 ? Args.Span[0]?.ToString() ?? "?" : "?";

    public void Complete(in RespValue value)
    {
        if (value.IsError)
        {
            TrySetException(new RedisServerException(value.AsString() ?? "ERR"));
        }
        else
        {
            TrySetResult(value);
        }
    }

    /// <summary>The caller gave up; a reply or failure that arrives later is observed and dropped.</summary>
    public void Abandon()
    {
        if (Interlocked.Exchange(ref _abandoned, 1) == 0)
        {
            Task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }
}
