using AgentLocator.Redis.Protocol;

namespace AgentLocator.Redis;

/// <summary>Something that runs Redis commands: the client itself, or a transaction that queues them.</summary>
public interface IRedisCommands
{
    /// <summary>Runs (or, in a transaction, queues) a typed command. Typed helpers live in <see cref="RedisCommandsExtensions"/>.</summary>
    Task<T> ExecuteAsync<T>(RedisCommand<T> command, CancellationToken cancellationToken = default);

    /// <summary>Runs (or queues) any command: <c>ExecuteAsync("HINCRBY", key, field, 1)</c>.</summary>
    Task<RespValue> ExecuteAsync(params object[] args);
}

/// <summary>
/// The Redis client the services use: one multiplexed, pipelined connection for commands and one for
/// pub/sub, both reconnecting by themselves. While Redis is unreachable every call fails fast with
/// <see cref="RedisConnectionException"/>; a call that gets no reply in time fails with <see cref="RedisTimeoutException"/>.
/// </summary>
public interface IRedisClient : IRedisCommands
{
    bool IsConnected { get; }

    /// <summary>Runs any command with its own timeout (default: syncTimeout) and cancellation.</summary>
    Task<RespValue> ExecuteAsync(ReadOnlyMemory<object> args, TimeSpan? timeout, CancellationToken cancellationToken = default);

    /// <summary>PING; returns the round-trip time.</summary>
    Task<TimeSpan> PingAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default);

    /// <summary>A MULTI/EXEC transaction: queue commands on it, then <see cref="IRedisTransaction.ExecAsync"/>.</summary>
    IRedisTransaction CreateTransaction();

    /// <summary>SUBSCRIBE channel. The handler runs for each message until the subscription is disposed; the
    /// subscription survives reconnects. Throws <see cref="RedisConnectionException"/> when Redis is unreachable.</summary>
    Task<IRedisSubscription> SubscribeAsync(string channel, Func<RedisMessage, ValueTask> handler, CancellationToken cancellationToken = default);

    /// <summary>PSUBSCRIBE pattern, otherwise like <see cref="SubscribeAsync"/>.</summary>
    Task<IRedisSubscription> PatternSubscribeAsync(string pattern, Func<RedisMessage, ValueTask> handler, CancellationToken cancellationToken = default);

    /// <summary>Waits until the command connection is up (startup probes, tests). Never needed before calling commands.</summary>
    Task WaitUntilConnectedAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Commands queued with <see cref="IRedisCommands.ExecuteAsync{T}"/> are sent as one uninterrupted
/// MULTI … EXEC block on the shared connection; their tasks complete after <see cref="ExecAsync"/>.
/// </summary>
public interface IRedisTransaction : IRedisCommands
{
    Task ExecAsync(CancellationToken cancellationToken = default);
}

/// <summary>An active SUBSCRIBE; dispose it to unsubscribe.</summary>
public interface IRedisSubscription : IAsyncDisposable
{
    string Channel { get; }

    bool IsPattern { get; }
}

/// <summary>A pub/sub message. <see cref="Pattern"/> is set for pattern subscriptions.</summary>
public readonly record struct RedisMessage(string Channel, string Message, string? Pattern = null);
