namespace AgentLocator.Redis.Connection;

internal sealed partial class PhysicalConnection
{
    private const int FlushThreshold = 64 * 1024;

    /// <summary>Queues one command; false when the connection has already failed.</summary>
    public bool TryEnqueue(PendingCommand command) =>
        IsAlive && _outbound.Writer.TryWrite(new WriteItem(command));

    /// <summary>Queues commands that must reach the server contiguously (a transaction).</summary>
    public bool TryEnqueue(PendingCommand[] batch) =>
        IsAlive && _outbound.Writer.TryWrite(new WriteItem(batch));

    private async Task WriteLoopAsync()
    {
        var written = new List<PendingCommand>();
        try
        {
            var reader = _outbound.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    if (item.Single is { } single)
                    {
                        // A command whose caller gave up before it was sent is never sent.
                        if (!single.IsAbandoned)
                        {
                            Write(single, written);
                        }
                    }
                    else
                    {
                        foreach (var command in item.Batch!)
                        {
                            Write(command, written);
                        }
                    }

                    if (_output.UnflushedBytes > FlushThreshold)
                    {
                        await FlushAsync(written).ConfigureAwait(false);
                    }
                }
                await FlushAsync(written).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
        finally
        {
            if (Failure is { } failure)
            {
                foreach (var command in written)
                {
                    command.TrySetException(PerCaller(failure));
                }
            }
        }
    }

    private void Write(PendingCommand command, List<PendingCommand> written)
    {
        if (command.ExpectsReply)
        {
            // Recorded before the bytes leave, so the reply can never arrive ahead of its command.
            _awaitingReply.Enqueue(command);
            if (!IsAlive)
            {
                FailAllPending();
            }
        }
        else
        {
            written.Add(command);
        }
        Protocol.RespWriter.WriteCommand(_output, command.Args.Span);
    }

    private async ValueTask FlushAsync(List<PendingCommand> written)
    {
        var result = await _output.FlushAsync().ConfigureAwait(false);
        if (result.IsCompleted || result.IsCanceled)
        {
            throw new RedisConnectionException($"Connection to {_options.EndPoint} stopped accepting writes.");
        }
        foreach (var command in written)
        {
            command.TrySetResult(Protocol.RespValue.Null);
        }
        written.Clear();
    }
}
