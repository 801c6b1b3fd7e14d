using System.Diagnostics;
using AgentLocator.Redis.Connection;
using AgentLocator.Redis.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentLocator.Redis;

/// <summary>
/// The RESP client: commands share one multiplexed, pipelined connection (replies matched FIFO); pub/sub
/// has its own connection, opened on the first subscription. Both connect in the background and
/// reconnect by themselves, so constructing the client never blocks or throws when Redis is down.
/// </summary>
public sealed class RedisClient : IRedisClient, IAsyncDisposable
{
    private readonly RedisConnectionOptions _options;
    private readonly ReconnectingConnection _interactive;
    private readonly RedisSubscriber _subscriber;

    public RedisClient(string connectionString, ILoggerFactory? loggerFactory = null)
        : this(RedisConnectionOptions.Parse(connectionString), loggerFactory)
    {
    }

    public RedisClient(RedisConnectionOptions options, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Clone();
        var logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<RedisClient>();
        _interactive = new ReconnectingConnection(_options, "interactive", logger);
        _subscriber = new RedisSubscriber(_options, logger);
        _interactive.EnsureStarted();
    }

    public RedisConnectionOptions Options => _options.Clone();

    public bool IsConnected => _interactive.IsConnected;

    /// <summary>How many times the command connection has been (re)established.</summary>
    public int ConnectionCount => _interactive.ConnectionCount;

    /// <summary>How many times the pub/sub connection has been (re)established.</summary>
    public int SubscriberConnectionCount => _subscriber.ConnectionCount;

    public Task WaitUntilConnectedAsync(CancellationToken cancellationToken) =>
        _interactive.WaitUntilConnectedAsync(cancellationToken);

    public Task<RespValue> ExecuteAsync(params object[] args) =>
        ExecuteAsync(args, timeout: null, CancellationToken.None);

    public async Task<T> ExecuteAsync<T>(RedisCommand<T> command, CancellationToken cancellationToken = default) =>
        command.Parse(await ExecuteAsync(command.Args, timeout: null, cancellationToken).ConfigureAwait(false));

    public async Task<RespValue> ExecuteAsync(ReadOnlyMemory<object> args, TimeSpan? timeout, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var limit = timeout ?? _options.SyncTimeout;
        var connection = await _interactive.GetConnectionAsync(limit, cancellationToken).ConfigureAwait(false);
        if (timeout is null && !cancellationToken.CanBeCanceled)
        {
            // The common call: the connection's timeout sweep enforces syncTimeout, no timer per command.
            var swept = new PendingCommand(args) { SweepDeadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency) };
            if (!connection.TryEnqueue(swept))
            {
                throw _interactive.NotConnected();
            }
            return await swept.Task.ConfigureAwait(false);
        }

        var command = new PendingCommand(args);
        if (!connection.TryEnqueue(command))
        {
            throw _interactive.NotConnected();
        }
        return await WaitForReplyAsync(connection, command, limit, cancellationToken).ConfigureAwait(false);
    }

    public async Task<TimeSpan> PingAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var reply = await ExecuteAsync(new object[] { "PING" }, timeout, cancellationToken).ConfigureAwait(false);
        if (!reply.Span.SequenceEqual("PONG"u8))
        {
            throw reply.Unexpected("PONG");
        }
        return Stopwatch.GetElapsedTime(started);
    }

    public IRedisTransaction CreateTransaction() => new RedisTransaction(this);

    public Task<IRedisSubscription> SubscribeAsync(string channel, Func<RedisMessage, ValueTask> handler, CancellationToken cancellationToken = default) =>
        _subscriber.SubscribeAsync(channel, isPattern: false, handler, cancellationToken);

    public Task<IRedisSubscription> PatternSubscribeAsync(string pattern, Func<RedisMessage, ValueTask> handler, CancellationToken cancellationToken = default) =>
        _subscriber.SubscribeAsync(pattern, isPattern: true, handler, cancellationToken);

    /// <summary>Sends MULTI, the queued commands and EXEC as one uninterrupted block; returns the EXEC reply.</summary>
    internal async Task<RespValue> ExecuteBatchAsync(PendingCommand[] batch, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var limit = _options.SyncTimeout;
        var connection = await _interactive.GetConnectionAsync(limit, cancellationToken).ConfigureAwait(false);
        if (!connection.TryEnqueue(batch))
        {
            throw _interactive.NotConnected();
        }
        var last = batch[^1];
        try
        {
            return await WaitForReplyAsync(connection, last, limit, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            for (var i = 0; i < batch.Length - 1; i++)
            {
                batch[i].Abandon();
            }
        }
    }

    private static async Task<RespValue> WaitForReplyAsync(PhysicalConnection connection, PendingCommand command, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            return await command.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            command.Abandon();
            connection.OnCommandTimedOut(command);
            throw new RedisTimeoutException($"Redis did not answer {command.Name} within {timeout.TotalMilliseconds:0} ms.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            command.Abandon();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _subscriber.DisposeAsync().ConfigureAwait(false);
        await _interactive.DisposeAsync().ConfigureAwait(false);
    }
}
