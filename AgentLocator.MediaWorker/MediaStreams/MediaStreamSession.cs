using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using AgentLocator.Data.Calls;
using AgentLocator.Media;
using AgentLocator.MediaStreams;
using AgentLocator.MediaWorker.Conversation;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// One Twilio Media Stream. This file is the connection: the receive loop (parse, verify <c>start</c>,
/// dispatch each message), its deadlines, and the bounded close. The other concerns each keep their
/// own state in their own file: turn taking (<c>.TurnTaking.cs</c>), playback and the send loop
/// (<c>.Playback.cs</c>), ending the call, normally or by failure (<c>.Ending.cs</c>). Everything per
/// call lives here and is touched only by the receive loop (the send loop owns its queue), so a slow
/// or broken call affects no other.
/// </summary>
internal sealed partial class MediaStreamSession : IAsyncDisposable
{
    private readonly WebSocket _socket;
    private readonly MediaStreamOptions _options;
    private readonly MediaStreamServices _services;
    private readonly ILogger _logger;
    private readonly WebSocketMessageReader _reader;
    private byte[] _payload;
    private StreamStart? _pendingStart;
    private bool _started;
    private ConversationContext? _call;
    private string _callSid = "-";
    private string _streamSid = "-";
    private long _frames;
    private long _receiveDeadlineArmedAt;

    /// <summary>The stream clock: the end of the last caller frame (Twilio's <c>media.timestamp</c>).</summary>
    private TimeSpan _streamNow;

    /// <summary>When (<see cref="Stopwatch"/> timestamp) the message that set <see cref="_streamNow"/> arrived.</summary>
    private long _streamNowReceivedAt;

    /// <summary>When (<see cref="Stopwatch"/> timestamp) <c>start</c> arrived: stream time 0 on the wall clock, for timing releases.</summary>
    private long _streamStartedAt;

    public MediaStreamSession(WebSocket socket, MediaStreamOptions options, MediaStreamServices services, ILogger logger)
    {
        _socket = socket;
        _options = options;
        _services = services;
        _logger = logger;
        _reader = new WebSocketMessageReader(options.MaxMessageBytes);
        _payload = ArrayPool<byte>.Shared.Rent(1024); // grows for an unusually large frame (up to MaxMessageBytes)
        _speech = services.SpeechDetectors.Create(options.SilenceWindow);
        _bargeIn = new BargeInListener(new BargeInOptions { MinDuration = options.BargeInMinSpeech });
        _playback = new PlaybackTracker(options);
    }

    /// <summary>What the receive loop does after a message.</summary>
    private enum Next
    {
        Continue,
        Start,
        Turn,
        Idle,
        Posted,
        Voicemail,
        MaxLength,
        EndNow,
        Stop,
        ProtocolError,
    }

    /// <summary>How the stream ended: the reason recorded on WS_STOP and the WebSocket close.</summary>
    private readonly record struct StreamEnd(string Stop, WebSocketCloseStatus Status, string Reason);

    /// <param name="stopping">Ends the stream: the connection was aborted, or the server is stopping.</param>
    /// <param name="serverStopping">The server is stopping (one of <paramref name="stopping"/>'s causes).</param>
    public async Task RunAsync(CancellationToken stopping, CancellationToken serverStopping)
    {
        _services.Stats.StreamOpened();
        // Before start: the start deadline. After it: the longest gap between two of Twilio's messages.
        using var receive = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        receive.CancelAfter(_options.StartTimeout);
        StreamEnd end;
        try
        {
            end = await ReceiveLoopAsync(receive);
        }
        catch (Exception ex) when (_call is not null && ex is not OutOfMemoryException)
        {
            // The call is live and its receive loop died: find out why, then send the caller to voicemail.
            _failure ??= await ClassifyAsync(ex, serverStopping);
            end = default;
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested && !_started)
        {
            _error = "no start message";
            end = new StreamEnd("no start", WebSocketCloseStatus.PolicyViolation, _error);
            MediaStreamLog.ProtocolError(_logger, _callSid, "no start within " + _options.StartTimeout);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Before start: the peer vanished; the stream-start watchdog still sends the caller to voicemail.
            _error ??= "connection lost";
            end = new StreamEnd("connection lost", WebSocketCloseStatus.NormalClosure, "stream ended");
        }
        catch (Exception ex)
        {
            MediaStreamLog.Error(_logger, _callSid, "stream", ex);
            _error ??= "internal error";
            end = new StreamEnd("error", WebSocketCloseStatus.InternalServerError, "internal error");
        }

        ResumeSessionSpan();
        if (_failure is not null)
        {
            end = await FailCallAsync(_failure);
        }

        await CloseAsync(end.Status, end.Reason);
        await FinishRecordsAsync(end.Stop);
        EndSessionSpan(end.Stop ?? "");
        _services.Stats.StreamClosed();
    }

    private async Task<StreamEnd> ReceiveLoopAsync(CancellationTokenSource receive)
    {
        var stopping = CancellationToken.None; // awaits below are bounded by their own timeouts
        while (true)
        {
            if (_started && Stopwatch.GetElapsedTime(_receiveDeadlineArmedAt) >= TimeSpan.FromSeconds(1))
            {
                ArmReceiveDeadline(receive); // re-armed about once a second: a dead line is found within ReceiveTimeout
            }

            var kind = await _reader.ReceiveAsync(_socket, receive.Token);
            Next next;
            long receivedAt = Stopwatch.GetTimestamp();
            switch (kind)
            {
                case WebSocketMessageKind.Close:
                    _peerClosed = true;
                    return new StreamEnd("peer closed", WebSocketCloseStatus.NormalClosure, "closed by peer");
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

            if (next is Next.Continue && HasPosted)
            {
                next = Next.Posted; // a streaming engine acted on its own: run it now, within a frame
            }

            if (next is Next.Continue)
            {
                if (_endNow)
                {
                    return await EndCallAsync();
                }

                continue;
            }

            // What follows waits (Postgres, Redis, the engine), each bounded by its own timeout: the
            // receive deadline must not count that time as a silent line.
            receive.CancelAfter(Timeout.InfiniteTimeSpan);
            _receiveDeadlineArmedAt = long.MaxValue / 2; // disarmed
            switch (next)
            {
                case Next.Start:
                    if (!await StartAsync(receive, stopping))
                    {
                        return new StreamEnd("rejected", WebSocketCloseStatus.PolicyViolation, _error!);
                    }

                    ResumeSessionSpan();
                    break;
                case Next.Turn:
                    await TakeTurnAsync(stopping);
                    break;
                case Next.Idle:
                    await IdleAsync(stopping);
                    break;
                case Next.Posted:
                    await RunPostedAsync(stopping);
                    break;
                case Next.Voicemail:
                    await VoicemailAsync();
                    break;
                case Next.MaxLength:
                    await PlayAsync(new ConversationReply([Prompt(PromptKeys.Goodbye)], CallEnd.HangUp, "max_call_length"), null);
                    break;
                case Next.EndNow:
                    return await EndCallAsync();
                case Next.Stop:
                    _stopReceived = true;
                    return new StreamEnd("stop", WebSocketCloseStatus.NormalClosure, "stream stopped");
                case Next.ProtocolError:
                    MediaStreamLog.ProtocolError(_logger, _callSid, _error!);
                    return new StreamEnd("protocol error", _started ? WebSocketCloseStatus.ProtocolError : WebSocketCloseStatus.PolicyViolation, _error!);
            }

            if (_failure is not null)
            {
                return default; // RunAsync ends the call visibly
            }

            if (_started)
            {
                ArmReceiveDeadline(receive);
            }

            if (_endNow)
            {
                return await EndCallAsync();
            }
        }
    }

    private void ArmReceiveDeadline(CancellationTokenSource receive)
    {
        receive.CancelAfter(_options.ReceiveTimeout);
        _receiveDeadlineArmedAt = Stopwatch.GetTimestamp();
    }

    /// <summary>Whether the armed receive deadline has passed: the line has been silent for <see cref="MediaStreamOptions.ReceiveTimeout"/>.</summary>
    private bool ReceiveDeadlinePassed => _started && Stopwatch.GetElapsedTime(_receiveDeadlineArmedAt) >= _options.ReceiveTimeout;

    /// <summary>
    /// Handles one message synchronously (the parsed message points into the reader's buffer); returns what to do next.
    /// What touches playback holds <see cref="_playbackLock"/>; parsing, decoding and speech detection run outside it, so a
    /// streaming engine's reply audio never waits for them.
    /// </summary>
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
                _streamNowReceivedAt = receivedAt; // stream time 0: Twilio's frames follow at once
                _streamStartedAt = receivedAt;
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

                lock (_playbackLock)
                {
                    if (_playback.OnMarkEcho(message.MarkName!, _streamNow) is { } anchored)
                    {
                        MediaStreamLog.PlaybackStart(_logger, _callSid, anchored.Id, (long)anchored.StartAt.TotalMilliseconds, (long)anchored.Moved.TotalMilliseconds);
                    }

                    return EndingDue() ? Next.EndNow : Next.Continue;
                }

            case MediaStreamEventType.Stop:
                return _started ? Next.Stop : Fail("stop before start");

            default:
                return Fail($"unexpected '{message.EventType}' from Twilio");
        }
    }

    /// <summary>
    /// <c>start</c>: verify the per-call token and the media format, record the stream (bounded: the call
    /// goes on while Postgres or Redis recover), start the send loop and play the engine's first reply.
    /// </summary>
    private async Task<bool> StartAsync(CancellationTokenSource receive, CancellationToken cancellationToken)
    {
        var start = _pendingStart!;
        _callSid = start.CallSid;
        _streamSid = start.StreamSid;
        var parameters = start.CustomParameters;
        parameters.TryGetValue("token", out var token);
        StartSessionSpan(start);

        var session = await BoundedAsync("session lookup", ct => _services.Sessions.GetAsync(start.CallSid, ct), null, cancellationToken);
        var lookedUp = Stopwatch.GetTimestamp();
        Guid callId, businessId;
        if (session is not null)
        {
            (callId, businessId) = (session.CallId, session.BusinessId);
        }
        else if (!(parameters.TryGetValue("callId", out var callIdText) && Guid.TryParse(callIdText, out callId)
            && parameters.TryGetValue("businessId", out var businessIdText) && Guid.TryParse(businessIdText, out businessId)))
        {
            return Reject("missing call parameters");
        }

        if (parameters.TryGetValue("callSid", out var parameterCallSid) && parameterCallSid != start.CallSid)
        {
            return Reject("callSid parameter does not match the stream");
        }

        if (!_services.Tokens.Verify(token, start.CallSid, callId, businessId))
        {
            return Reject("invalid stream token");
        }

        if (!start.MediaFormat.IsMuLaw8KhzMono)
        {
            return Reject("unsupported media format " + start.MediaFormat.Encoding);
        }

        _started = true;
        var disarm = BoundedAsync("watchdog disarm", async ct => { await _services.Sessions.DisarmWatchdogAsync(_callSid, ct); return true; }, false, cancellationToken);
        var call = await BoundedAsync("stream_started", ct => _services.Records.StreamStartedAsync(_callSid, _streamSid, ct), null, cancellationToken);
        await disarm;
        var recorded = Stopwatch.GetTimestamp();

        // The row is the call: a webhook that answered before its write (Postgres over budget) carries an id of its own, and
        // when Twilio's retry of it wrote the row first, that id never became a row. Transcript, lead and engine go to the row.
        if (call is not null && call.CallId != callId)
        {
            MediaStreamLog.CallIdFromRow(_logger, _callSid, callId, call.CallId);
            callId = call.CallId;
        }

        _call = new ConversationContext(_callSid, _streamSid, callId, businessId, session?.CustomerId ?? call?.CustomerId,
            call?.IsTest ?? TestTraffic.IsTestCall(_callSid));
        MediaStreamLog.WsStart(_logger, _callSid, _streamSid, session is null ? "parameters" : "redis");
        Publish(CallEvent.StreamStarted, ("streamSid", _streamSid));

        StartSending(receive);
        _engine = _services.Engines.Create(_call);
        AttachStreamingEngine();
        var first = await AskEngineAsync("start", _engine.StartAsync, cancellationToken);
        var answered = Stopwatch.GetTimestamp();
        if (first is not null)
        {
            await PlayAsync(first, null);
        }

        _services.Stats.RecordStart(new MediaStreamStats.StreamStartTiming(_streamStartedAt, Stopwatch.GetElapsedTime(_streamStartedAt, lookedUp),
            Stopwatch.GetElapsedTime(lookedUp, recorded), Stopwatch.GetElapsedTime(recorded, answered), Stopwatch.GetElapsedTime(answered)));
        return true;
    }

    /// <summary>A Postgres or Redis call the receive loop waits for, bounded by <see cref="MediaStreamOptions.StoreTimeout"/>; a failure is logged and <paramref name="fallback"/> returned.</summary>
    private async Task<T> BoundedAsync<T>(string stage, Func<CancellationToken, Task<T>> call, T fallback, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StoreTimeout);
        try
        {
            return await call(timeout.Token).WaitAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException && !cancellationToken.IsCancellationRequested)
        {
            MediaStreamLog.Error(_logger, _callSid, stage, ex);
            return fallback;
        }
    }

    private bool Reject(string reason)
    {
        _error = reason;
        MediaStreamLog.WsRejected(_logger, _callSid, _streamSid, reason);
        return false;
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
        await StopSendingAsync();
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

    public async ValueTask DisposeAsync()
    {
        EndSessionSpan("disposed");
        _playout?.Dispose();
        if (_engine is not null)
        {
            await _engine.DisposeAsync();
        }

        _reader.Dispose();
        _callerAudio.Dispose();
        _speech.Dispose();
        ArrayPool<byte>.Shared.Return(_payload);
    }
}
