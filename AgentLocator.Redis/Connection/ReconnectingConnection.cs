using AgentLocator.Redis.Protocol;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Redis.Connection;

/// <summary>
/// Keeps one <see cref="PhysicalConnection"/> alive in the background: connects lazily, and after any loss
/// reconnects with exponential backoff (jittered, capped at <see cref="RedisConnectionOptions.ReconnectMaxDelay"/>).
/// Callers never wait for a reconnect: while disconnected, <see cref="GetConnectionAsync"/> throws
/// <see cref="RedisConnectionException"/> at once (only the very first attempt after start is awaited).
/// </summary>
internal sealed class ReconnectingConnection : IAsyncDisposable
{
    private readonly RedisConnectionOptions _options;
    private readonly string _role;
    private readonly Func<RespValue, bool>? _pushHandler;
    private readonly Func<PhysicalConnection, CancellationToken, Task>? _onConnected;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _startLock = new();
    private PhysicalConnection? _current;
    private Exception? _lastError;
    private int _connectionCount;
    private Task? _loop;

    public ReconnectingConnection(
        RedisConnectionOptions options,
        string role,
        ILogger logger,
        Func<RespValue, bool>? pushHandler = null,
        Func<PhysicalConnection, CancellationToken, Task>? onConnected = null)
    {
        _options = options;
        _role = role;
        _logger = logger;
        _pushHandler = pushHandler;
        _onConnected = onConnected;
    }

    public PhysicalConnection? Current
    {
        get
        {
            var current = Volatile.Read(ref _current);
            return current is { IsAlive: true } ? current : null;
        }
    }

    public bool IsConnected => Current is not null;

    /// <summary>Number of successful connections so far (1 after the first connect).</summary>
    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    /// <summary>Starts the background connect loop if it is not running yet.</summary>
    public void EnsureStarted()
    {
        if (_loop is not null)
        {
            return;
        }
        lock (_startLock)
        {
            _loop ??= Task.Run(RunAsync);
        }
    }

    /// <summary>The live connection, or <see cref="RedisConnectionException"/> at once when there is none.</summary>
    public ValueTask<PhysicalConnection> GetConnectionAsync(TimeSpan firstConnectWait, CancellationToken cancellationToken)
    {
        if (Current is { } connection)
        {
            return ValueTask.FromResult(connection);
        }
        return WaitForFirstAttemptAsync(firstConnectWait, cancellationToken);
    }

    private async ValueTask<PhysicalConnection> WaitForFirstAttemptAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        EnsureStarted();
        if (!_firstAttempt.Task.IsCompleted)
        {
            try
            {
                await _firstAttempt.Task.WaitAsync(wait, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new RedisConnectionException($"Still connecting to {_options.EndPoint} after {wait.TotalMilliseconds:0} ms.");
            }
        }
        return Current ?? throw NotConnected();
    }

    /// <summary>Waits until a connection is up (for startup probes, tests and benchmarks).</summary>
    public async Task WaitUntilConnectedAsync(CancellationToken cancellationToken)
    {
        EnsureStarted();
        while (Current is null)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false);
        }
    }

    public RedisConnectionException NotConnected()
    {
        var last = Volatile.Read(ref _lastError);
        return new RedisConnectionException(
            $"Not connected to Redis at {_options.EndPoint} ({_role}); reconnecting in the background. Last error: {last?.Message ?? "none"}",
            last);
    }

    private async Task RunAsync()
    {
        var token = _stopping.Token;
        var delay = _options.ReconnectMinDelay;
        while (!token.IsCancellationRequested)
        {
            PhysicalConnection? connection = null;
            try
            {
                connection = await PhysicalConnection.ConnectAsync(_options, _pushHandler, token).ConfigureAwait(false);
                if (_onConnected is not null)
                {
                    await _onConnected(connection, token).ConfigureAwait(false);
                }
                Volatile.Write(ref _current, connection);
                Interlocked.Increment(ref _connectionCount);
                delay = _options.ReconnectMinDelay;
                RedisLog.Connected(_logger, _role, _options.EndPoint);
                _firstAttempt.TrySetResult();

                await connection.Completion.WaitAsync(token).ConfigureAwait(false);
                Volatile.Write(ref _lastError, connection.Failure);
                RedisLog.ConnectionLost(_logger, _role, _options.EndPoint, connection.Failure);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                Volatile.Write(ref _lastError, ex);
                RedisLog.ConnectFailed(_logger, _role, _options.EndPoint, delay.TotalMilliseconds, ex);
                connection?.Fail(ex);
            }
            finally
            {
                Interlocked.CompareExchange(ref _current, null, connection);
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
            }

            _firstAttempt.TrySetResult();
            try
            {
                var jitter = Random.Shared.NextDouble() * 0.2 + 0.9;
                await Task.Delay(delay * jitter, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }
        _stopping.Cancel();
        Volatile.Read(ref _current)?.Fail(new RedisConnectionException("The Redis client was disposed."));
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        _stopping.Dispose();
    }
}
