using System.Diagnostics;
using System.Net.Sockets;
using AgentLocator.Redis.Protocol;

namespace AgentLocator.Redis.Connection;

internal sealed partial class PhysicalConnection
{
    private long _lastReadTimestamp = Stopwatch.GetTimestamp();

    /// <summary>Stopwatch timestamp of the last bytes received.</summary>
    public long LastReadTimestamp => Volatile.Read(ref _lastReadTimestamp);

    /// <summary>
    /// Called when a command timed out: if the server has sent nothing at all since the command was issued
    /// and that silence has lasted a whole syncTimeout, the connection is presumed dead (half-open TCP, a
    /// hung server, a reply that will never be completed) and is failed so that it gets replaced. Bytes
    /// waiting unread in the socket mean the server did answer and this process is behind (a starved
    /// thread pool): replacing the connection then would only add a reconnect to the backlog.
    /// </summary>
    public void OnCommandTimedOut(PendingCommand command)
    {
        if (LastReadTimestamp < command.Created && Stopwatch.GetElapsedTime(command.Created) >= _options.SyncTimeout
            && !HasUnreadBytes())
        {
            Fail(new RedisConnectionException(
                $"Redis at {_options.EndPoint} sent nothing for {Stopwatch.GetElapsedTime(command.Created).TotalMilliseconds:0} ms while commands were waiting; reconnecting."));
        }
    }

    private bool HasUnreadBytes()
    {
        try
        {
            return _socket.Available > 0;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync().ConfigureAwait(false);
                Volatile.Write(ref _lastReadTimestamp, Stopwatch.GetTimestamp());
                var buffer = result.Buffer;
                try
                {
                    while (RespReader.TryRead(ref buffer, out var value))
                    {
                        Dispatch(value);
                    }
                }
                finally
                {
                    _input.AdvanceTo(buffer.Start, buffer.End);
                }

                if (result.IsCompleted || result.IsCanceled)
                {
                    throw new RedisConnectionException($"Redis at {_options.EndPoint} closed the connection.");
                }
            }
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    private void Dispatch(in RespValue value)
    {
        if (_pushHandler is not null && _pushHandler(value))
        {
            return;
        }
        if (value.Type == RespType.Push)
        {
            // Out-of-band RESP3 data (for example client-side caching invalidations) nobody subscribed to.
            return;
        }
        if (!_awaitingReply.TryDequeue(out var command))
        {
            throw new RedisProtocolException($"Redis at {_options.EndPoint} sent a reply ({value.Type}) no command was waiting for.");
        }
        if (command.Exec is { } exec && value.IsError)
        {
            exec.SawQueueRejection = true;
        }
        else if (command.IsExec && command.SawQueueRejection && !value.IsError)
        {
            // Redis answers EXECABORT when a command was refused at queue time. A server that runs the
            // transaction anyway (Garnet does) also sends more replies than it got commands, so the reply
            // stream can no longer be matched: fail the connection before reading another reply.
            command.TrySetException(new RedisServerException("EXECABORT The server ran a transaction in which a command was rejected."));
            throw new RedisProtocolException(
                $"Redis at {_options.EndPoint} executed a transaction containing a rejected command; the connection was reset to stay in step.");
        }
        command.Complete(value);
    }
}
