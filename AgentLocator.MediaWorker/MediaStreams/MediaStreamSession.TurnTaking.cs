using System.Globalization;
using AgentLocator.Data.Calls;
using AgentLocator.Media;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.SpeechDetection;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// Turn taking: every caller frame, with the bot's own echo removed (<see cref="BargeInListener"/>: a
/// speakerphone feeds the bot back ~6 dB down), goes through the speech detector (the <see cref="ISpeechDetector"/>
/// seam) and, while a reply plays, the barge-in detector. A caller's speech that ends is a turn unless
/// it began under a reply and stopped with it (<see cref="TurnRule"/>); silence with nothing playing
/// for <see cref="MediaStreamOptions.IdleReprompt"/> asks the engine to re-prompt. Times are stream
/// times (Twilio's frame timestamps), never the wall clock.
/// </summary>
internal sealed partial class MediaStreamSession
{
    private readonly ISpeechDetector _speech;
    private readonly BargeInListener _bargeIn;
    private int _echoLocks;
    private int _callersFirst;
    private readonly CallerAudioBuffer _callerAudio = new();
    private IConversationEngine? _engine;
    private TimeSpan _lastActivity;
    private int _idleCount;
    private int _turnCount;
    private PendingTurn? _pendingTurn;
    private bool _wasPlaying;
    private TimeSpan _playbackEndedAt;
    private bool _interruptedDuringSpeech;

    private sealed record PendingTurn(byte[] Audio, TimeSpan Duration, TimeSpan SpeechEndedAt, long FrameReceivedAt);

    /// <summary>
    /// One caller frame: barge-in, speech, turns, playback release, idle and ending checks. Synchronous and allocation-free.
    /// Playback is touched under <see cref="_playbackLock"/>; the speech detector and the streaming engine's input run
    /// between the two holds, so a streamed reply's audio does not wait behind them.
    /// </summary>
    private Next OnFrame(ReadOnlySpan<byte> frame, TimeSpan timestamp, long receivedAt)
    {
        _frames++;
        var frameEnd = timestamp + TimeSpan.FromTicks(frame.Length * TimeSpan.TicksPerSecond / 8000);
        _callerAudio.Append(frame, timestamp, _speech.IsSpeaking);
        bool playing;
        ReadOnlySpan<byte> heard;
        lock (_playbackLock)
        {
            _streamNow = frameEnd;
            _streamNowReceivedAt = receivedAt;
            TrackLineOffset(frameEnd, receivedAt);
            playing = ObservePlayback(frame, timestamp, frameEnd, out heard);
        }

        // The speech detector hears the line with the bot's echo taken out; the provider gets the line as it came.
        var activity = _speech.Process(heard, timestamp);
        StreamCallerFrame(frame, frameEnd);
        lock (_playbackLock)
        {
            return AfterSpeech(activity, frameEnd, receivedAt, playing);
        }
    }

    /// <summary>
    /// Whether the bot is playing; the echo canceller takes the bot's echo out of the frame (<paramref name="heard"/>) and,
    /// while a reply plays, the barge-in detector hears what is left (under the lock).
    /// </summary>
    private bool ObservePlayback(ReadOnlySpan<byte> frame, TimeSpan timestamp, TimeSpan frameEnd, out ReadOnlySpan<byte> heard)
    {
        var playing = _playback.IsPlaying(frameEnd);
        var armed = playing && _ending == CallEnd.None;
        if (_playback.TakeReferenceMoved() is var moved && moved != TimeSpan.Zero)
        {
            _bargeIn.Echo.ReferenceMoved((int)(moved.Ticks * 8000 / TimeSpan.TicksPerSecond));
        }

        // The speech detector has heard up to the previous frame: whether that was speech confirms a caller sooner.
        heard = _bargeIn.Process(frame, _playback.FrameAt(timestamp), armed, timestamp, _speech.NoiseFloorDbfs, out var bargeIn, _speech.LastFrameVoiced);
        if (_bargeIn.Echo.Locks != _echoLocks)
        {
            _echoLocks = _bargeIn.Echo.Locks;
            MediaStreamLog.EchoPath(_logger, _callSid, _bargeIn.Echo.DelaySamples / 8.0, Math.Round(_bargeIn.Echo.LockedCorrelation, 3));
        }

        if (_bargeIn.CallersFirst != _callersFirst)
        {
            _callersFirst = _bargeIn.CallersFirst;
            MediaStreamLog.CallerFirst(_logger, _callSid, Math.Round(_bargeIn.FirstSoundCorrelation, 3), _bargeIn.FirstSound.Delay.TotalMilliseconds);
        }

        if (bargeIn)
        {
            InterruptPlayback(frameEnd);
            playing = false;
            _interruptedDuringSpeech = true;
        }

        if (_wasPlaying && !playing)
        {
            _playbackEndedAt = frameEnd;
        }

        _wasPlaying = playing;
        return playing;
    }

    /// <summary>Turns, playback release, idle and ending checks after the speech detector heard the frame (under the lock).</summary>
    private Next AfterSpeech(VoiceActivityEvent activity, TimeSpan frameEnd, long receivedAt, bool playing)
    {
        var next = Next.Continue;
        if (activity.Kind == VoiceActivityEventKind.SpeechStarted || _speech.IsSpeaking)
        {
            _lastActivity = frameEnd;
            _idleCount = 0;
        }
        else if (activity.Kind == VoiceActivityEventKind.SpeechEnded)
        {
            _lastActivity = frameEnd;
            var isTurn = TurnRule.IsTurn(_speech.SpeechStartedAt, activity.At, _playbackEndedAt, playing, _interruptedDuringSpeech,
                _options.TurnSpeechAfterPlayback);
            _interruptedDuringSpeech = false;
            if (_ending == CallEnd.None && isTurn)
            {
                _pendingTurn = new PendingTurn(_callerAudio.Cut(_speech.SpeechStartedAt, activity.At), activity.Duration, activity.At, receivedAt);
                next = Next.Turn;
            }
            else if (_ending == CallEnd.None)
            {
                var afterPlayback = playing ? TimeSpan.Zero : activity.At - _playbackEndedAt;
                MediaStreamLog.SpeechIgnored(_logger, _callSid, (int)activity.Duration.TotalMilliseconds, (int)Math.Max(0, afterPlayback.TotalMilliseconds));
                _services.Metrics.SpeechIgnored();
            }
        }

        ReleaseDue(frameEnd);
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

            // Quiet since the caller last spoke or the bot last stopped, whichever is later (the real end of playback, from the marks).
            var quietSince = _lastActivity > _playbackEndedAt ? _lastActivity : _playbackEndedAt;
            if (!playing && !_speech.IsSpeaking && frameEnd - quietSince >= _options.IdleReprompt)
            {
                return Next.Idle;
            }
        }

        return next;
    }

    private async Task TakeTurnAsync(CancellationToken cancellationToken)
    {
        var turn = _pendingTurn!;
        _pendingTurn = null;
        var number = ++_turnCount;
        MediaStreamLog.HebrewSpeech(_logger, _callSid, number, (int)turn.Duration.TotalMilliseconds);
        var callerTurn = new CallerTurn(number, turn.Audio, turn.Duration, _playback.LastHeard, turn.SpeechEndedAt);
        // A streaming engine's own turn detection takes the caller's turns and reports them (StreamedTurnTaken): no span here.
        using (var span = _streamingEngine is { IsStreaming: true } ? null : StartTurnSpan(number, turn))
        {
            if (await AskEngineAsync("turn", ct => _engine!.OnCallerTurnAsync(callerTurn, ct), cancellationToken) is not { } reply)
            {
                span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, _failure?.Reason ?? "no reply");
                return;
            }

            await PlayAsync(reply, turn);
        }

        Publish(CallEvent.Turn, ("turn", number.ToString(CultureInfo.InvariantCulture)),
            ("speechMs", ((int)turn.Duration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)));
    }

    private async Task IdleAsync(CancellationToken cancellationToken)
    {
        _idleCount++;
        _lastActivity = _streamNow;
        MediaStreamLog.Idle(_logger, _callSid, _idleCount);
        var count = _idleCount;
        var lastHeard = _playback.LastHeard;
        if (await AskEngineAsync("idle", ct => _engine!.OnIdleAsync(count, lastHeard, ct), cancellationToken) is { } reply)
        {
            await PlayAsync(reply, null);
        }
    }

    /// <summary>
    /// One engine call, bounded by <see cref="MediaStreamOptions.EngineTimeout"/>. An engine that throws
    /// or hangs fails the call (<see cref="CallFailure"/>: logged, counted, voicemail); returns null then.
    /// </summary>
    private async Task<ConversationReply?> AskEngineAsync(string stage, Func<CancellationToken, Task<ConversationReply>> call, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.EngineTimeout);
        try
        {
            return await call(timeout.Token).WaitAsync(timeout.Token);
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            _failure ??= new CallFailure(CallLoop.Engine, CallFailure.EngineTimeout,
                new TimeoutException($"the engine's {stage} took longer than {_options.EngineTimeout.TotalMilliseconds:0} ms", ex));
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            _failure ??= new CallFailure(CallLoop.Engine, CallFailure.EngineError, ex);
        }

        return null;
    }
}

/// <summary>
/// Whether caller speech that just ended is a turn. Speech that ended while a reply still played is the
/// bot's echo or a back-channel. Speech that began under a reply without interrupting it counts only by
/// what the caller said after the bot stopped: going on for at least <c>minAfterPlayback</c> past the
/// end of playback is an answer that started as the question trailed off; less is echo or an "mm".
/// </summary>
internal static class TurnRule
{
    public static bool IsTurn(TimeSpan speechStartedAt, TimeSpan speechEndedAt, TimeSpan playbackEndedAt, bool stillPlaying,
        bool interruptedPlayback, TimeSpan minAfterPlayback) =>
        !stillPlaying
        && (interruptedPlayback || speechStartedAt >= playbackEndedAt || speechEndedAt - playbackEndedAt >= minAfterPlayback);
}
