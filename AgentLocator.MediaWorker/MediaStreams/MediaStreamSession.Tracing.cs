using System.Diagnostics;
using AgentLocator.MediaStreams;
using AgentLocator.ServiceDefaults.Telemetry;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// The call's trace on the media side: the session span continues the <c>incoming_call</c> webhook's trace from the
/// <c>traceparent</c> (and <c>tracestate</c>) of <c>start.customParameters</c> and is the current activity for everything
/// the call does (Postgres, Redis, the engine, the jobs it queues); each caller turn is a child span from the end of the
/// caller's speech to the start of the reply (the pipeline's turns, or a streaming engine's, whose own turn detection
/// takes them); a fallback, an engine's hand-over and the voicemail redirect are events on the session span.
/// The WebSocket request's own span is linked to it.
/// </summary>
internal sealed partial class MediaStreamSession
{
    private Activity? _span;
    private bool _spanEnded;

    /// <summary>A streaming engine's turn waiting for its reply's first frame (under <see cref="_playbackLock"/>).</summary>
    private StreamedTurn? _streamedTurn;
    private int _streamedTurnCount;

    private sealed class StreamedTurn(Activity? span, TimeSpan speechEndedAt, long takenAt)
    {
        public Activity? Span { get; } = span;

        public TimeSpan SpeechEndedAt { get; } = speechEndedAt;

        public long TakenAt { get; } = takenAt;

        /// <summary>The first reply that began after the turn was taken: its answer.</summary>
        public ScheduledReply? Reply { get; set; }
    }

    private void StartSessionSpan(StreamStart start)
    {
        var parent = CallTrace.ParentFrom(start.CustomParameters);
        ActivityLink[]? links = parent != default && Activity.Current is { } request ? [new ActivityLink(request.Context)] : null;
        _span = _services.Telemetry.ActivitySource.StartActivity(CallTrace.SessionSpan, ActivityKind.Server, parent, links: links);
        _span?.SetTag(CallTrace.CallSidTag, start.CallSid);
        _span?.SetTag("twilio.stream_sid", start.StreamSid);
    }

    /// <summary>Makes the session span current again in a caller of the async method that started it (an async method's change does not flow back).</summary>
    private void ResumeSessionSpan()
    {
        if (_span is not null && !_spanEnded)
        {
            Activity.Current = _span;
        }
    }

    /// <summary>A turn's span, started back at the end of the caller's speech (the detector decides a silence window later).</summary>
    private Activity? StartTurnSpan(int number, PendingTurn turn)
    {
        var span = _services.Telemetry.ActivitySource.StartActivity(CallTrace.TurnSpan, ActivityKind.Internal, _span?.Context ?? default);
        if (span is null)
        {
            return null;
        }

        var sinceSpeechEnd = Stopwatch.GetElapsedTime(turn.FrameReceivedAt) + (_streamNow - turn.SpeechEndedAt);
        span.SetStartTime(DateTime.UtcNow - sinceSpeechEnd);
        span.SetTag("turn.number", number);
        span.SetTag("turn.speech_ms", (int)turn.Duration.TotalMilliseconds);
        return span;
    }

    /// <summary>A turn's reply started: its latency on the turn span and in the reply latency histogram.</summary>
    private void ReplyStarted(ScheduledReply reply, TimeSpan latency, TimeSpan engine)
    {
        _services.Telemetry.TurnAnswered(latency);
        if (Activity.Current is { OperationName: CallTrace.TurnSpan } span)
        {
            span.SetTag("reply.id", reply.Id);
            span.SetTag("reply.label", reply.Label);
            span.SetTag("reply.latency_ms", Math.Round(latency.TotalMilliseconds, 1));
            span.SetTag("engine.ms", Math.Round(engine.TotalMilliseconds, 1));
        }
    }

    /// <summary>
    /// A streaming engine took a caller's turn (under <see cref="_playbackLock"/>): its span starts back at the end of the
    /// caller's speech and ends when the reply's first frame goes to Twilio (<see cref="StreamedTurnAnswered"/>). A turn
    /// still waiting is superseded: the provider took the caller's next words before it answered.
    /// </summary>
    private void StreamedTurnTaken(TimeSpan speechEndedAt, TimeSpan speechDuration, string engine)
    {
        EndStreamedTurn("superseded");
        var now = LineNow();
        if (speechEndedAt > now)
        {
            speechEndedAt = now;
        }

        var number = ++_streamedTurnCount;
        // Started from the engine's thread, which must not carry the turn as its current activity afterwards.
        var current = Activity.Current;
        var span = _services.Telemetry.ActivitySource.StartActivity(CallTrace.TurnSpan, ActivityKind.Internal, _span?.Context ?? default);
        Activity.Current = current;
        if (span is not null)
        {
            span.SetStartTime(DateTime.UtcNow - (now - speechEndedAt));
            span.SetTag("turn.number", number);
            span.SetTag("turn.speech_ms", (int)speechDuration.TotalMilliseconds);
            span.SetTag("engine", engine);
        }

        _streamedTurn = new StreamedTurn(span, speechEndedAt, Stopwatch.GetTimestamp());
    }

    /// <summary>
    /// After streamed audio was released (under <see cref="_playbackLock"/>), with the reply that audio began, if it began one:
    /// once the waiting turn's reply has its first frame on the way to Twilio, the turn is answered: its latency on its span,
    /// in the reply latency histogram and on <c>PING_PONG_TX</c>, as for the pipeline's turns.
    /// </summary>
    private void StreamedTurnAnswered(ScheduledReply? started)
    {
        if (_streamedTurn is not { } turn)
        {
            return;
        }

        turn.Reply ??= started;
        if (turn.Reply is not { FramesQueued: > 0 } reply)
        {
            return;
        }

        _streamedTurn = null;
        var engine = Stopwatch.GetElapsedTime(turn.TakenAt);
        var latency = LineNow() - turn.SpeechEndedAt;
        MediaStreamLog.PingPongTx(_logger, _callSid, reply.Id, reply.Label, Math.Round(latency.TotalMilliseconds, 1), Math.Round(engine.TotalMilliseconds, 1));
        _services.Telemetry.TurnAnswered(latency);
        if (turn.Span is { } span)
        {
            span.SetTag("reply.id", reply.Id);
            span.SetTag("reply.label", reply.Label);
            span.SetTag("reply.latency_ms", Math.Round(latency.TotalMilliseconds, 1));
            span.SetTag("engine.ms", Math.Round(engine.TotalMilliseconds, 1));
            span.Stop();
        }
    }

    /// <summary>Ends a streaming engine's turn that got no reply (under <see cref="_playbackLock"/>, or once the stream is over).</summary>
    private void EndStreamedTurn(string why, bool failed = false)
    {
        if (_streamedTurn is not { } turn)
        {
            return;
        }

        _streamedTurn = null;
        if (turn.Span is { } span)
        {
            span.SetTag("turn.unanswered", why);
            if (failed)
            {
                span.SetStatus(ActivityStatusCode.Error, why);
            }

            span.Stop();
        }
    }

    /// <summary>A streaming engine handed the call to its fallback (under <see cref="_playbackLock"/>): an event on the session span; a turn still waiting failed.</summary>
    private void EngineHandedOver(string reason, string fallback)
    {
        EndStreamedTurn("engine fallback: " + reason, failed: true);
        SessionEvent("engine fallback", ("engine.fallback.reason", reason), ("engine.fallback.to", fallback));
    }

    private void SessionEvent(string name, params (string Key, object? Value)[] tags) =>
        _span?.AddEvent(new ActivityEvent(name, tags: new ActivityTagsCollection(tags.Select(t => new KeyValuePair<string, object?>(t.Key, t.Value)))));

    /// <summary>Ends the session span once (and counts the call's late frames), with how the stream ended.</summary>
    private void EndSessionSpan(string stop)
    {
        if (_spanEnded)
        {
            return;
        }

        _spanEnded = true;
        lock (_playbackLock)
        {
            EndStreamedTurn("call ended");
        }

        _services.Metrics.LateFrames(_playback.LateFrames);
        if (_span is null)
        {
            return;
        }

        _span.SetTag("media.stop", stop);
        _span.SetTag("media.frames", _frames);
        _span.SetTag("media.turns", _turnCount);
        _span.SetTag("media.late_frames", _playback.LateFrames);
        if (_failure is not null)
        {
            _span.SetStatus(ActivityStatusCode.Error, _failure.Reason);
        }
        else if (_error is not null)
        {
            _span.SetStatus(ActivityStatusCode.Error, _error);
        }

        _span.Dispose();
    }
}
