namespace AgentLocator.Testing.MediaStreams;

public sealed partial class CallSimulator
{
    /// <summary>Bot audio that runs dry and resumes within this (line time) was a gap inside one reply: its frames were late.</summary>
    private static readonly TimeSpan LateGapWindow = TimeSpan.FromMilliseconds(500);

    private readonly LinkedList<PlaybackItem> _playback = new();
    private readonly List<string> _violations = [];
    /// <summary>Marks due for echo (played, or pending at a <c>clear</c>), in the order they fell due; under the gate.</summary>
    private readonly List<string> _marksToEcho = [];

    /// <summary>One loop at a time sends the due marks, so they go out in the order they fell due, as Twilio sends them.</summary>
    private readonly SemaphoreSlim _echoing = new(1, 1);
    private long _tick;
    private long _itemSequence;
    private long _botBytesPlayed;
    private long _lateFrames;
    private int _dryTicks;
    private readonly List<LateGap> _lateGaps = [];
    /// <summary>Each recent tick's lag (how late it ran, wall), by tick modulo its length: a late gap looks back a lead's worth of line.</summary>
    private readonly TimeSpan[] _tickLags = new TimeSpan[64];
    private long _dryFromTick;
    private long _dryFromTimestamp;
    private int _quietTicks;
    private bool _botHasPlayed;
    private TimeSpan _lastVoicedEnd;
    private TimeSpan _lastVoicedDue;
    private bool _turnPending;
    private TimeSpan _turnCallerStoppedAt;
    private TimeSpan _turnCallerStoppedDue;
    private long _turnWatermark;
    private bool _callerFrameHasAudio;
    private readonly List<BotSpan> _botSpans = [];
    private readonly List<TimeSpan> _utteranceStarts = [];
    private readonly List<TimeSpan> _waitsEndedAt = [];

    /// <summary>Where each wait step (<see cref="UntilBotPlayedAsync"/>, <see cref="UntilBotQuietAsync"/>) ended on the line: the line time of the frame the next step starts on.</summary>
    public IReadOnlyList<TimeSpan> WaitsEndedAt
    {
        get { lock (_gate) { return [.. _waitsEndedAt]; } }
    }

    /// <summary>Where each of the caller's utterances began on the line (line time of its first frame).</summary>
    public IReadOnlyList<TimeSpan> UtteranceStarts
    {
        get { lock (_gate) { return [.. _utteranceStarts]; } }
    }
    private BotSpan? _openSpan;

    /// <summary>Bytes of bot audio played on the line so far (8,000 a second).</summary>
    public long BotBytesPlayed
    {
        get { lock (_gate) { return _botBytesPlayed; } }
    }

    /// <summary>Frames the bot's audio was late by: playback ran dry inside a reply and resumed within 500 ms.</summary>
    public long LateFrames
    {
        get { lock (_gate) { return _lateFrames; } }
    }

    /// <summary>Each gap inside a reply (the frames of <see cref="LateFrames"/>), with how the line and the bot's audio were timed around it.</summary>
    public IReadOnlyList<LateGap> LateGaps
    {
        get { lock (_gate) { return [.. _lateGaps]; } }
    }

    /// <summary>
    /// Each stretch of bot playback on the line (line time): from its first byte played to its last,
    /// gaps under 500 ms included, with when it first became audible. The last may still be open.
    /// </summary>
    public IReadOnlyList<BotSpan> BotSpans
    {
        get
        {
            lock (_gate)
            {
                return _openSpan is null ? [.. _botSpans] : [.. _botSpans, _openSpan];
            }
        }
    }

    private enum StepKind
    {
        Audio,
        Silence,
        UntilQuiet,
        UntilPlayed,
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

        public long Bytes { get; private init; }

        public char Key { get; private init; }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static CallerStep Audio(byte[] muLaw) => new(StepKind.Audio) { Samples = muLaw };

        public static CallerStep Silence(int frames) => new(StepKind.Silence) { FramesLeft = frames };

        public static CallerStep UntilQuiet(int frames) => new(StepKind.UntilQuiet) { FramesLeft = frames };

        public static CallerStep UntilPlayed(long bytes) => new(StepKind.UntilPlayed) { Bytes = bytes };

        public static CallerStep Digit(char digit) => new(StepKind.Digit) { Key = digit };

        public static CallerStep HangUp() => new(StepKind.HangUp);
    }

    private sealed class PlaybackItem
    {
        public byte[]? Audio { get; init; }

        public int Offset { get; set; }

        public int Remaining => Audio is null ? 0 : Audio.Length - Offset;

        public string? MarkName { get; init; }

        public long Sequence { get; init; }

        public TimeSpan ReceivedAt { get; init; }

        /// <summary>The line time before which it does not play (late downlink media: <see cref="Audio.LineConditions.DownlinkDelay"/>).</summary>
        public TimeSpan PlaysFrom { get; init; }
    }

    /// <summary>
    /// The call's own clock: one tick per frame at drift-free due times (start + n × interval), so a
    /// late tick is caught up rather than shifting every later frame. The line ends between two ticks
    /// when the line is stopped (the app closed, or the simulator is closing).
    /// </summary>
    private async Task LineLoopAsync(CancellationToken abort)
    {
        var interval = _options.FrameInterval;
        var lineStart = _clock.Elapsed + _options.LineStartDelay;
        try
        {
            for (long tick = 0; ; tick++)
            {
                var due = lineStart + interval * tick;
                var wait = due - _clock.Elapsed;
                if (wait > TimeSpan.Zero && !await DelayUntilStopped(wait).ConfigureAwait(false))
                {
                    return;
                }

                if (!await TickAsync(due, abort).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        finally
        {
            EndLine();
        }
    }

    /// <summary>Waits <paramref name="delay"/>; false when the line was stopped first.</summary>
    private async Task<bool> DelayUntilStopped(TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _lineStop.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (_lineStop.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>For a <see cref="LineClock"/>: one tick, <paramref name="lag"/> after it was due.</summary>
    internal async ValueTask<bool> SharedTickAsync(TimeSpan lag)
    {
        try
        {
            var ok = await TickAsync(_clock.Elapsed - lag, _stopping.Token).ConfigureAwait(false);
            if (!ok)
            {
                EndLine();
            }

            return ok;
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.Net.WebSockets.WebSocketException or ObjectDisposedException)
        {
            EndLine();
            return false;
        }
    }

    /// <summary>
    /// One frame of the line: the script's events (key presses, the hang-up), one frame of the bot's
    /// audio played (marks reached are echoed after the caller's frame), one caller frame sent. Every
    /// step taken off the script is finished: done when its last message is on the wire, failed if the
    /// line ends first. False when the line has ended.
    /// </summary>
    private async ValueTask<bool> TickAsync(TimeSpan due, CancellationToken abort)
    {
        if (_lineStop.IsCancellationRequested)
        {
            return false;
        }

        var tick = _tick++;
        var lag = _clock.Elapsed - due;
        if (lag > _maxTickLag)
        {
            lock (_gate)
            {
                _maxTickLag = lag;
            }
        }

        CallerStep? inFlight = null;
        try
        {
            while (TryTakeEvent(out var step))
            {
                inFlight = step;
                if (step.Kind == StepKind.HangUp)
                {
                    await SendAsync(static (w, seq, o) => w.Stop(seq, o), _options, abort).ConfigureAwait(false);
                    step.Done.TrySetResult();
                    inFlight = null;
                    return false;
                }

                await SendAsync(static (w, seq, s) => w.Dtmf(seq, s.StreamSid, s.Key), (_options.StreamSid, step.Key), abort).ConfigureAwait(false);
                step.Done.TrySetResult();
                inFlight = null;
            }

            var frame = _callerFrame.AsMemory(0, _options.FrameBytes);
            bool callerVoiced;
            lock (_gate)
            {
                _tickLags[tick % _tickLags.Length] = lag;
                PlayOneFrame(tick);
                inFlight = FillCallerFrame(frame.Span);
                // Timed on the caller's own voice, before the line adds echo and noise.
                callerVoiced = _callerFrameHasAudio && G711.LevelDbfs(frame.Span) > _options.VoicedThresholdDbfs;
                _line?.Mix(frame.Span, _playedFrame);
            }

            var timestampMs = (long)(_options.FrameDuration * tick).TotalMilliseconds;
            await SendAsync(static (w, seq, s) => w.Media(seq, s.StreamSid, s.Tick + 1, s.TimestampMs, s.Frame.Span),
                (_options.StreamSid, Tick: tick, TimestampMs: timestampMs, Frame: (ReadOnlyMemory<byte>)frame), abort).ConfigureAwait(false);
            Interlocked.Increment(ref _framesSent);

            lock (_gate)
            {
                // Timed on the line: the end of this frame on the line's clock, and its due time on the wall.
                if (callerVoiced)
                {
                    _lastVoicedEnd = _options.FrameDuration * (tick + 1);
                    _lastVoicedDue = due;
                }

                if (inFlight is { Kind: StepKind.Audio })
                {
                    BeginTurn();
                }
            }

            inFlight?.Done.TrySetResult();
            inFlight = null;

            await EchoDueMarksAsync(abort).ConfigureAwait(false);

            return true;
        }
        finally
        {
            inFlight?.Done.TrySetException(new InvalidOperationException("The call ended before this step was sent: the stream is closed."));
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

    /// <summary>Fills the next caller frame (under the gate); returns the step it finished, if any (a wait step that is over finishes at once).</summary>
    private CallerStep? FillCallerFrame(Span<byte> frame)
    {
        _callerFrameHasAudio = false;
        while (true)
        {
            // A key press or hang-up queued since this tick's events ran waits for the next tick.
            if (!_script.TryPeek(out var step) || step.Kind is StepKind.Digit or StepKind.HangUp)
            {
                frame.Fill(0xFF);
                return null;
            }

            switch (step.Kind)
            {
                case StepKind.UntilQuiet when _playback.Count == 0 && _quietTicks >= step.FramesLeft:
                case StepKind.UntilPlayed when _botBytesPlayed >= step.Bytes:
                    _script.Dequeue();
                    _waitsEndedAt.Add(_options.FrameDuration * (_tick - 1)); // the frame this tick sends
                    step.Done.TrySetResult();
                    continue;
                case StepKind.UntilQuiet or StepKind.UntilPlayed:
                    frame.Fill(0xFF);
                    return null;
                case StepKind.Silence:
                    frame.Fill(0xFF);
                    if (--step.FramesLeft > 0)
                    {
                        return null;
                    }

                    _script.Dequeue();
                    return step;
            }

            _callerFrameHasAudio = true;
            if (step.Offset == 0)
            {
                _utteranceStarts.Add(_options.FrameDuration * (_tick - 1)); // the frame this tick sends
            }

            var remaining = step.Samples.AsSpan(step.Offset);
            var count = Math.Min(remaining.Length, frame.Length);
            remaining[..count].CopyTo(frame);
            frame[count..].Fill(0xFF);
            step.Offset += count;
            if (step.Offset < step.Samples.Length)
            {
                return null;
            }

            _script.Dequeue();
            return step;
        }
    }

    /// <summary>An utterance ended: the first audible bot audio sent after it closes this turn (under the gate).</summary>
    private void BeginTurn()
    {
        _turnPending = true;
        _turnCallerStoppedAt = _lastVoicedEnd;
        _turnCallerStoppedDue = _lastVoicedDue;
        _turnWatermark = _itemSequence;
        if (_botAudio.Task.IsCompleted)
        {
            _botAudio = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Plays one frame (160 bytes) of the bot's queued audio at 8,000 bytes/s (under the gate); marks reached are collected for echo.</summary>
    private void PlayOneFrame(long tick)
    {
        var budget = _options.FrameBytes;
        var played = false;
        TimeSpan? resumedReceivedAt = null;
        _playedFrame.AsSpan().Fill(0xFF);
        while (_playback.First is { } node)
        {
            var item = node.Value;
            if (item.MarkName is not null)
            {
                _marksToEcho.Add(item.MarkName);
                _playback.RemoveFirst();
                continue;
            }

            if (budget == 0 || item.PlaysFrom > _options.FrameDuration * tick)
            {
                break; // a full frame played, or the audio has not reached the line yet
            }

            var take = Math.Min(budget, item.Remaining);
            var audio = item.Audio.AsSpan(item.Offset, take);
            audio.CopyTo(_playedFrame.AsSpan(_options.FrameBytes - budget));
            var playsAt = _options.FrameDuration * tick + TimeSpan.FromTicks((_options.FrameBytes - budget) * TimeSpan.TicksPerSecond / 8000);
            var audible = G711.LevelDbfs(audio) > _options.VoicedThresholdDbfs;
            _openSpan ??= new BotSpan(playsAt, playsAt, null);
            _openSpan = _openSpan with
            {
                EndedAt = playsAt + TimeSpan.FromTicks(take * TimeSpan.TicksPerSecond / 8000),
                AudibleAt = _openSpan.AudibleAt ?? (audible ? playsAt : null),
            };
            if (_turnPending && item.Sequence > _turnWatermark && audible)
            {
                // The caller hears the reply from here: its line time, and on the wall from the caller's frame due to the reply's arrival.
                _turnPending = false;
                _turns.Add(new TurnLatency(_turns.Count + 1, _turnCallerStoppedAt, playsAt, item.ReceivedAt - _turnCallerStoppedDue));
            }

            resumedReceivedAt ??= item.ReceivedAt;
            item.Offset += take;
            budget -= take;
            _botBytesPlayed += take;
            played = true;
            if (item.Remaining == 0)
            {
                _playback.RemoveFirst();
            }
        }

        if (played)
        {
            if (_dryTicks > 0 && _options.FrameDuration * _dryTicks <= LateGapWindow)
            {
                _lateFrames += _dryTicks;
                _lateGaps.Add(LateGapEndingAt(tick, resumedReceivedAt!.Value));
            }

            _dryTicks = 0;
            _quietTicks = 0;
            _botHasPlayed = true;
        }
        else
        {
            _quietTicks++;
            if (_botHasPlayed)
            {
                if (_dryTicks++ == 0)
                {
                    _dryFromTick = tick;
                    _dryFromTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
                }
            }

            if (_openSpan is not null && _options.FrameDuration * _quietTicks > LateGapWindow)
            {
                _botSpans.Add(_openSpan);
                _openSpan = null;
            }
        }
    }

    /// <summary>
    /// The gap that ends at <paramref name="tick"/> (its first frame played again, received at <paramref name="resumedReceivedAt"/>
    /// on this simulator's clock): where it was, how late the line itself ran then and a lead's worth of line before
    /// (<see cref="LateGap.LeadLookback"/>), and how late the audio that ended it came against the real-time schedule.
    /// </summary>
    private LateGap LateGapEndingAt(long tick, TimeSpan resumedReceivedAt)
    {
        var lookback = (int)Math.Min(LateGap.LeadLookback / _options.FrameDuration, Math.Min(_dryFromTick, _tickLags.Length - 1));
        var lagAtGap = _tickLags[_dryFromTick % _tickLags.Length];
        var lagBefore = _tickLags[(_dryFromTick - lookback) % _tickLags.Length];
        // The first dry tick's due time on this simulator's clock: it ran lagAtGap after it, (tick - _dryFromTick) ticks ago.
        var dueAt = _clock.Elapsed - System.Diagnostics.Stopwatch.GetElapsedTime(_dryFromTimestamp) - lagAtGap;
        return new LateGap(_options.FrameDuration * _dryFromTick, (int)(tick - _dryFromTick), lagAtGap, lagBefore - lagAtGap,
            resumedReceivedAt - dueAt, _dryFromTimestamp);
    }

    /// <summary>
    /// Echoes the marks due, oldest first, from whichever loop gets here (the line after playing a frame, the receiver
    /// after a <c>clear</c>): each loop taking its own would let a cleared mark overtake one played just before it.
    /// </summary>
    private async Task EchoDueMarksAsync(CancellationToken cancellationToken)
    {
        await _echoing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                string mark;
                lock (_gate)
                {
                    if (_marksToEcho.Count == 0)
                    {
                        return;
                    }
                    mark = _marksToEcho[0];
                    _marksToEcho.RemoveAt(0);
                }
                await EchoMarkAsync(mark, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _echoing.Release();
        }
    }

    private async Task EchoMarkAsync(string name, CancellationToken cancellationToken)
    {
        // Counted as echoed before it goes out: the app may act on it before this send returns.
        lock (_gate)
        {
            _echoedMarks.Add(name);
            _markEchoes.Add(new MarkEcho(name, LineTime, System.Diagnostics.Stopwatch.GetTimestamp(), _clears));
        }

        await SendAsync(static (w, seq, s) => w.MarkEcho(seq, s.StreamSid, s.Name), (_options.StreamSid, Name: name), cancellationToken).ConfigureAwait(false);
    }
}
