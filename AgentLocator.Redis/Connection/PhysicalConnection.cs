using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Channels;
using AgentLocator.Redis.Protocol;

namespace AgentLocator.Redis.Connection;

/// <summary>
/// One TCP (optionally TLS) connection to Redis with a write loop and a read loop. Many callers enqueue
/// commands concurrently; the write loop batches them into the socket and records them, in wire order,
/// in the queue of commands awaiting a reply; the read loop matches each reply to the head of that queue.
/// When anything goes wrong the connection fails as a whole: every pending command fails at once with
/// <see cref="RedisConnectionException"/> and the owner (<see cref="ReconnectingConnection"/>) replaces it.
/// </summary>
internal sealed partial class PhysicalConnection : IAsyncDisposable
{
    private readonly RedisConnectionOptions _options;
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly Func<RespValue, bool>? _pushHandler;
    private readonly Channel<WriteItem> _outbound = Channel.CreateUnbounded<WriteItem>(
        new UnboundedChannelOptions { SingleReader = false, SingleWriter = false, AllowSynchronousContinuations = false });
    private readonly ConcurrentQueue<PendingCommand> _awaitingReply = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private RedisConnectionException? _failure;
    private Timer? _timeoutSweep;
    private Task _readLoop = Task.CompletedTask;
    private Task _writeLoop = Task.CompletedTask;

    private PhysicalConnection(RedisConnectionOptions options, Socket socket, Stream stream, Func<RespValue, bool>? pushHandler)
    {
        _options = options;
        _socket = socket;
        _stream = stream;
        _pushHandler = pushHandler;
        _input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024));
        _output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024));
    }

    /// <summary>Completes when the connection has failed or was disposed.</summary>
    public Task Completion => _closed.Task;

    public RedisConnectionException? Failure => Volatile.Read(ref _failure);

    public bool IsAlive => Volatile.Read(ref _failure) is null;

    /// <summary>Commands written and not yet answered.</summary>
    public int PendingCount => _awaitingReply.Count;

    /// <summary>
    /// Connects, negotiates TLS, and runs the handshake (HELLO/AUTH, SELECT, CLIENT SETNAME) within
    /// <see cref="RedisConnectionOptions.ConnectTimeout"/>. Throws <see cref="RedisConnectionException"/>.
    /// </summary>
    public static async Task<PhysicalConnection> ConnectAsync(
        RedisConnectionOptions options, Func<RespValue, bool>? pushHandler, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream? stream = null;
        PhysicalConnection? connection = null;
        try
        {
            await socket.ConnectAsync(options.Host, options.Port, timeout.Token).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (options.Ssl)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = options.SslHost ?? options.Host,
                    RemoteCertificateValidationCallback = options.CertificateValidation,
                }, timeout.Token).ConfigureAwait(false);
            }

            connection = new PhysicalConnection(options, socket, stream, pushHandler);
            connection.StartLoops();
            await connection.HandshakeAsync(timeout.Token).ConfigureAwait(false);
            return connection;
        }
        catch (Exception ex)
        {
            var error = ex switch
            {
                OperationCanceledException when cancellationToken.IsCancellationRequested => ex,
                OperationCanceledException => new RedisConnectionException(
                    $"Connecting to {options.EndPoint} did not complete within {options.ConnectTimeout.TotalMilliseconds:0} ms.", ex),
                RedisConnectionException => ex,
                RedisServerException => new RedisConnectionException(
                    $"Redis at {options.EndPoint} rejected the connection handshake: {ex.Message}", ex),
                _ => new RedisConnectionException($"Could not connect to {options.EndPoint}: {ex.Message}", ex),
            };
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                stream?.Dispose();
                socket.Dispose();
            }
            if (error == ex)
            {
                throw;
            }
            throw error;
        }
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        if (_options.UseResp3)
        {
            object[] hello = _options.Password is null
                ? ["HELLO", "3"]
                : ["HELLO", "3", "AUTH", _options.User ?? "default", _options.Password];
            await SendAsync(hello, cancellationToken).ConfigureAwait(false);
        }
        else if (_options.Password is not null)
        {
            object[] auth = _options.User is null
                ? ["AUTH", _options.Password]
                : ["AUTH", _options.User, _options.Password];
            await SendAsync(auth, cancellationToken).ConfigureAwait(false);
        }

        if (_options.DefaultDatabase != 0)
        {
            await SendAsync(["SELECT", _options.DefaultDatabase], cancellationToken).ConfigureAwait(false);
        }

        if (!string.IsNullOrEmpty(_options.ClientName))
        {
            try
            {
                await SendAsync(["CLIENT", "SETNAME", _options.ClientName], cancellationToken).ConfigureAwait(false);
            }
            catch (RedisServerException)
            {
                // Some Redis-compatible servers do not implement CLIENT SETNAME; the name is only cosmetic.
            }
        }
    }

    private async Task<RespValue> SendAsync(object[] args, CancellationToken cancellationToken)
    {
        var command = new PendingCommand(args);
        if (!TryEnqueue(command))
        {
            throw Failure ?? new RedisConnectionException($"Connection to {_options.EndPoint} is closed.");
        }
        return await command.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void StartLoops()
    {
        _readLoop = Task.Run(ReadLoopAsync);
        _writeLoop = Task.Run(WriteLoopAsync);
        _timeoutSweep = new Timer(static state => ((PhysicalConnection)state!).SweepTimeouts(), this, SweepPeriod, SweepPeriod);
    }

    /// <summary>Fails the connection and every command on it. Idempotent.</summary>
    public void Fail(Exception reason)
    {
        var failure = reason as RedisConnectionException
            ?? new RedisConnectionException($"Connection to {_options.EndPoint} was lost: {reason.Message}", reason);
        if (Interlocked.CompareExchange(ref _failure, failure, null) is not null)
        {
            return;
        }

        _outbound.Writer.TryComplete();
        _timeoutSweep?.Dispose();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed by the peer.
        }
        _stream.Dispose();
        _socket.Dispose();
        FailAllPending();
        _closed.TrySetResult();
    }

    private static readonly TimeSpan SweepPeriod = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Fails commands whose <see cref="PendingCommand.SweepDeadline"/> has passed. They stay in the reply
    /// queue, so their replies are still matched (and dropped) when they come. Commands are in issue order
    /// and share one deadline length, so the walk stops at the first one still in time.
    /// </summary>
    private void SweepTimeouts()
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        PendingCommand? firstExpired = null;
        foreach (var command in _awaitingReply)
        {
            if (command.SweepDeadline == 0)
            {
                continue;
            }
            if (command.SweepDeadline > now)
            {
                break;
            }
            if (command.TrySetException(new RedisTimeoutException(
                    $"Redis did not answer {command.Name} within {_options.SyncTimeout.TotalMilliseconds:0} ms.")))
            {
                firstExpired ??= command;
            }
        }
        if (firstExpired is not null)
        {
            OnCommandTimedOut(firstExpired);
        }
    }

    private void FailAllPending()
    {
        var failure = Volatile.Read(ref _failure)!;
        while (_awaitingReply.TryDequeue(out var command))
        {
            command.TrySetException(PerCaller(failure));
        }
        while (_outbound.Reader.TryRead(out var item))
        {
            item.Fail(failure);
        }
    }

    /// <summary>Each caller gets its own exception object, so concurrent rethrows do not share a stack trace.</summary>
    internal static RedisConnectionException PerCaller(RedisConnectionException failure) =>
        new(failure.Message, failure.InnerException);

    public async ValueTask DisposeAsync()
    {
        Fail(new RedisConnectionException($"Connection to {_options.EndPoint} was closed by the client."));
        await Task.WhenAll(_readLoop, _writeLoop).ConfigureAwait(false);
    }

    /// <summary>One command, or a group written back to back with nothing in between (MULTI … EXEC).</summary>
    private readonly struct WriteItem
    {
        private readonly PendingCommand? _single;
        private readonly PendingCommand[]? _batch;

        public WriteItem(PendingCommand single) => _single = single;

        public WriteItem(PendingCommand[] batch) => _batch = batch;

        public PendingCommand? Single => _single;

        public PendingCommand[]? Batch => _batch;

        public void Fail(RedisConnectionException failure)
        {
            _single?.TrySetException(PerCaller(failure));
            foreach (var command in _batch ?? [])
            {
                command.TrySetException(PerCaller(failure));
            }
        }
    }
}
