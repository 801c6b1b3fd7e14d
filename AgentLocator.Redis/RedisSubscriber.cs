using System.Collections.Concurrent;
using System.Threading.Channels;
using AgentLocator.Redis.Connection;
using AgentLocator.Redis.Protocol;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Redis;

/// <summary>
/// Pub/sub on its own connection. Messages arrive as RESP2 arrays (<c>message</c>, <c>pmessage</c>,
/// <c>subscribe</c>…) or RESP3 push frames; both are recognised here. After every reconnect all current
/// channels and patterns are subscribed again before the connection is put in service. Handlers run on
/// a dispatch loop, one message at a time, so a slow handler never stalls the socket reader.
/// </summary>
internal sealed class RedisSubscriber : IAsyncDisposable
{
    private const int DispatchCapacity = 100_000;

    private readonly RedisConnectionOptions _options;
    private readonly ILogger _logger;
    private readonly ReconnectingConnection _connection;
    private readonly object _gate = new();
    private readonly Dictionary<(bool IsPattern, string Name), Subscription[]> _subscriptions = [];
    private readonly ConcurrentDictionary<(bool IsPattern, string Name), TaskCompletionSource> _confirmations = new();
    private readonly Channel<(Subscription[] Handlers, RedisMessage Message)> _dispatch =
        Channel.CreateBounded<(Subscription[], RedisMessage)>(new BoundedChannelOptions(DispatchCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropWrite,
        });
    private Task? _dispatchLoop;

    public RedisSubscriber(RedisConnectionOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _connection = new ReconnectingConnection(options, "subscriber", logger, OnPush, ResubscribeAsync);
    }

    public int ConnectionCount => _connection.ConnectionCount;

    public async Task<IRedisSubscription> SubscribeAsync(string name, bool isPattern, Func<RedisMessage, ValueTask> handler, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(handler);
        EnsureDispatching();

        var key = (isPattern, name);
        var subscription = new Subscription(this, key, handler);
        bool first;
        lock (_gate)
        {
            _subscriptions.TryGetValue(key, out var existing);
            first = existing is null || existing.Length == 0;
            _subscriptions[key] = [.. existing ?? [], subscription];
        }
        if (!first)
        {
            return subscription;
        }

        try
        {
            var connection = await _connection.GetConnectionAsync(_options.ConnectTimeout + _options.SyncTimeout, cancellationToken).ConfigureAwait(false);
            var confirmed = _confirmations.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            var command = new PendingCommand(new object[] { isPattern ? "PSUBSCRIBE" : "SUBSCRIBE", name }, expectsReply: false);
            if (!connection.TryEnqueue(command))
            {
                throw _connection.NotConnected();
            }
            await Task.WhenAny(confirmed.Task, connection.Completion).WaitAsync(_options.SyncTimeout, cancellationToken).ConfigureAwait(false);
            if (!confirmed.Task.IsCompleted)
            {
                throw connection.Failure is { } failure ? PhysicalConnection.PerCaller(failure) : _connection.NotConnected();
            }
            return subscription;
        }
        catch (TimeoutException)
        {
            Remove(subscription);
            throw new RedisTimeoutException($"Redis did not confirm the subscription to '{name}' within {_options.SyncTimeout.TotalMilliseconds:0} ms.");
        }
        catch
        {
            Remove(subscription);
            throw;
        }
    }

    private void Remove(Subscription subscription)
    {
        bool last;
        lock (_gate)
        {
            if (!_subscriptions.TryGetValue(subscription.Key, out var existing) || !existing.Contains(subscription))
            {
                return;
            }
            var remaining = existing.Where(s => s != subscription).ToArray();
            last = remaining.Length == 0;
            if (last)
            {
                _subscriptions.Remove(subscription.Key);
            }
            else
            {
                _subscriptions[subscription.Key] = remaining;
            }
        }

        if (last && _connection.Current is { } connection)
        {
            var (isPattern, name) = subscription.Key;
            connection.TryEnqueue(new PendingCommand(new object[] { isPattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", name }, expectsReply: false));
        }
    }

    private Task ResubscribeAsync(PhysicalConnection connection, CancellationToken cancellationToken)
    {
        List<object> channels = ["SUBSCRIBE"];
        List<object> patterns = ["PSUBSCRIBE"];
        lock (_gate)
        {
            foreach (var (isPattern, name) in _subscriptions.Keys)
            {
                (isPattern ? patterns : channels).Add(name);
            }
        }
        var sent = new List<Task>();
        foreach (var args in new[] { channels, patterns }.Where(a => a.Count > 1))
        {
            var command = new PendingCommand(args.ToArray(), expectsReply: false);
            if (!connection.TryEnqueue(command))
            {
                throw connection.Failure ?? new RedisConnectionException("Subscriber connection closed while re-subscribing.");
            }
            sent.Add(command.Task);
        }
        return Task.WhenAll(sent).WaitAsync(_options.ConnectTimeout, cancellationToken);
    }

    /// <summary>Recognises pub/sub frames (RESP3 push, or the RESP2 arrays a subscribed connection gets).</summary>
    private bool OnPush(RespValue value)
    {
        if (value.Type is not (RespType.Push or RespType.Array) || value.Elements.Count < 3)
        {
            return false;
        }
        var elements = value.Elements;
        var kind = elements[0];
        if (kind.Type is not (RespType.BulkString or RespType.SimpleString))
        {
            return false;
        }

        var span = kind.Span;
        if (span.SequenceEqual("message"u8))
        {
            Deliver((false, elements[1].AsString() ?? ""), new RedisMessage(elements[1].AsString() ?? "", elements[2].AsString() ?? ""));
        }
        else if (span.SequenceEqual("pmessage"u8) && elements.Count >= 4)
        {
            var pattern = elements[1].AsString() ?? "";
            Deliver((true, pattern), new RedisMessage(elements[2].AsString() ?? "", elements[3].AsString() ?? "", pattern));
        }
        else if (span.SequenceEqual("subscribe"u8) || span.SequenceEqual("psubscribe"u8))
        {
            var key = (span[0] == (byte)'p', elements[1].AsString() ?? "");
            if (_confirmations.TryRemove(key, out var confirmed))
            {
                confirmed.TrySetResult();
            }
        }
        else if (!(span.SequenceEqual("unsubscribe"u8) || span.SequenceEqual("punsubscribe"u8) || value.Type == RespType.Push))
        {
            return false;
        }
        return true;
    }

    private void Deliver((bool, string) key, RedisMessage message)
    {
        Subscription[]? handlers;
        lock (_gate)
        {
            _subscriptions.TryGetValue(key, out handlers);
        }
        if (handlers is { Length: > 0 } && !_dispatch.Writer.TryWrite((handlers, message)))
        {
            RedisLog.HandlerFailed(_logger, message.Channel, new RedisException($"Pub/sub dispatch queue is full ({DispatchCapacity}); message dropped."));
        }
    }

    private void EnsureDispatching()
    {
        lock (_gate)
        {
            _dispatchLoop ??= Task.Run(DispatchLoopAsync);
        }
        _connection.EnsureStarted();
    }

    private async Task DispatchLoopAsync()
    {
        await foreach (var (handlers, message) in _dispatch.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            foreach (var subscription in handlers)
            {
                if (subscription.IsDisposed)
                {
                    continue;
                }
                try
                {
                    await subscription.Handler(message).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    RedisLog.HandlerFailed(_logger, message.Channel, ex);
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _dispatch.Writer.TryComplete();
        await _connection.DisposeAsync().ConfigureAwait(false);
        if (_dispatchLoop is not null)
        {
            await _dispatchLoop.ConfigureAwait(false);
        }
    }

    private sealed class Subscription(RedisSubscriber owner, (bool IsPattern, string Name) key, Func<RedisMessage, ValueTask> handler) : IRedisSubscription
    {
        private int _disposed;

        public (bool IsPattern, string Name) Key { get; } = key;

        public Func<RedisMessage, ValueTask> Handler { get; } = handler;

        public string Channel => Key.Name;

        public bool IsPattern => Key.IsPattern;

        public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Remove(this);
            }
            return ValueTask.CompletedTask;
        }
    }
}
