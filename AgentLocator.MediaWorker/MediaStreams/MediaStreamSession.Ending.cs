using System.Net.WebSockets;
using AgentLocator.Data.Calls;
using AgentLocator.Media;
using AgentLocator.MediaWorker.Conversation;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// Ending the call. Normally: the engine's final reply (goodbye, or <c>*</c> for voicemail) is recorded
/// at once and played, then the call is hung up through the REST API (or, for voicemail, the stream is
/// closed so Twilio asks <c>/webhook/stream_ended</c>). By failure (<see cref="CallFailure"/>: the send
/// loop, the receive loop or the engine died while the call was live): logged, counted, recorded as the
/// fallback reason, and the caller redirected to voicemail through the REST API.
/// </summary>
internal sealed partial class MediaStreamSession
{
    private static readonly TimeSpan RecordTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(2);
    private readonly Lock _publishGate = new(); // the receive loop and the ending's record write both publish
    private Task _publishing = Task.CompletedTask;

    private CallEnd _ending;
    private string _endReason = "";
    private ScheduledReply? _finalReply;
    private bool _endNow;
    private Task _endingWrite = Task.CompletedTask;
    private CallFailure? _failure;
    private bool _stopReceived;
    private bool _peerClosed;

    /// <summary>Why the stream stopped abnormally (recorded as the call's <c>stream_error</c>).</summary>
    private string? _error;

    /// <summary>The caller pressed <c>*</c>: stop what plays, record why, (optionally) say so, then close so Twilio asks stream_ended.</summary>
    private Task VoicemailAsync()
    {
        lock (_playbackLock)
        {
            if (_playback.Current is { } current)
            {
                _playback.Interrupt(_streamNow);
                _outbound!.Clear(current.Id);
            }
        }

        IReadOnlyList<ReplySegment> segments = _options.PlayVoicemailTransfer ? [Prompt(PromptKeys.VoicemailTransfer)] : [];
        return PlayAsync(new ConversationReply(segments, CallEnd.Voicemail, "caller_request"), null);
    }

    private ReplySegment Prompt(string key) => new(key, _services.Prompts[key].MuLaw);

    /// <summary>
    /// The final reply is scheduled: record the ending now, in the background, so the receive loop goes on
    /// playing it (a slow database must not stall the goodbye); <see cref="EndCallAsync"/> waits for the write.
    /// </summary>
    private Task BeginEndingAsync(CallEnd end, string reason, ScheduledReply? finalReply)
    {
        _ending = end;
        _endReason = reason;
        _finalReply = finalReply;
        if (end == CallEnd.Voicemail)
        {
            SessionEvent("fallback", ("fallback.reason", reason));
        }

        MediaStreamLog.CallEnding(_logger, _callSid, end.ToString(), reason);
        _endingWrite = RecordEndingAsync(end, reason);
        _endNow = finalReply is null;
        return Task.CompletedTask;
    }

    private async Task RecordEndingAsync(CallEnd end, string reason)
    {
        using var timeout = new CancellationTokenSource(RecordTimeout);
        try
        {
            // Recorded before the socket closes, so /webhook/stream_ended answers the right TwiML.
            switch (end)
            {
                case CallEnd.Completed:
                    await _services.Records.CompleteConversationAsync(_callSid, _call!.CallId, _call.IsTest, timeout.Token);
                    break;
                case CallEnd.Voicemail:
                    await _services.Records.FallbackAsync(_callSid, reason, timeout.Token);
                    Publish(CallEvent.Fallback, ("reason", reason));
                    break;
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            MediaStreamLog.Error(_logger, _callSid, "ending " + end, ex);
        }
    }

    private bool EndingDue() =>
        _ending != CallEnd.None && (_finalReply is null || _finalReply.Finished || !_playback.IsPlaying(_streamNow));

    /// <summary>The final reply has played: hang up through the REST API (or just close for voicemail).</summary>
    private async Task<StreamEnd> EndCallAsync()
    {
        await _endingWrite;
        if (_ending is CallEnd.Completed or CallEnd.HangUp)
        {
            await HangUpAsync();
        }

        var reason = _ending == CallEnd.Voicemail ? "voicemail: " + _endReason : "call ended: " + _endReason;
        return new StreamEnd(_endReason, WebSocketCloseStatus.NormalClosure, reason);
    }

    private async Task HangUpAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(_options.CloseTimeout);
            await _services.Records.HangUpAsync(_callSid, timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Closing the socket still ends it: stream_ended answers goodbye (completed) or voicemail.
            MediaStreamLog.Error(_logger, _callSid, "hang up", ex);
        }
    }

    /// <summary>Why the live call's receive loop threw: the send loop's failure, the app stopping, a silent line, a lost connection, or a bug.</summary>
    private async Task<CallFailure> ClassifyAsync(Exception ex, CancellationToken serverStopping)
    {
        // A send that timed out aborts the socket, which the receive loop may see before the send loop reports it.
        await Task.WhenAny(_sendLoop, Task.Delay(SendLoopSettle));
        if (Volatile.Read(ref _sendFailure) is { } sendFailure)
        {
            return sendFailure;
        }

        return ex switch
        {
            OperationCanceledException when serverStopping.IsCancellationRequested => new CallFailure(CallLoop.Receive, CallFailure.ServerStopping, ex),
            OperationCanceledException when ReceiveDeadlinePassed => new CallFailure(CallLoop.Receive, CallFailure.ReceiveTimeout,
                new TimeoutException($"no message from Twilio for {_options.ReceiveTimeout.TotalSeconds:0.#} s (it sends a frame every 20 ms)", ex)),
            WebSocketException or OperationCanceledException or ObjectDisposedException or IOException => new CallFailure(CallLoop.Receive, CallFailure.ConnectionLost, ex),
            _ => new CallFailure(CallLoop.Receive, CallFailure.InternalError, ex),
        };
    }

    /// <summary>
    /// The call's loop failed while the call was live: log and count it, record it as the fallback reason,
    /// and send the caller to voicemail through the REST API (a call Twilio already ended counts as done).
    /// A call already saying goodbye is hung up instead.
    /// </summary>
    private async Task<StreamEnd> FailCallAsync(CallFailure failure)
    {
        var reason = failure.Reason;
        if (failure.Loop == CallLoop.Send)
        {
            MediaStreamLog.WsSendFailed(_logger, _callSid, _streamSid, reason, failure.Exception);
        }
        else
        {
            MediaStreamLog.WsLoopFailed(_logger, _callSid, _streamSid, failure.Loop.Name(), reason, failure.Exception);
        }

        _services.Metrics.CallFailed(failure.Loop, reason);
        SessionEvent("fallback", ("fallback.reason", reason), ("fallback.loop", failure.Loop.Name()));
        _error ??= reason;
        _outbound?.Complete();
        await _endingWrite;
        if (_ending is CallEnd.Completed or CallEnd.HangUp)
        {
            await HangUpAsync();
            return new StreamEnd(reason, WebSocketCloseStatus.InternalServerError, "call ended: " + reason);
        }

        using (var timeout = new CancellationTokenSource(RecordTimeout))
        {
            try
            {
                await _services.Records.FallbackAsync(_callSid, reason, timeout.Token);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                MediaStreamLog.Error(_logger, _callSid, "record fallback", ex);
            }
        }

        Publish(CallEvent.Fallback, ("reason", reason));
        if (!_stopReceived && !_peerClosed)
        {
            await RedirectToVoicemailAsync();
        }

        return new StreamEnd(reason, WebSocketCloseStatus.InternalServerError, "voicemail: " + reason);
    }

    private async Task RedirectToVoicemailAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(_options.CloseTimeout);
            var result = await _services.Records.RedirectToVoicemailAsync(_callSid, timeout.Token);
            MediaStreamLog.VoicemailRedirect(_logger, _callSid, _services.Records.VoicemailUrl, result.Outcome.ToString());
            SessionEvent("voicemail redirect", ("redirect.outcome", result.Outcome.ToString()));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            MediaStreamLog.VoicemailRedirectFailed(_logger, _callSid, ex.Message);
            SessionEvent("voicemail redirect failed", ("error", ex.Message));
        }
    }

    private async Task FinishRecordsAsync(string stopReason)
    {
        if (_call is null)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(RecordTimeout);
        try
        {
            await _services.Records.StreamStoppedAsync(_callSid, _error, timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            MediaStreamLog.Error(_logger, _callSid, "stream_stopped", ex);
        }

        await PublishLastAsync(CallEvent.Ended, ("reason", stopReason));
        MediaStreamLog.WsStop(_logger, _callSid, _streamSid, stopReason, _frames, _turnCount);
    }

    /// <summary>
    /// Publishes a live call event without holding up the call: events go out in order, one after the
    /// other, each bounded by <see cref="PublishTimeout"/>, while the receive loop goes on releasing the
    /// bot's audio (a slow Redis must never starve playback). Live events are best effort: a failure is
    /// logged and the call goes on.
    /// </summary>
    private void Publish(string type, params (string Key, string Value)[] data)
    {
        var evt = new CallEvent(type, _callSid, _services.Clock.GetUtcNow(), data.ToDictionary(d => d.Key, d => d.Value));
        lock (_publishGate)
        {
            _publishing = PublishAfterAsync(_publishing, evt);
        }
    }

    /// <summary>The last event of the call: published after those before it, waited for (bounded) so it is out before the session ends.</summary>
    private async Task PublishLastAsync(string type, params (string Key, string Value)[] data)
    {
        Publish(type, data);
        Task last;
        lock (_publishGate)
        {
            last = _publishing;
        }

        await Task.WhenAny(last, Task.Delay(PublishTimeout));
    }

    private async Task PublishAfterAsync(Task previous, CallEvent evt)
    {
        await previous;
        try
        {
            using var timeout = new CancellationTokenSource(PublishTimeout);
            await _services.Sessions.PublishAsync(evt, timeout.Token).WaitAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            MediaStreamLog.Error(_logger, _callSid, "publish " + evt.Type, ex);
        }
    }
}
