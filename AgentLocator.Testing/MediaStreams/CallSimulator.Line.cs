using AgentLocator.Media;
using AgentLocator.MediaStreams;

namespace AgentLocator.Testing.MediaStreams;

public sealed partial class CallSimulator
{
    private enum StepKind
    {
        Audio,
        Silence,
        Digit,
        HangUp,
    }

    private sealed class CallerStep
    {
        private CallerStep(StepKind kind) => Kind = kind;

        public StepKind Kind { get; }

        public byte[] Samples { get; private init; } = [];

        public int Offset { get; set; }

        public int FramesLeft { get; set; }

        public char Key { get; private init; }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static CallerStep Audio(byte[] muLaw) => new(StepKind.Audio) { Samples = muLaw };

        public static CallerStep Silence(int frames) => new(StepKind.Silence) { FramesLeft = frames };

        public static CallerStep Digit(char digit) => new(StepKind.Digit) { Key = digit };

        public static CallerStep HangUp() => new(StepKind.HangUp);
    }

    /// <summary>
    /// The phone line: one tick per frame at drift-free due times (start + n × interval), so a late
    /// tick is caught up rather than shifting every later frame. Each tick runs the script's
    /// events, sends one caller frame and plays one frame of the bot's queued audio. The line ends
    /// between two ticks when <paramref name="lineStop"/> fires (the app closed, or the simulator is
    /// closing); <paramref name="abort"/> also cancels a send in progress. Every step taken off the
    /// script is finished: done when its last message is on the wire, failed if the line ends first.
    /// </summary>
    private async Task LineLoopAsync(CancellationToken lineStop, CancellationToken abort)
    {
        var frame = new byte[_options.FrameBytes];
        var interval = _options.FrameInterval;
        var lineStart = _clock.Elapsed;
        var marksToEcho = new List<string>();
        CallerStep? inFlight = null;
        try
        {
            for (long tick = 0; !lineStop.IsCancellationRequested; tick++)
            {
                var wait = lineStart + interval * tick - _clock.Elapsed;
                if (wait > TimeSpan.Zero && !await DelayUntilStopped(wait, lineStop).ConfigureAwait(false))
                {
                    return;
                }

                // Events scheduled before this frame: key presses and the hang-up.
                while (TryTakeEvent(out var step))
                {
                    inFlight = step;
                    if (step.Kind == StepKind.HangUp)
                    {
                        await SendAsync(static (w, seq, s) => w.WriteStop(s.StreamSid, seq, s.AccountSid, s.CallSid), _options, abort).ConfigureAwait(false);
                        step.Done.TrySetResult();
                        inFlight = null;
                        return;
                    }

                    await SendAsync(static (w, seq, s) => w.WriteDtmf(s.Options.StreamSid, seq, s.Key), (Options: _options, step.Key), abort).ConfigureAwait(false);
                    step.Done.TrySetResult();
                    inFlight = null;
                }

                inFlight = FillCallerFrame(frame);
                var timestampMs = (long)(_options.FrameDuration * tick).TotalMilliseconds;
                await SendAsync(
                    static (w, seq, s) => w.WriteInboundMedia(s.StreamSid, seq, s.Tick + 1, s.TimestampMs, s.Frame),
                    (_options.StreamSid, Tick: tick, TimestampMs: timestampMs, Frame: frame),
                    abort).ConfigureAwait(false);
                Interlocked.Increment(ref _framesSent);

                // A turn is timed from the frame's place on the line (its due time), not from when a
                // late line got it out: after a stall the catch-up burst would otherwise hand the app
                // its silence window in a few milliseconds and the turn would look instant.
                var dueAt = lineStart + interval * tick;
                if (AudioLevel.MuLawDbfs(frame) > _options.VoicedThresholdDbfs)
                {
                    lock (_gate)
                    {
                        _lastVoicedAt = dueAt;
                    }
                }

                if (inFlight is not null)
                {
                    if (inFlight.Kind == StepKind.Audio)
                    {
                        BeginTurn();
                    }

                    inFlight.Done.TrySetResult();
                    inFlight = null;
                }

                PlayOneFrame(marksToEcho);
                foreach (var mark in marksToEcho)
                {
                    await EchoMarkAsync(mark, abort).ConfigureAwait(false);
                }

                marksToEcho.Clear();
            }
        }
        finally
        {
            inFlight?.Done.TrySetException(new InvalidOperationException("The call ended before this step was sent: the stream is closed."));
            EndLine();
        }
    }

    /// <summary>Waits <paramref name="delay"/>; false when the line was stopped first.</summary>
    private static async Task<bool> DelayUntilStopped(TimeSpan delay, CancellationToken lineStop)
    {
        try
        {
            await Task.Delay(delay, lineStop).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (lineStop.IsCancellationRequested)
        {
            return false;
        }
    }

    private bool TryTakeEvent(out CallerStep step)
    {
        lock (_gate)
        {
            if (_script.TryPeek(out step!) && step.Kind is StepKind.Digit or StepKind.HangUp)
            {
                _script.Dequeue();
                return true;
            }

            return false;
        }
    }

    /// <summary>Fills the next caller frame; returns the step it finished, if any.</summary>
    private CallerStep? FillCallerFrame(byte[] frame)
    {
        lock (_gate)
        {
            // A key press or hang-up queued since this tick's events ran waits for the next tick.
            if (!_script.TryPeek(out var step) || step.Kind is StepKind.Digit or StepKind.HangUp)
            {
                frame.AsSpan().Fill(MuLaw.Silence);
                return null;
            }

            if (step.Kind == StepKind.Silence)
            {
                frame.AsSpan().Fill(MuLaw.Silence);
                if (--step.FramesLeft > 0)
                {
                    return null;
                }

                _script.Dequeue();
                return step;
            }

            var remaining = step.Samples.AsSpan(step.Offset);
            var count = Math.Min(remaining.Length, frame.Length);
            remaining[..count].CopyTo(frame);
            frame.AsSpan(count).Fill(MuLaw.Silence);
            step.Offset += count;
            if (step.Offset < step.Samples.Length)
            {
                return null;
            }

            _script.Dequeue();
            return step;
        }
    }

    /// <summary>An utterance ended: the next non-silent bot audio closes this turn.</summary>
    private void BeginTurn()
    {
        lock (_gate)
        {
            _turnPending = true;
            if (_botAudio.Task.IsCompleted)
            {
                _botAudio = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }

    /// <summary>Plays one frame of the bot's queued audio; marks reached are collected for echo.</summary>
    private void PlayOneFrame(List<string> marksToEcho)
    {
        lock (_gate)
        {
            var budget = _options.FrameBytes;
            while (_playback.First is { } node)
            {
                var item = node.Value;
                if (item.MarkName is not null)
                {
                    marksToEcho.Add(item.MarkName);
                    _playback.RemoveFirst();
                    continue;
                }

                if (budget == 0)
                {
                    break;
                }

                var take = Math.Min(budget, item.Remaining);
                item.Remaining -= take;
                budget -= take;
                if (item.Remaining == 0)
                {
                    _playback.RemoveFirst();
                }
            }
        }
    }

    private async Task EchoMarkAsync(string name, CancellationToken cancellationToken)
    {
        await SendAsync(static (w, seq, s) => w.WriteMarkEcho(s.StreamSid, seq, s.Name), (_options.StreamSid, Name: name), cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _echoedMarks.Add(name);
        }
    }

    private sealed class PlaybackItem
    {
        public int Remaining { get; set; }

        public string? MarkName { get; init; }
    }
}
