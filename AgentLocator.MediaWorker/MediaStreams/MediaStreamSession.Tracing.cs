using System.Diagnostics;
using AgentLocator.MediaStreams;
using AgentLocator.ServiceDefaults.Telemetry;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// The call's trace on the media side: the session span continues the <c>incoming_call</c> webhook's trace from the
/// <c>traceparent</c> (and <c>tracestate</c>) of <c>start.customParameters</c> and is the current activity for everything
/// the call does (Postgres, Redis, the engine, the jobs it queues); each caller turn is a child span from the end of the
/// caller's speech to the start of the reply; a fallback and the voicemail redirect are events on the session span.
/// The WebSocket request's own span is linked to it.
/// </summary>
internal sealed partial class MediaStreamSession
{
    private Activity? _span;
    private bool _spanEnded;

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
