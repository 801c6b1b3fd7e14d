using AgentLocator.Redis.Protocol;

namespace AgentLocator.Redis.Connection;

internal sealed partial class PhysicalConnection
{
    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var result = await _input.ReadAsync().ConfigureAwait(false);
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
        command.Complete(value);
    }
}
