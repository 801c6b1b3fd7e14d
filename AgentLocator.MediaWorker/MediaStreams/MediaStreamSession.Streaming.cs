using System.Collections.Concurrent;
using AgentLocator.MediaWorker.Conversation;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// The streaming seam, for an engine that listens all the time and speaks when it decides
/// (<see cref="IStreamingConversationEngine"/>, e.g. OpenAI Realtime): every caller frame goes to it with the local
/// detector's view of the caller; its audio arrives on its own thread and is scheduled and released at once under
/// <see cref="_playbackLock"/> (the lock the receive loop holds while it touches playback), so the first frame is on
/// Twilio's socket without waiting for the next caller frame; what it decides on its own (a tool ended the call, the
/// provider failed and the fallback takes over) is posted and run by the receive loop at its next message, bounded
/// like any engine call. Barge-in stays the pipeline's: its detector (which knows the bot's echo) cuts a streamed
/// reply off and the engine is told what the caller heard.
/// </summary>
internal sealed partial class MediaStreamSession
{
    /// <summary>
    /// Serializes the playback schedule and the send queue's writers: the receive loop (while it handles a message, and
    /// when it plays a reply) and a streaming engine's output. Held only for synchronous, non-blocking work; never held
    /// while the engine's own lock is taken from the engine's side (the engine calls out without holding it).
    /// </summary>
    private readonly object _playbackLock = new();
    private readonly ConcurrentQueue<(string Stage, Func<CancellationToken, Task<ConversationReply>> Next)> _posted = new();
    private IStreamingConversationEngine? _streamingEngine;

    /// <summary>The line's clock, readable from any thread: the last frame's end, plus the wall time since it arrived.</summary>
    private long _lineClockTicks;
    private long _lineClockAt;

    private bool HasPosted => !_posted.IsEmpty;

    private void AttachStreamingEngine()
    {
        if (_engine is IStreamingConversationEngine streaming)
        {
            Volatile.Write(ref _lineClockTicks, _streamNow.Ticks);
            Volatile.Write(ref _lineClockAt, _streamNowReceivedAt);
            _streamingEngine = streaming;
            streaming.Attach(new EngineOutput(this));
        }
    }

    /// <summary>Called by <see cref="OnFrame"/> (between its holds of the lock) with each caller frame.</summary>
    private void StreamCallerFrame(ReadOnlySpan<byte> frame, TimeSpan frameEnd)
    {
        Volatile.Write(ref _lineClockTicks, frameEnd.Ticks);
        Volatile.Write(ref _lineClockAt, _streamNowReceivedAt);
        if (_streamingEngine is { IsStreaming: true } engine && _ending == CallEnd.None)
        {
            engine.OnCallerAudio(frame, frameEnd, _speech.IsSpeaking);
        }
    }

    /// <summary>Runs what the engine posted (bounded and failure-checked like any engine call) and plays its reply.</summary>
    private async Task RunPostedAsync(CancellationToken cancellationToken)
    {
        while (_posted.TryDequeue(out var posted))
        {
            if (_ending != CallEnd.None || _failure is not null)
            {
                continue; // the call is already ending
            }

            if (await AskEngineAsync(posted.Stage, posted.Next, cancellationToken) is { } reply)
            {
                await PlayAsync(reply, null);
            }
        }
    }

    /// <summary>What a streaming engine drives: playback of its audio as it arrives, and posts to the receive loop.</summary>
    private sealed class EngineOutput(MediaStreamSession session) : IConversationOutput
    {
        public TimeSpan Now
        {
            get
            {
                var ticks = Volatile.Read(ref session._lineClockTicks);
                var waited = System.Diagnostics.Stopwatch.GetElapsedTime(Volatile.Read(ref session._lineClockAt));
                return TimeSpan.FromTicks(ticks) + (waited > PlaybackTracker.FrameDuration ? waited : TimeSpan.Zero);
            }
        }

        public void Play(string replyKey, ReadOnlySpan<byte> muLaw)
        {
            lock (session._playbackLock)
            {
                if (session._outbound is not { } outbound || session._ending != CallEnd.None && session._finalReply is not null)
                {
                    return;
                }

                var started = session._playback.Append(replyKey, muLaw, session.LineNow());
                if (started is not null)
                {
                    session._bargeIn.Reset();
                }

                session.TimeRelease(session._playback.Release(session._streamNow, outbound));
                session.StreamedTurnAnswered(started);
            }
        }

        public void EndReply(string replyKey)
        {
            lock (session._playbackLock)
            {
                session._playback.Close(replyKey);
                if (session._outbound is { } outbound)
                {
                    session.TimeRelease(session._playback.Release(session._streamNow, outbound));
                    session.StreamedTurnAnswered(null);
                }
            }
        }

        public void Post(string stage, Func<CancellationToken, Task<ConversationReply>> next) => session._posted.Enqueue((stage, next));

        public void TurnTaken(TimeSpan speechEndedAt, TimeSpan speechDuration, string engine)
        {
            lock (session._playbackLock)
            {
                session.StreamedTurnTaken(speechEndedAt, speechDuration, engine);
            }
        }

        public void HandedOver(string reason, string fallback)
        {
            lock (session._playbackLock)
            {
                session.EngineHandedOver(reason, fallback);
            }
        }
    }
}
