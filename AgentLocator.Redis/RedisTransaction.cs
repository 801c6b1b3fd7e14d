using AgentLocator.Redis.Connection;
using AgentLocator.Redis.Protocol;

namespace AgentLocator.Redis;

/// <summary>
/// Queues commands locally; <see cref="ExecAsync"/> sends MULTI, the commands and EXEC as one write item,
/// so the connection's single writer puts them on the wire back to back and no other caller's command
/// can land inside the transaction.
/// </summary>
internal sealed class RedisTransaction : IRedisTransaction
{
    private readonly RedisClient _client;
    private readonly List<(object[] Args, TaskCompletionSource<RespValue> Result)> _queued = [];
    private int _executed;

    public RedisTransaction(RedisClient client) => _client = client;

    public Task<T> ExecuteAsync<T>(RedisCommand<T> command, CancellationToken cancellationToken = default) =>
        ParseLaterAsync(Queue(command.Args), command.Parse);

    public Task<RespValue> ExecuteAsync(params object[] args) => Queue(args);

    private Task<RespValue> Queue(object[] args)
    {
        if (Volatile.Read(ref _executed) != 0)
        {
            throw new InvalidOperationException("This transaction has already been executed; create a new one.");
        }
        var result = new TaskCompletionSource<RespValue>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queued.Add((args, result));
        return result.Task;
    }

    private static async Task<T> ParseLaterAsync<T>(Task<RespValue> reply, Func<RespValue, T> parse) =>
        parse(await reply.ConfigureAwait(false));

    public async Task ExecAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _executed, 1) != 0)
        {
            throw new InvalidOperationException("This transaction has already been executed; create a new one.");
        }
        if (_queued.Count == 0)
        {
            return;
        }

        var batch = new PendingCommand[_queued.Count + 2];
        var exec = new PendingCommand(new object[] { "EXEC" }) { IsExec = true };
        batch[0] = new PendingCommand(new object[] { "MULTI" }) { Exec = exec };
        for (var i = 0; i < _queued.Count; i++)
        {
            batch[i + 1] = new PendingCommand(_queued[i].Args) { Exec = exec };
        }
        batch[^1] = exec;

        RespValue reply;
        try
        {
            reply = await _client.ExecuteBatchAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A command Redis refused to queue explains an EXECABORT better than EXECABORT does.
            var cause = batch.Take(batch.Length - 1).Select(c => c.Task)
                .Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException).OfType<RedisServerException>().FirstOrDefault();
            var failure = ex is RedisServerException && cause is not null ? cause : ex;
            foreach (var (_, result) in _queued)
            {
                result.TrySetException(failure);
            }
            if (failure == ex)
            {
                throw;
            }
            throw failure;
        }

        if (reply.IsNull || reply.Type != RespType.Array || reply.Elements.Count != _queued.Count)
        {
            RedisException error = reply.IsNull
                ? new RedisServerException("The transaction was aborted by the server (EXEC returned null).")
                : reply.Unexpected($"an array of {_queued.Count} replies");
            foreach (var (_, result) in _queued)
            {
                result.TrySetException(error);
            }
            throw error;
        }

        for (var i = 0; i < _queued.Count; i++)
        {
            var element = reply.Elements[i];
            if (element.IsError)
            {
                _queued[i].Result.TrySetException(new RedisServerException(element.AsString() ?? "ERR"));
            }
            else
            {
                _queued[i].Result.TrySetResult(element);
            }
        }
    }
}
