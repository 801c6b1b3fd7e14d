using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using AgentLocator.Data.Calls;
using AgentLocator.Media;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaStreams;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// One Twilio Media Stream: the receive loop (this class: parse, verify <c>start</c>, VAD, turns,
/// barge-in, idle, ending) and the send loop (<see cref="OutboundQueue"/>), joined by a bounded
/// close. Everything per call lives here and is touched only by the receive loop, so a slow or
/// broken call affects no other.
/// </summary>
internal sealed partial class MediaStreamSession : IAsyncDisposable
{
    private readonly WebSocket _socket;
    private readonly MediaStreamOptions _options;
    private readonly MediaStreamServices _services;
    private readonly ILogger _logger;
    private readonly WebSocketMessageReader _reader;
    private byte[] _payload;
    private readonly VoiceActivityDetector _vad;
    private readonly BargeInDetector _bargeIn;
    private readonly PlaybackTracker _playback;
    private OutboundQueue? _outbound;
    private Task _sendLoop = Task.CompletedTask;
    private IConversationEngine? _engine;
    private ConversationContext? _call;
    private StreamStart? _pendingStart;
    private string _callSid = "-";
    private string _streamSid = "-";
    private string? _error;
    private long _frames;

    public MediaStreamSession(WebSocket socket, MediaStreamOptions options, MediaStreamServices services, ILogger logger)
    {
        _socket = socket;
        _options = options;
        _services = services;
        _logger = logger;
        _reader = new WebSocketMessageReader(options.MaxMessageBytes);
        _payload = ArrayPool<byte>.Shared.Rent(1024); // grows for an unusually large frame (up to MaxMessageBytes)
        _callerAudio = ArrayPool<byte>.Shared.Rent(4 * 8000);
        _vad = new VoiceActivityDetector(new VoiceActivityOptions { EndOfTurnSilence = options.SilenceWindow });
        _bargeIn = new BargeInDetector(new BargeInOptions { MinDuration = options.BargeInMinSpeech });
        _playback = new PlaybackTracker(options);
    }

    private enum Next
    {
        Continue,
        Start,
        Turn,
        Idle,
        Voicemail,
        MaxLength,
        EndNow,
        Stop,
        ProtocolError,
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _services.Stats.StreamOpened();
        var closeStatus = WebSocketCloseStatus.NormalClosure;
        var closeReason = "stream ended";
        string stopReason;
        using var startTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        startTimeout.CancelAfter(_options.StartTimeout);
        try
        {
            (stopReason, closeStatus, closeReason) = await ReceiveLoopAsync(startTimeout, cancellationToken);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && _call is null)
        {
            stopReason = "no start";
            (closeStatus, closeReason) = (WebSocketCloseStatus.PolicyViolation, "no start message");
            MediaStreamLog.ProtocolError(_logger, _callSid, "no start within " + _options.StartTimeout);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The peer vanished (or the send loop aborted a stalled socket): nothing left to say to it.
            stopReason = "connection lost";
            _error ??= "connection lost";
        }
        catch (Exception ex)
        {
            MediaStreamLog.Error(_logger, _callSid, "stream", ex);
            stopReason = "error";
            _error ??= "internal error";
            (closeStatus, closeReason) = (WebSocketCloseStatus.InternalServerError, "internal error");
        }

        await CloseAsync(closeStatus, closeReason);
        await FinishRecordsAsync(stopReason);
        _services.Stats.StreamClosed();
    }

    private async Task<(string Stop, WebSocketCloseStatus Status, string Reason)> ReceiveLoopAsync(
        CancellationTokenSource startTimeout, CancellationToken cancellationToken)
    {
        while (true)
        {
            var kind = await _reader.ReceiveAsync(_socket, startTimeout.Token);
            Next next;
            long receivedAt = Stopwatch.GetTimestamp();
            switch (kind)
            {
                case WebSocketMessageKind.Close:
                    return ("peer closed", WebSocketCloseStatus.NormalClosure, "closed by peer");
                case WebSocketMessageKind.TooLarge:
                    next = Fail($"message larger than {_options.MaxMessageBytes} bytes");
                    break;
                case WebSocketMessageKind.Binary:
                    next = Fail("binary message: Media Streams messages are JSON text");
                    break;
                default:
                    next = Dispatch(_reader.Message.Span, receivedAt);
                    break;
            }

            switch (next)
            {
                case Next.Start:
                    if (!await StartAsync(cancellationToken))
                    {
                        return ("rejected", WebSocketCloseStatus.PolicyViolation, _error!);
                    }

                    startTimeout.CancelAfter(Timeout.InfiniteTimeSpan);
                    break;
                case Next.Turn:
                    await TakeTurnAsync(cancellationToken);
                    break;
                case Next.Idle:
                    await IdleAsync(cancellationToken);
                    break;
                case Next.Voicemail:
                    await VoicemailAsync(cancellationToken);
                    break;
                case Next.MaxLength:
                    await PlayAsync(new ConversationReply([Prompt(Media.PromptKeys.Goodbye)], CallEnd.HangUp, "max_call_length"), null, cancellationToken);
                    break;
                case Next.EndNow:
                    return await EndCallAsync(cancellationToken);
                case Next.Stop:
                    return ("stop", WebSocketCloseStatus.NormalClosure, "stream stopped");
                case Next.ProtocolError:
                    MediaStreamLog.ProtocolError(_logger, _callSid, _error!);
                    return ("protocol error", _started ? WebSocketCloseStatus.ProtocolError : WebSocketCloseStatus.PolicyViolation, _error!);
            }

            if (_endNow)
            {
                return await EndCallAsync(cancellationToken);
            }
        }
    }

    /// <summary>Handles one message synchronously (the parsed message points into the reader's buffer); returns what to do next.</summary>
    private Next Dispatch(ReadOnlySpan<byte> json, long receivedAt)
    {
        var status = MediaStreamParser.TryParse(json, out var message, _options.MaxMessageBytes);
        switch (status)
        {
            case MediaStreamParseStatus.Ok:
                break;
            case MediaStreamParseStatus.UnknownEvent:
                return Fail($"unknown event '{Truncate(message.UnknownEventName, 40)}'");
            case MediaStreamParseStatus.TooLarge:
                return Fail($"message larger than {_options.MaxMessageBytes} bytes");
            case MediaStreamParseStatus.MalformedJson:
                return Fail("malformed JSON");
            default:
                return Fail("invalid message: " + Truncate(message.Error, 80));
        }

        switch (message.EventType)
        {
            case MediaStreamEventType.Connected:
                return _started ? Fail("connected after start") : Next.Continue;

            case MediaStreamEventType.Start:
                if (_started || _pendingStart is not null)
                {
                    return Fail("a second start");
                }

                _pendingStart = message.Start;
                return Next.Start;

            case MediaStreamEventType.Media:
                if (!_started)
                {
                    return Fail("media before start");
                }

                if (message.Track is MediaTrack.Outbound or MediaTrack.Other)
                {
                    return Next.Continue;
                }

                if (message.PayloadLength > _payload.Length)
                {
                    ArrayPool<byte>.Shared.Return(_payload);
                    _payload = ArrayPool<byte>.Shared.Rent(message.PayloadLength);
                }

                if (!message.TryDecodePayload(_payload, out var length))
                {
                    return Fail("media payload is not base64");
                }

                var timestamp = message.TimestampMs >= 0 ? TimeSpan.FromMilliseconds(message.TimestampMs) : _streamNow;
                var next = OnFrame(_payload.AsSpan(0, length), timestamp, receivedAt);
                _services.Stats.RecordFrame(Stopwatch.GetTimestamp() - receivedAt);
                return next;

            case MediaStreamEventType.Dtmf:
                if (!_started)
                {
                    return Fail("dtmf before start");
                }

                return message.Digit == "*" && _ending == CallEnd.None ? Next.Voicemail : Next.Continue;

            case MediaStreamEventType.Mark:
                if (!_started)
                {
                    return Fail("mark before start");
                }

                _playback.OnMarkEcho(message.MarkName!, _streamNow);
                return EndingDue() ? Next.EndNow : Next.Continue;

            case MediaStreamEventType.Stop:
                return _started ? Next.Stop : Fail("stop before start");

            default:
                return Fail($"unexpected '{message.EventType}' from Twilio");
        }
    }

    private Next Fail(string reason)
    {
        _error = reason;
        return Next.ProtocolError;
    }

    private static string Truncate(string? text, int max) =>
        text is null ? "" : text.Length <= max ? text : text[..max];

    private async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        _outbound?.Complete();
        try
        {
            await _sendLoop.WaitAsync(_options.CloseTimeout);
        }
        catch (Exception ex) when (ex is TimeoutException or WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A stalled or dead peer: the socket is aborted below.
        }

        try
        {
            using var timeout = new CancellationTokenSource(_options.CloseTimeout);
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync(status, CloseReason(reason), timeout.Token);
            }

            // Wait (bounded) for the peer's close so the handshake completes cleanly.
            var scratch = new byte[1024];
            while (_socket.State == WebSocketState.CloseSent)
            {
                var result = await _socket.ReceiveAsync(scratch, timeout.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Bounded: whatever is left is aborted.
        }

        if (_socket.State != WebSocketState.Closed)
        {
            _socket.Abort();
        }
    }

    /// <summary>A close reason is at most 123 UTF-8 bytes.</summary>
    private static string CloseReason(string reason)
    {
        while (Encoding.UTF8.GetByteCount(reason) > 120)
        {
            reason = reason[..^1];
        }

        return reason;
    }

    private async Task FinishRecordsAsync(string stopReason)
    {
        if (_call is null)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await _services.Records.StreamStoppedAsync(_callSid, _error, timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            MediaStreamLog.Error(_logger, _callSid, "stream_stopped", ex);
        }

        await PublishAsync(CallEvent.Ended, ("reason", stopReason));
        MediaStreamLog.WsStop(_logger, _callSid, _streamSid, stopReason, _frames, _turnCount);
    }

    private async Task PublishAsync(string type, params (string Key, string Value)[] data)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _services.Sessions.PublishAsync(new CallEvent(type, _callSid, _services.Clock.GetUtcNow(),
                data.ToDictionary(d => d.Key, d => d.Value)), timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Live events are best effort (Redis may be down); the call goes on.
            MediaStreamLog.Error(_logger, _callSid, "publish " + type, ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_engine is not null)
        {
            await _engine.DisposeAsync();
        }

        _reader.Dispose();
        ArrayPool<byte>.Shared.Return(_payload);
        ArrayPool<byte>.Shared.Return(_callerAudio);
    }
}
