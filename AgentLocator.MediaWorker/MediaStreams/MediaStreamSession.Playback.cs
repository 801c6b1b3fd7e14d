using System.Diagnostics;
using AgentLocator.MediaWorker.Conversation;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// Playback: replies are scheduled on the stream clock (<see cref="PlaybackTracker"/>), released a
/// bounded lead ahead of the line into the send queue, and sent by the send loop
/// (<see cref="OutboundQueue"/>), which runs beside the receive loop. The receive loop releases as it reads each frame;
/// the <see cref="PlayoutClock"/> releases on the wall clock when it falls behind. A send loop (or a release on the clock)
/// that dies records why and stops the receive loop at once, so the call is ended visibly, never left with a mute bot.
/// </summary>
internal sealed partial class MediaStreamSession : IPlayout
{
    private static readonly TimeSpan SendLoopSettle = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How far past the last frame read the playout clock releases at most: the line's estimate (that frame plus the wall time
    /// since) holds while Twilio keeps sending; a line silent this long is failing (the receive deadline ends the call).
    /// </summary>
    private static readonly TimeSpan MaxClockAhead = TimeSpan.FromSeconds(2);

    /// <summary>How much the line's offset may rise per frame read: 5 ms a second.</summary>
    private static readonly TimeSpan LineOffsetCreep = TimeSpan.FromTicks(TimeSpan.TicksPerMillisecond / 10);

    private IDisposable? _playout;

    /// <summary>The peer's line on the wall clock: stream time + this = wall time since <c>start</c> (see <see cref="TrackLineOffset"/>).</summary>
    private TimeSpan _lineOffset = TimeSpan.MaxValue;
    private CancellationTokenSource? _receiveOnFailure;

    private readonly PlaybackTracker _playback;
    private OutboundQueue? _outbound;
    private Task _sendLoop = Task.CompletedTask;
    private CallFailure? _sendFailure;

    /// <summary>Starts the send loop; its failure cancels <paramref name="receive"/> (the receive loop's token).</summary>
    private void StartSending(CancellationTokenSource receive)
    {
        var outbound = new OutboundQueue(_socket, _streamSid, _options.SendQueueFrames, _options.SendTimeout);
        _outbound = outbound;
        _receiveOnFailure = receive;
        _playout = _options.PlayoutClock ? _services.Playout.Add(this) : null;
        _sendLoop = Task.Run(async () =>
        {
            try
            {
                await outbound.RunAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Volatile.Write(ref _sendFailure, SendFailure(ex));
                try
                {
                    await receive.CancelAsync();
                }
                catch (ObjectDisposedException)
                {
                    // The receive loop has already ended.
                }
            }
        }, CancellationToken.None);
    }

    /// <summary>
    /// Why a send failed: it outlasted the send timeout (a stalled peer), or anything else; except that a
    /// connection the peer reset or dropped is the connection's failure, reported as the receive loop
    /// reports it (<c>WS_LOOP_FAILED connection_lost</c>), whichever of the two loops notices first.
    /// </summary>
    private static CallFailure SendFailure(Exception ex) => ex switch
    {
        TimeoutException => new CallFailure(CallLoop.Send, CallFailure.SendTimeout, ex),
        System.Net.WebSockets.WebSocketException or IOException => new CallFailure(CallLoop.Receive, CallFailure.ConnectionLost, ex),
        _ => new CallFailure(CallLoop.Send, CallFailure.SendError, ex),
    };

    /// <summary>Completes the send queue and waits (bounded) for what is in it to go out.</summary>
    private async Task StopSendingAsync()
    {
        _playout?.Dispose();
        _outbound?.Complete();
        await Task.WhenAny(_sendLoop, Task.Delay(_options.CloseTimeout));
    }

    /// <summary>Schedules a reply (its first frames go out now) and, for a final reply, begins the ending.</summary>
    private async Task PlayAsync(ConversationReply reply, PendingTurn? turn)
    {
        ScheduledReply? scheduled = null;
        if (reply.Segments.Count > 0 && reply.Segments.Sum(s => s.MuLaw.Length) > 0)
        {
            lock (_playbackLock)
            {
                scheduled = _playback.Enqueue(reply.Segments, LineNow(), reply.End);
                _bargeIn.Reset();
                TimeRelease(_playback.Release(_streamNow, _outbound!));
            }

            if (turn is not null)
            {
                var engine = Stopwatch.GetElapsedTime(turn.FrameReceivedAt);
                var latency = _streamNow - turn.SpeechEndedAt + engine;
                MediaStreamLog.PingPongTx(_logger, _callSid, scheduled.Id, scheduled.Label, Math.Round(latency.TotalMilliseconds, 1), Math.Round(engine.TotalMilliseconds, 1));
                ReplyStarted(scheduled, latency, engine);
            }
        }

        if (reply.End != CallEnd.None)
        {
            if (scheduled is null)
            {
                // An ending with nothing of its own to say (a streaming engine's goodbye already plays): it waits for what plays.
                lock (_playbackLock)
                {
                    scheduled = _playback.Last;
                }
            }

            await BeginEndingAsync(reply.End, reply.Reason ?? reply.End.ToString().ToLowerInvariant(), scheduled);
        }
    }

    /// <summary>
    /// Where the line is now, on the stream clock: the last frame processed, plus the wall time since it
    /// arrived. While the receive loop waited (the database at start, the engine) Twilio's frames kept
    /// coming and queued up unread; a reply scheduled at the stale frame time would be released in one
    /// burst and its schedule (the barge-in detector's echo reference) would run ahead of what plays.
    /// </summary>
    private TimeSpan LineNow()
    {
        var waited = Stopwatch.GetElapsedTime(_streamNowReceivedAt);
        return waited > PlaybackTracker.FrameDuration ? _streamNow + waited : _streamNow;
    }

    /// <summary>
    /// Writes what is due on the line (never waits) and retries a <c>clear</c> a full queue refused: up to <paramref name="now"/>
    /// (the last frame read) plus <paramref name="ahead"/> (the wall time since, when the playout clock asks) plus the lead.
    /// </summary>
    private void ReleaseDue(TimeSpan now, TimeSpan ahead = default)
    {
        if (_outbound is not null)
        {
            TimeRelease(_playback.Release(now, _outbound, ahead));
            _outbound.Flush();
            StreamedTurnAnswered(null); // a streamed reply queued behind another starts when its time comes
        }
    }

    /// <summary>
    /// The playout clock's tick: when the line is further on than the last frame the receive loop read (it waits in the thread
    /// pool's queue, reads a backlog more slowly than Twilio sends, or waits on the engine), what is due there goes out from here.
    /// </summary>
    void IPlayout.ReleaseOnClock()
    {
        lock (_playbackLock)
        {
            var ahead = LineByWallClock() - _streamNow;
            if (_outbound is not null && ahead > PlaybackTracker.FrameDuration)
            {
                ReleaseDue(_streamNow, ahead < MaxClockAhead ? ahead : MaxClockAhead);
            }
        }
    }

    /// <summary>
    /// Where the peer's line is now by the wall clock: the time since <c>start</c> less the line's offset (how much later than
    /// their stream time its frames have been read at best). Before the first frame, the time since the last message read.
    /// </summary>
    private TimeSpan LineByWallClock() => _lineOffset == TimeSpan.MaxValue
        ? _streamNow + Stopwatch.GetElapsedTime(_streamNowReceivedAt)
        : Stopwatch.GetElapsedTime(_streamStartedAt) - _lineOffset;

    /// <summary>
    /// A caller frame ending at <paramref name="frameEnd"/> was read at <paramref name="receivedAt"/> (under the lock): the line's
    /// offset is the least read delay seen, creeping up <see cref="LineOffsetCreep"/> a frame so that it follows a peer whose line
    /// falls behind the wall clock, and never a backlog the receive loop reads late (a backlog of a second for ten seconds moves it 50 ms).
    /// </summary>
    private void TrackLineOffset(TimeSpan frameEnd, long receivedAt)
    {
        var offset = Stopwatch.GetElapsedTime(_streamStartedAt, receivedAt) - frameEnd;
        _lineOffset = _lineOffset == TimeSpan.MaxValue || offset < _lineOffset + LineOffsetCreep ? offset : _lineOffset + LineOffsetCreep;
    }

    /// <summary>A release on the playout clock threw: the call ends as a failed send would (logged, counted, voicemail).</summary>
    void IPlayout.PlayoutFailed(Exception exception)
    {
        _playout?.Dispose();
        Interlocked.CompareExchange(ref _sendFailure, new CallFailure(CallLoop.Send, CallFailure.SendError, exception), null);
        try
        {
            _receiveOnFailure?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The receive loop has already ended.
        }
    }

    /// <summary>Counts a release that came after its first frame's time on the wall clock (<see cref="MediaStreamStats.LateReleases"/>).</summary>
    private void TimeRelease(TimeSpan? firstDue)
    {
        if (firstDue is { } due)
        {
            _services.Stats.RecordRelease(Stopwatch.GetElapsedTime(_streamStartedAt) - due);
        }
    }

    /// <summary>Barge-in: drop the rest of what plays (nothing more of it is sent) and tell Twilio to <c>clear</c> its buffer.</summary>
    private void InterruptPlayback(TimeSpan now)
    {
        var current = _playback.Current!;
        var heard = _playback.Interrupt(now);
        _outbound!.Clear(current.Id);
        MediaStreamLog.BargeIn(_logger, _callSid, current.Id, (int)(heard?.Heard.TotalMilliseconds ?? 0), (int)current.Duration.TotalMilliseconds,
            _bargeIn.Echo.IsLocked ? _bargeIn.Echo.DelaySamples / 8.0 : -1, (long)now.TotalMilliseconds);
        if (heard is not null && current.IsStreamed)
        {
            _streamingEngine?.OnReplyInterrupted(heard);
        }
    }
}
