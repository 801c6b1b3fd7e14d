using System.Buffers;
using System.Diagnostics;
using AgentLocator.Data.Calls;
using AgentLocator.Media;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaStreams;

namespace AgentLocator.MediaWorker.MediaStreams;

internal sealed partial class MediaStreamSession
{
    private const int BytesPerMs = 8;
    private static readonly TimeSpan PreRoll = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan PostRoll = TimeSpan.FromMilliseconds(150);
    private static readonly int MaxUtteranceBytes = 60 * 8000;

    private byte[] _callerAudio;
    private int _callerAudioLength;
    private TimeSpan _callerAudioStart;
    private bool _started;
    private TimeSpan _streamNow;
    private TimeSpan _lastActivity;
    private int _idleCount;
    private int _turnCount;
    private CallEnd _ending;
    private string _endReason = "";
    private ScheduledReply? _finalReply;
    private bool _endNow;
    private PendingTurn? _pendingTurn;
    private bool _wasPlaying;
    private TimeSpan _playbackEndedAt;
    private bool _interruptedDuringSpeech;

    /// <summary>Speech that overlapped playback by more than this without interrupting it is the bot's echo or a back-channel, not a turn.</summary>
    private static readonly TimeSpan OverlapTolerance = TimeSpan.FromMilliseconds(300);

    private sealed record PendingTurn(byte[] Audio, TimeSpan Duration, TimeSpan SpeechEndedAt, long FrameReceivedAt);

    private async Task<bool> StartAsync(CancellationToken cancellationToken)
    {
        var start = _pendingStart!;
        _callSid = start.CallSid;
        _streamSid = start.StreamSid;
        var parameters = start.CustomParameters;
        parameters.TryGetValue("token", out var token);

        CallSession? session = null;
        try
        {
            session = await _services.Sessions.GetAsync(start.CallSid, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MediaStreamLog.Error(_logger, _callSid, "session lookup", ex);
        }

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
        var disarm = DisarmAsync(cancellationToken);
        Data.Model.Call? call = null;
        try
        {
            call = await _services.Records.GetCallAsync(_callSid, cancellationToken);
            await _services.Records.StreamStartedAsync(_callSid, _streamSid, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The conversation can still run (and its answers be kept) while Postgres recovers.
            MediaStreamLog.Error(_logger, _callSid, "stream_started", ex);
        }

        await disarm;
        _call = new ConversationContext(_callSid, _streamSid, callId, businessId, session?.CustomerId ?? call?.CustomerId,
            call?.IsTest ?? TestTraffic.IsTestCall(_callSid));
        MediaStreamLog.WsStart(_logger, _callSid, _streamSid, session is null ? "parameters" : "redis");
        await PublishAsync(CallEvent.StreamStarted, ("streamSid", _streamSid));

        _outbound = new OutboundQueue(_socket, _streamSid, _options.SendQueueFrames, _options.CloseTimeout);
        var outbound = _outbound;
        _sendLoop = Task.Run(() => outbound.RunAsync(CancellationToken.None), CancellationToken.None);
        _engine = _services.Engines.Create(_call);
        ConversationReply reply;
        try
        {
            reply = await _engine.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MediaStreamLog.Error(_logger, _callSid, "engine start", ex);
            reply = new ConversationReply([], CallEnd.Voicemail, "engine_error");
        }

        await PlayAsync(reply, null, cancellationToken);
        return true;
    }

    private async Task DisarmAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _services.Sessions.DisarmWatchdogAsync(_callSid, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MediaStreamLog.Error(_logger, _callSid, "watchdog disarm", ex);
        }
    }

    private bool Reject(string reason)
    {
        _error = reason;
        MediaStreamLog.WsRejected(_logger, _callSid, _streamSid, reason);
        return false;
    }

    /// <summary>One caller frame: VAD, barge-in, playback release, idle and ending checks. Synchronous and allocation-free.</summary>
    private Next OnFrame(ReadOnlySpan<byte> frame, TimeSpan timestamp, long receivedAt)
    {
        _frames++;
        var frameEnd = timestamp + TimeSpan.FromTicks(frame.Length * TimeSpan.TicksPerSecond / 8000);
        _streamNow = frameEnd;
        AppendCallerAudio(frame, timestamp);
        var next = Next.Continue;

        var playing = _playback.IsPlaying(frameEnd);
        if (playing && _ending == CallEnd.None)
        {
            var bot = _playback.FrameAt(timestamp);
            if (bot.IsEmpty)
            {
                _bargeIn.ObservePlaybackLevel(AudioLevel.SilenceDbfs, PlaybackTracker.FrameDuration);
            }
            else
            {
                _bargeIn.ObservePlayback(bot);
            }

            if (_bargeIn.Process(frame, timestamp, out _, _vad.NoiseFloorDbfs))
            {
                var current = _playback.Current!;
                var heard = _playback.Interrupt(frameEnd);
                _outbound!.Clear(current.Id);
                MediaStreamLog.BargeIn(_logger, _callSid, current.Id, (int)(heard?.Heard.TotalMilliseconds ?? 0), (int)current.Duration.TotalMilliseconds);
                playing = false;
                _interruptedDuringSpeech = true;
            }
        }
        else
        {
            _bargeIn.ObservePlaybackLevel(AudioLevel.SilenceDbfs, PlaybackTracker.FrameDuration);
        }

        if (_wasPlaying && !playing)
        {
            _playbackEndedAt = frameEnd;
        }

        _wasPlaying = playing;
        var activity = _vad.Process(frame, timestamp);
        if (activity.Kind == VoiceActivityEventKind.SpeechStarted || _vad.IsSpeaking)
        {
            _lastActivity = frameEnd;
            _idleCount = 0;
        }
        else if (activity.Kind == VoiceActivityEventKind.SpeechEnded)
        {
            _lastActivity = frameEnd;
            // Speech under a reply that did not interrupt it is the bot's own echo or a back-channel "mm".
            var overlapped = playing || (!_interruptedDuringSpeech && _vad.SpeechStartedAt < _playbackEndedAt - OverlapTolerance);
            _interruptedDuringSpeech = false;
            if (_ending == CallEnd.None && !overlapped)
            {
                _pendingTurn = new PendingTurn(CutUtterance(_vad.SpeechStartedAt, activity.At), activity.Duration, activity.At, receivedAt);
                next = Next.Turn;
            }
        }

        if (_outbound is not null)
        {
            _playback.Release(frameEnd, _outbound);
            _outbound.Flush();
        }

        if (_ending != CallEnd.None)
        {
            return EndingDue() ? Next.EndNow : next;
        }

        if (next == Next.Continue)
        {
            if (frameEnd >= _options.MaxCallLength)
            {
                return Next.MaxLength;
            }

            var quietSince = _lastActivity > _playback.ScheduledEnd ? _lastActivity : _playback.ScheduledEnd;
            if (!playing && !_vad.IsSpeaking && frameEnd - quietSince >= _options.IdleReprompt)
            {
                return Next.Idle;
            }
        }

        return next;
    }

    private bool EndingDue() =>
        _ending != CallEnd.None && (_finalReply is null || _finalReply.Finished || !_playback.IsPlaying(_streamNow));

    private async Task TakeTurnAsync(CancellationToken cancellationToken)
    {
        var turn = _pendingTurn!;
        _pendingTurn = null;
        var number = ++_turnCount;
        MediaStreamLog.HebrewSpeech(_logger, _callSid, number, (int)turn.Duration.TotalMilliseconds);
        ConversationReply reply;
        try
        {
            reply = await _engine!.OnCallerTurnAsync(new CallerTurn(number, turn.Audio, turn.Duration, _playback.LastHeard), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MediaStreamLog.Error(_logger, _callSid, "engine turn", ex);
            reply = new ConversationReply([], CallEnd.Voicemail, "engine_error");
        }

        await PlayAsync(reply, turn, cancellationToken);
        await PublishAsync(CallEvent.Turn, ("turn", number.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("speechMs", ((int)turn.Duration.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    private async Task IdleAsync(CancellationToken cancellationToken)
    {
        _idleCount++;
        _lastActivity = _streamNow;
        MediaStreamLog.Idle(_logger, _callSid, _idleCount);
        ConversationReply reply;
        try
        {
            reply = await _engine!.OnIdleAsync(_idleCount, _playback.LastHeard, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MediaStreamLog.Error(_logger, _callSid, "engine idle", ex);
            reply = new ConversationReply([], CallEnd.Voicemail, "engine_error");
        }

        await PlayAsync(reply, null, cancellationToken);
    }

    /// <summary>The caller pressed <c>*</c>: stop what plays, record why, (optionally) say so, then close so Twilio asks stream_ended.</summary>
    private Task VoicemailAsync(CancellationToken cancellationToken)
    {
        if (_playback.Current is { } current)
        {
            _playback.Interrupt(_streamNow);
            _outbound!.Clear(current.Id);
        }

        IReadOnlyList<ReplySegment> segments = _options.PlayVoicemailTransfer ? [Prompt(PromptKeys.VoicemailTransfer)] : [];
        return PlayAsync(new ConversationReply(segments, CallEnd.Voicemail, "caller_request"), null, cancellationToken);
    }

    private ReplySegment Prompt(string key) => new(key, _services.Prompts[key].MuLaw);

    /// <summary>Schedules a reply (its first frames go out now) and, for a final reply, records the ending first.</summary>
    private async Task PlayAsync(ConversationReply reply, PendingTurn? turn, CancellationToken cancellationToken)
    {
        ScheduledReply? scheduled = null;
        if (reply.Segments.Count > 0 && reply.Segments.Sum(s => s.MuLaw.Length) > 0)
        {
            scheduled = _playback.Enqueue(reply.Segments, _streamNow, reply.End);
            _bargeIn.Reset();
            _playback.Release(_streamNow, _outbound!);
            if (turn is not null)
            {
                var engine = Stopwatch.GetElapsedTime(turn.FrameReceivedAt);
                var latency = _streamNow - turn.SpeechEndedAt + engine;
                MediaStreamLog.PingPongTx(_logger, _callSid, scheduled.Id, scheduled.Label, Math.Round(latency.TotalMilliseconds, 1), Math.Round(engine.TotalMilliseconds, 1));
            }
        }

        if (reply.End != CallEnd.None)
        {
            await BeginEndingAsync(reply.End, reply.Reason ?? reply.End.ToString().ToLowerInvariant(), scheduled, cancellationToken);
        }
    }

    private async Task BeginEndingAsync(CallEnd end, string reason, ScheduledReply? finalReply, CancellationToken cancellationToken)
    {
        _ending = end;
        _endReason = reason;
        _finalReply = finalReply;
        MediaStreamLog.CallEnding(_logger, _callSid, end.ToString(), reason);
        try
        {
            // Recorded before the socket closes, so /webhook/stream_ended answers the right TwiML.
            switch (end)
            {
                case CallEnd.Completed:
                    await _services.Records.CompleteConversationAsync(_callSid, _call!.CallId, _call.IsTest, cancellationToken);
                    break;
                case CallEnd.Voicemail:
                    await _services.Records.FallbackAsync(_callSid, reason, cancellationToken);
                    await PublishAsync(CallEvent.Fallback, ("reason", reason));
                    break;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MediaStreamLog.Error(_logger, _callSid, "ending " + end, ex);
        }

        _endNow = finalReply is null;
    }

    /// <summary>The final reply has played: hang up through the REST API (or just close for voicemail).</summary>
    private async Task<(string, System.Net.WebSockets.WebSocketCloseStatus, string)> EndCallAsync(CancellationToken cancellationToken)
    {
        if (_ending is CallEnd.Completed or CallEnd.HangUp)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(_options.CloseTimeout);
                await _services.Records.HangUpAsync(_callSid, timeout.Token);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Closing the socket still ends it: stream_ended answers goodbye (completed) or voicemail.
                MediaStreamLog.Error(_logger, _callSid, "hang up", ex);
            }
        }

        var reason = _ending == CallEnd.Voicemail ? "voicemail: " + _endReason : "call ended: " + _endReason;
        return (_endReason, System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, reason);
    }

    private void AppendCallerAudio(ReadOnlySpan<byte> frame, TimeSpan timestamp)
    {
        if (_callerAudioLength == 0)
        {
            _callerAudioStart = timestamp;
        }

        if (!_vad.IsSpeaking && _callerAudioLength > 2 * 8000)
        {
            Drop(_callerAudioLength - 8000);
        }

        if (_callerAudioLength + frame.Length > _callerAudio.Length)
        {
            if (_callerAudio.Length >= MaxUtteranceBytes)
            {
                Drop(_callerAudio.Length / 2);
            }
            else
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(_callerAudio.Length * 2, MaxUtteranceBytes));
                _callerAudio.AsSpan(0, _callerAudioLength).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_callerAudio);
                _callerAudio = bigger;
            }
        }

        frame.CopyTo(_callerAudio.AsSpan(_callerAudioLength));
        _callerAudioLength += frame.Length;
    }

    private void Drop(int bytes)
    {
        _callerAudio.AsSpan(bytes, _callerAudioLength - bytes).CopyTo(_callerAudio);
        _callerAudioLength -= bytes;
        _callerAudioStart += TimeSpan.FromTicks(bytes * TimeSpan.TicksPerSecond / 8000);
    }

    private byte[] CutUtterance(TimeSpan onset, TimeSpan end)
    {
        var from = Math.Clamp((int)((onset - PreRoll - _callerAudioStart).TotalMilliseconds * BytesPerMs), 0, _callerAudioLength);
        var to = Math.Clamp((int)((end + PostRoll - _callerAudioStart).TotalMilliseconds * BytesPerMs), from, _callerAudioLength);
        return _callerAudio.AsSpan(from, to - from).ToArray();
    }
}
