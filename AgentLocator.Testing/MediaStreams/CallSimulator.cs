using System.Diagnostics;
using System.Net.WebSockets;
using AgentLocator.Media;

namespace AgentLocator.Testing.MediaStreams;

/// <summary>
/// Twilio's side of a bidirectional Media Stream, as TWILIO.md section 4 documents it, against an app's
/// WebSocket endpoint: <c>connected</c>, <c>start</c> (with the TwiML's <c>&lt;Parameter&gt;</c>s), then a
/// <c>media</c> frame every 20 ms for the whole call, silence included, paced on the wall clock without
/// drift (a late tick is caught up, never shifts later ones); <c>dtmf</c>; <c>stop</c>. It plays the bot's
/// audio at 8,000 bytes/s, echoes each <c>mark</c> once the audio queued before it has played (at once when
/// nothing is queued), and on <c>clear</c> drops the buffered audio and echoes every pending mark at once.
/// Its JSON is its own (<see cref="TwilioWire"/>), written from the documentation, not the app's code.
/// It records what the bot sent, names what Twilio would reject, and times each turn on the line's
/// clock. Script it with <see cref="SayAsync(string, CancellationToken)"/>, <see cref="SilenceAsync"/>,
/// <see cref="UntilBotQuietAsync"/>, <see cref="UntilBotPlayedAsync"/>, <see cref="SayWhenBotPlayedAsync"/>,
/// <see cref="PressAsync"/> and <see cref="HangUpAsync"/>; each step completes when it has gone out on the line.
/// </summary>
public sealed partial class CallSimulator : IAsyncDisposable
{
    private readonly WebSocket _socket;
    private readonly CallSimulatorOptions _options;
    private readonly TwilioWire _wire = new();
    private readonly byte[] _callerFrame;
    private readonly byte[] _playedFrame; // the bot audio heard during the current frame (the line's echo source)
    private readonly Audio.PhoneLine? _line;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly CancellationTokenSource _lineStop = new(); // no more frames after the current one
    private readonly CancellationTokenSource _stopping = new(); // also cancels sends and receives in progress
    private readonly Lock _gate = new();
    private readonly Queue<CallerStep> _script = new();
    private readonly List<BotMessage> _received = [];
    private readonly List<string> _echoedMarks = [];
    private readonly List<MarkEcho> _markEchoes = [];
    private int _clears;
    private readonly List<TurnLatency> _turns = [];
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _botAudio = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _sequenceNumber; // connected carries none; start is "1"
    private long _framesSent;
    private TimeSpan _maxTickLag;
    private bool _lineEnded;
    private int _disposed;
    private Task _lineLoop = Task.CompletedTask;
    private Task _receiveLoop = Task.CompletedTask;

    private CallSimulator(WebSocket socket, CallSimulatorOptions options)
    {
        _socket = socket;
        _options = options;
        _callerFrame = new byte[options.FrameBytes];
        _playedFrame = new byte[options.FrameBytes];
        _line = options.Line?.Open(options.FrameBytes);
    }

    public CallSimulatorOptions Options => _options;

    /// <summary>Completes when the app closes the stream (or the connection drops).</summary>
    public Task Closed => _closed.Task;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseStatusDescription => _socket.CloseStatusDescription;

    /// <summary>Media frames sent so far (caller audio and line silence).</summary>
    public long FramesSent => Interlocked.Read(ref _framesSent);

    /// <summary>The line's clock: frames sent × 20 ms (stream time, whatever the <see cref="CallSimulatorOptions.Speed"/>).</summary>
    public TimeSpan LineTime => _options.FrameDuration * FramesSent;

    /// <summary>Every message the bot sent (empty unless <see cref="CallSimulatorOptions.RecordMessages"/>).</summary>
    public IReadOnlyList<BotMessage> Received
    {
        get { lock (_gate) { return [.. _received]; } }
    }

    /// <summary>
    /// How late the line's most late tick started (wall time past its due time): a simulator that was
    /// itself held up (a loaded machine) sends its frames in a burst when it catches up, which the app
    /// cannot tell from a late network. A failed timing assertion names it.
    /// </summary>
    public TimeSpan MaxTickLag
    {
        get { lock (_gate) { return _maxTickLag; } }
    }

    /// <summary>Each mark echo with when it went out and how many <c>clear</c>s had arrived before it (0: played before any barge-in).</summary>
    public IReadOnlyList<MarkEcho> MarkEchoes
    {
        get { lock (_gate) { return [.. _markEchoes]; } }
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
    public IReadOnlyList<string> ProtocolViolations
    {
        get { lock (_gate) { return [.. _violations]; } }
    }

    /// <summary>All bot audio received, concatenated (mu-law); needs <see cref="CallSimulatorOptions.RecordMessages"/>.</summary>
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

    /// <summary>
    /// Line silence until the bot has played out everything it sent and then been quiet for
    /// <paramref name="quietFor"/> (line time); the next step starts on the line at once.
    /// </summary>
    public Task UntilBotQuietAsync(TimeSpan quietFor = default, CancellationToken cancellationToken = default) =>
        Enqueue(CallerStep.UntilQuiet((int)Math.Ceiling(quietFor / _options.FrameDuration)), cancellationToken);

    /// <summary>
    /// Line silence until the bot's audio played on this line since the call began reaches
    /// <paramref name="totalBytes"/> (8,000 a second); the next step starts on the line at once. With
    /// the length of a question known, this starts an answer a chosen time before the question ends.
    /// An answer queued once this task has completed starts whenever the script's continuation gets a thread
    /// (the line plays on meanwhile: hundreds of ms later on a loaded machine); <see cref="SayWhenBotPlayedAsync"/>
    /// starts it on the frame the wait ends.
    /// </summary>
    public Task UntilBotPlayedAsync(long totalBytes, CancellationToken cancellationToken = default) =>
        Enqueue(CallerStep.UntilPlayed(totalBytes), cancellationToken);

    /// <summary>
    /// <see cref="UntilBotPlayedAsync"/>, then the caller's <paramref name="muLaw"/> from the frame the wait ends on
    /// (<see cref="WaitsEndedAt"/>), both queued at once: the line does not wait for the script between them. Completes
    /// when the utterance's last frame is sent.
    /// </summary>
    public Task SayWhenBotPlayedAsync(long totalBytes, ReadOnlyMemory<byte> muLaw, CancellationToken cancellationToken = default) =>
        Enqueue([CallerStep.UntilPlayed(totalBytes), CallerStep.Audio(muLaw.ToArray())], cancellationToken);

    /// <summary>Sends a <c>dtmf</c> event between two frames.</summary>
    public Task PressAsync(char digit, CancellationToken cancellationToken = default) =>
        "0123456789*#ABCD".Contains(digit, StringComparison.Ordinal)
            ? Enqueue(CallerStep.Digit(digit), cancellationToken)
            : throw new ArgumentOutOfRangeException(nameof(digit), digit, "A DTMF digit is 0-9, *, #, or A-D.");

    /// <summary>
    /// Waits until the bot sends audible audio after the caller's last utterance (or, before any
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
    public Task<bool> WaitForMarkEchoAsync(string name, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        PollAsync(() => EchoedMarks.Contains(name), timeout, cancellationToken);

    /// <summary>Waits until turn <paramref name="turn"/> (1-based) has been answered with audible bot audio on the line. False on timeout.</summary>
    public Task<bool> WaitForTurnAsync(int turn, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        PollAsync(() => Turns.Count >= turn, timeout, cancellationToken);

    /// <summary>Sends <c>stop</c> after the queued script, closes the WebSocket and waits (bounded) for the app to close.</summary>
    public async Task HangUpAsync(CancellationToken cancellationToken = default)
    {
        if (!_closed.Task.IsCompleted)
        {
            try
            {
                await Enqueue(CallerStep.HangUp(), cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // The app closed the stream meanwhile: nothing left to hang up.
            }
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
        _wire.Dispose();
        _sendLock.Dispose();
        _lineStop.Dispose();
        _stopping.Dispose();
    }

    private async Task<bool> PollAsync(Func<bool> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = _clock.Elapsed + timeout;
        while (_clock.Elapsed < deadline)
        {
            if (done())
            {
                return true;
            }

            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }

        return done();
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        await SendAsync(static (w, _, _) => w.Connected(), this, cancellationToken, sequenced: false).ConfigureAwait(false);
        await SendAsync(static (w, seq, o) => w.Start(seq, o), _options, cancellationToken).ConfigureAwait(false);
        _receiveLoop = Task.Run(() => ReceiveLoopAsync(_stopping.Token), CancellationToken.None);
        _lineLoop = _options.Clock is { } shared
            ? shared.Attach(this)
            : Task.Run(() => LineLoopAsync(_stopping.Token), CancellationToken.None);
    }

    private Task Enqueue(CallerStep step, CancellationToken cancellationToken) => Enqueue([step], cancellationToken);

    /// <summary>Queues <paramref name="steps"/> back to back (no frame goes out between them); the task completes when the last is done.</summary>
    private Task Enqueue(CallerStep[] steps, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_closed.Task.IsCompleted || _lineEnded)
            {
                throw new InvalidOperationException("The call has ended: the stream is closed.");
            }

            foreach (var step in steps)
            {
                _script.Enqueue(step);
            }
        }

        return steps[^1].Done.Task.WaitAsync(cancellationToken);
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

    private async Task SendAsync<TState>(Func<TwilioWire, long, TState, ReadOnlyMemory<byte>> write, TState state, CancellationToken cancellationToken,
        bool sequenced = true)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The sequence number is taken under the lock so the wire order matches it.
            var message = write(_wire, sequenced ? ++_sequenceNumber : 0, state);
            await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
