using System.Diagnostics;
using System.Net.WebSockets;
using AgentLocator.Media;
using AgentLocator.MediaStreams;

namespace AgentLocator.Testing.MediaStreams;

/// <summary>
/// Plays Twilio's side of a bidirectional Media Stream against an app's WebSocket endpoint:
/// <c>connected</c>, <c>start</c>, a <c>media</c> frame every 20 ms (drift-free, optionally sped
/// up) carrying the scripted caller audio or line silence (0xFF), <c>dtmf</c>, <c>stop</c>. It
/// "plays" the bot's audio in line time, echoes each <c>mark</c> once the audio queued before it
/// has played, honours <c>clear</c>, records everything the bot sent and measures each turn's
/// latency. Script it with <see cref="SayAsync(string, CancellationToken)"/>, <see cref="SilenceAsync"/>,
/// <see cref="PressAsync"/>, <see cref="WaitForBotAudioAsync"/> and <see cref="HangUpAsync"/>.
/// </summary>
public sealed partial class CallSimulator : IAsyncDisposable
{
    private readonly WebSocket _socket;
    private readonly CallSimulatorOptions _options;
    private readonly MediaStreamWriter _writer = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _lineStop = new(); // no more frames after the current one
    private readonly CancellationTokenSource _stopping = new(); // also cancels sends and receives in progress
    private readonly Lock _gate = new();
    private readonly Queue<CallerStep> _script = new();
    private readonly LinkedList<PlaybackItem> _playback = new();
    private readonly List<BotMessage> _received = [];
    private readonly List<string> _echoedMarks = [];
    private readonly List<TurnLatency> _turns = [];
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _botAudio = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _sequenceNumber = -1; // connected carries none; start is "1"
    private bool _turnPending;
    private TimeSpan _lastVoicedAt;
    private long _framesSent;
    private bool _lineEnded;
    private int _disposed;
    private Task _lineLoop = Task.CompletedTask;
    private Task _receiveLoop = Task.CompletedTask;

    private CallSimulator(WebSocket socket, CallSimulatorOptions options)
    {
        _socket = socket;
        _options = options;
    }

    public CallSimulatorOptions Options => _options;

    /// <summary>Completes when the app closes the stream (or the connection drops).</summary>
    public Task Closed => _closed.Task;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    /// <summary>Media frames sent so far (caller audio and line silence).</summary>
    public long FramesSent => Interlocked.Read(ref _framesSent);

    public IReadOnlyList<BotMessage> Received
    {
        get { lock (_gate) { return [.. _received]; } }
    }

    /// <summary>Names of the marks echoed back to the app, in order.</summary>
    public IReadOnlyList<string> EchoedMarks
    {
        get { lock (_gate) { return [.. _echoedMarks]; } }
    }

    public IReadOnlyList<TurnLatency> Turns
    {
        get { lock (_gate) { return [.. _turns]; } }
    }

    /// <summary>Everything the bot sent that Twilio would reject.</summary>
    public IReadOnlyList<string> ProtocolViolations => Received.Where(m => m.Kind == BotMessageKind.ProtocolViolation).Select(m => m.Detail!).ToList();

    /// <summary>All bot audio received, concatenated (mu-law).</summary>
    public byte[] BotAudio => Received.Where(m => m.Kind == BotMessageKind.Media).SelectMany(m => m.Audio!).ToArray();

    /// <summary>Opens the WebSocket, sends <c>connected</c> and <c>start</c>, and starts the line.</summary>
    public static async Task<CallSimulator> ConnectAsync(Uri uri, CallSimulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        options ??= new CallSimulatorOptions();
        options.Validate();
        var socket = new ClientWebSocket();
        try
        {
            await socket.ConnectAsync(uri, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var simulator = new CallSimulator(socket, options);
        await simulator.StartAsync(cancellationToken).ConfigureAwait(false);
        return simulator;
    }

    /// <summary>Sends an utterance (8 kHz mono WAV, PCM16 or mu-law); completes when its last frame is sent. Silence frames follow.</summary>
    public Task SayAsync(string wavPath, CancellationToken cancellationToken = default) =>
        SayAsync(WavFile.Read(wavPath).ToMuLaw(), cancellationToken);

    /// <summary>Sends raw 8 kHz mu-law caller audio; completes when its last frame is sent.</summary>
    public Task SayAsync(ReadOnlyMemory<byte> muLaw, CancellationToken cancellationToken = default) =>
        Enqueue(CallerStep.Audio(muLaw.ToArray()), cancellationToken);

    /// <summary>Sends line silence for <paramref name="duration"/> (line time); completes when the last silent frame is sent.</summary>
    public Task SilenceAsync(TimeSpan duration, CancellationToken cancellationToken = default)
    {
        var frames = (int)Math.Ceiling(duration / _options.FrameDuration);
        return Enqueue(CallerStep.Silence(Math.Max(frames, 1)), cancellationToken);
    }

    /// <summary>Sends a <c>dtmf</c> event between two frames.</summary>
    public Task PressAsync(char digit, CancellationToken cancellationToken = default) =>
        "0123456789*#ABCD".Contains(digit, StringComparison.Ordinal)
            ? Enqueue(CallerStep.Digit(digit), cancellationToken)
            : throw new ArgumentOutOfRangeException(nameof(digit), digit, "A DTMF digit is 0-9, *, #, or A-D.");

    /// <summary>
    /// Waits until the bot sends non-silent audio after the caller's last utterance (or, before any
    /// utterance, since the call started). False on timeout.
    /// </summary>
    public async Task<bool> WaitForBotAudioAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        Task wait;
        lock (_gate)
        {
            wait = _botAudio.Task;
        }

        try
        {
            await wait.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Waits until the mark <paramref name="name"/> has been echoed. False on timeout.</summary>
    public async Task<bool> WaitForMarkEchoAsync(string name, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = _clock.Elapsed + timeout;
        while (_clock.Elapsed < deadline)
        {
            if (EchoedMarks.Contains(name))
            {
                return true;
            }

            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }

        return EchoedMarks.Contains(name);
    }

    /// <summary>Sends <c>stop</c> after the queued script, closes the WebSocket and waits (bounded) for the app to close.</summary>
    public async Task HangUpAsync(CancellationToken cancellationToken = default)
    {
        if (!_closed.Task.IsCompleted)
        {
            await Enqueue(CallerStep.HangUp(), cancellationToken).ConfigureAwait(false);
        }

        await CloseAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await CloseAsync().ConfigureAwait(false);
        _socket.Dispose();
        _writer.Dispose();
        _sendLock.Dispose();
        _lineStop.Dispose();
        _stopping.Dispose();
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        await SendAsync(static (w, _, _) => w.WriteConnected(), this, cancellationToken).ConfigureAwait(false);
        var start = new StreamStart
        {
            StreamSid = _options.StreamSid,
            AccountSid = _options.AccountSid,
            CallSid = _options.CallSid,
            Tracks = _options.Tracks,
            CustomParameters = new Dictionary<string, string>(_options.CustomParameters, StringComparer.Ordinal),
            MediaFormat = MediaFormat.MuLaw8Khz,
        };
        await SendAsync(static (w, seq, s) => w.WriteStart(s, seq), start, cancellationToken).ConfigureAwait(false);
        _receiveLoop = Task.Run(() => ReceiveLoopAsync(_stopping.Token), CancellationToken.None);
        _lineLoop = Task.Run(() => LineLoopAsync(_lineStop.Token, _stopping.Token), CancellationToken.None);
    }

    private Task Enqueue(CallerStep step, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_closed.Task.IsCompleted || _lineEnded)
            {
                throw new InvalidOperationException("The call has ended: the stream is closed.");
            }

            _script.Enqueue(step);
        }

        return step.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Ends the call from Twilio's side: the line stops between two frames, then the WebSocket is
    /// closed (each wait bounded by <see cref="CallSimulatorOptions.CloseTimeout"/>), then anything
    /// still running is cancelled.
    /// </summary>
    private async Task CloseAsync()
    {
        await _lineStop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAny(_lineLoop, Task.Delay(_options.CloseTimeout)).ConfigureAwait(false);
        if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try
            {
                using var timeout = new CancellationTokenSource(_options.CloseTimeout);
                await _sendLock.WaitAsync(timeout.Token).ConfigureAwait(false);
                try
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "hangup", timeout.Token).ConfigureAwait(false);
                }
                finally
                {
                    _sendLock.Release();
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The connection is already gone: nothing left to close.
            }
        }

        await Task.WhenAny(_receiveLoop, Task.Delay(_options.CloseTimeout)).ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(Quiet(_lineLoop), Quiet(_receiveLoop)).ConfigureAwait(false);
        if (_socket.State != WebSocketState.Closed)
        {
            _socket.Abort();
        }

        EndLine();
        _closed.TrySetResult();
    }

    private static async Task Quiet(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // Loops end by cancellation or a dropped connection.
        }
    }

    /// <summary>The line is over: no step can be queued any more, and those still queued fail.</summary>
    private void EndLine()
    {
        lock (_gate)
        {
            _lineEnded = true;
            while (_script.TryDequeue(out var step))
            {
                step.Done.TrySetException(new InvalidOperationException("The call ended before this step ran: the stream is closed."));
            }
        }
    }

    private async Task SendAsync<TState>(Func<MediaStreamWriter, long, TState, ReadOnlyMemory<byte>> write, TState state, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The sequence number is taken under the lock so the wire order matches it.
            var message = write(_writer, ++_sequenceNumber, state);
            await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
