namespace AgentLocator.MediaWorker.Conversation;

/// <summary>
/// A call's background writes (transcript turns, the engine, the summary), one after another in the order
/// queued, each bounded; a failure is logged and the next write goes on. The call never waits for them except
/// where it must (<see cref="DrainAsync"/> before the goodbye, so the lead notification finds them).
/// </summary>
internal sealed class ConversationWrites(string callSid, TimeSpan timeout, ILogger logger)
{
    private readonly Lock _gate = new();
    private Task _tail = Task.CompletedTask;

    public void Enqueue(string what, Func<CancellationToken, Task> write)
    {
        lock (_gate)
        {
            _tail = RunAfterAsync(_tail, what, write);
        }
    }

    /// <summary>Waits (at most <paramref name="limit"/>) for every write queued so far.</summary>
    public async Task DrainAsync(TimeSpan limit)
    {
        Task tail;
        lock (_gate)
        {
            tail = _tail;
        }

        await Task.WhenAny(tail, Task.Delay(limit));
    }

    private async Task RunAfterAsync(Task previous, string what, Func<CancellationToken, Task> write)
    {
        await previous;
        try
        {
            using var bound = new CancellationTokenSource(timeout);
            await write(bound.Token).WaitAsync(bound.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            ConversationEngineLog.WriteFailed(logger, callSid, what, ex);
        }
    }
}
