using AgentLocator.MediaWorker.Conversation;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// What the bot is playing, on the stream clock (the caller's frame timestamps). Replies are
/// scheduled back to back, released to the send queue a bounded lead ahead of the line (so a
/// barge-in drops the rest without it ever being sent), cut into chunks each followed by a
/// <c>mark</c>, and the marks Twilio echoes (FIFO) tell what was really played. Each reply opens with a start mark
/// (<c>s{id}</c>, before its first frame): Twilio echoes it when the reply begins to play (at once when nothing is
/// queued before it, else when what is has played), so the frames read before its echo are from before the reply and
/// the echo's place in the stream is where it begins. Until then its schedule is the worker's estimate of the line, which
/// is wrong by however far the receive loop, or the peer's line, ran behind the wall clock; the echo anchors the reply
/// (<see cref="OnMarkEcho"/>) and only an anchored reply is the echo canceller's reference (<see cref="FrameAt"/>). The peer
/// plays audio as it arrives, so where its buffer ran dry the rest of the reply plays later: a frame released after its
/// time on the line moves the rest of the schedule to then, and a chunk whose mark came back a frame or more late moves it
/// to where the mark says (the receive loop may have run behind the line when the frame went out). A streamed reply (a
/// speech-to-speech engine's) grows as its audio arrives (<see cref="Append"/>) and is complete once
/// <see cref="Close"/>d. Not thread-safe: the session serializes its users (the receive loop and a
/// streaming engine's output) with one lock.
/// </summary>
internal sealed class PlaybackTracker(MediaStreamOptions options)
{
    public const int FrameBytes = 160;
    public static readonly TimeSpan FrameDuration = TimeSpan.FromMilliseconds(20);

    private readonly List<ScheduledReply> _replies = [];
    private readonly Queue<(int ReplyId, int Chunk)> _sentMarks = new();

    /// <summary>Streamed replies the caller cut off: audio that still arrives for them is dropped.</summary>
    private readonly Queue<string> _droppedKeys = new();
    private int _nextReplyId;

    /// <summary>
    /// How far the line was ahead of the worker's estimate at the last anchor (zero when it was behind): the receive loop's
    /// <c>now</c> (the last frame it read) lags the line that much, so release runs that much further ahead to keep the
    /// peer's buffer a full lead deep.
    /// </summary>
    private TimeSpan _receiveLag;

    /// <summary>
    /// How far the echo canceller's reference (<see cref="FrameAt"/>: anchored replies) moved later since the session last took it
    /// (<see cref="TakeReferenceMoved"/>): an anchored reply slipped. An echo path found on the reference before the move may be
    /// off by that much (an anchor that was early, as the start mark came back before the reply's frames reached the line).
    /// </summary>
    private TimeSpan _referenceMoved;

    public ScheduledReply? Current => _replies.Count > 0 ? _replies[0] : null;

    /// <summary>How far the echo canceller's reference moved later since the last call (zero: it did not move).</summary>
    public TimeSpan TakeReferenceMoved()
    {
        var moved = _referenceMoved;
        _referenceMoved = TimeSpan.Zero;
        return moved;
    }

    /// <summary>The last reply that finished or was interrupted, with what the caller heard of it.</summary>
    public ReplyHeard? LastHeard { get; private set; }

    public TimeSpan ScheduledEnd { get; private set; }

    /// <summary>Bot frames released after their time on the line had already passed (the caller heard a gap).</summary>
    public long LateFrames { get; private set; }

    public ScheduledReply Enqueue(IReadOnlyList<ReplySegment> segments, TimeSpan now, CallEnd end)
    {
        var length = segments.Sum(s => s.MuLaw.Length);
        var audio = new byte[length];
        var offset = 0;
        foreach (var segment in segments)
        {
            segment.MuLaw.Span.CopyTo(audio.AsSpan(offset));
            offset += segment.MuLaw.Length;
        }

        CloseAll();
        var start = now > ScheduledEnd ? now : ScheduledEnd;
        var reply = new ScheduledReply(++_nextReplyId, segments, audio, start, options.ChunkFrames, end);
        ScheduledEnd = start + reply.Duration;
        _replies.Add(reply);
        return reply;
    }

    /// <summary>
    /// Streamed audio of the reply <paramref name="key"/>: appended to it while it is open, else a new reply
    /// scheduled after what plays. Audio of a reply the caller cut off is dropped. Returns the reply when this
    /// audio started it (null otherwise).
    /// </summary>
    public ScheduledReply? Append(string key, ReadOnlySpan<byte> audio, TimeSpan now)
    {
        if (audio.IsEmpty || _droppedKeys.Contains(key))
        {
            return null;
        }

        var open = _replies.Count > 0 && _replies[^1] is { IsOpen: true } last && last.Label == key ? last : null;
        ScheduledReply? started = null;
        if (open is null)
        {
            if (_replies.Exists(r => r.Label == key))
            {
                return null; // closed already: late audio of a finished reply
            }

            CloseAll();
            var start = now > ScheduledEnd ? now : ScheduledEnd;
            open = started = ScheduledReply.Streamed(++_nextReplyId, key, start, options.ChunkFrames);
            _replies.Add(open);
        }

        open.Append(audio);
        if (open.ExpectedEnd > ScheduledEnd)
        {
            ScheduledEnd = open.ExpectedEnd;
        }

        return started;
    }

    /// <summary>The streamed reply <paramref name="key"/> is complete: its last partial frame and marks can go out.</summary>
    public void Close(string key)
    {
        foreach (var reply in _replies)
        {
            if (reply.IsOpen && reply.Label == key)
            {
                reply.Close();
            }
        }
    }

    private void CloseAll()
    {
        foreach (var reply in _replies)
        {
            reply.Close();
        }
    }

    /// <summary>The last reply still playing (for an ending that must wait for it), if any.</summary>
    public ScheduledReply? Last => _replies.Count > 0 ? _replies[^1] : null;

    /// <summary>True while some reply is (by the marks, bounded by its schedule) still playing.</summary>
    public bool IsPlaying(TimeSpan now)
    {
        Retire(now);
        return _replies.Count > 0;
    }

    /// <summary>
    /// The bot's frame playing at <paramref name="now"/> on the line, for the barge-in detector's echo reference: empty
    /// while the reply's start is not yet proven (its start mark not echoed), as the line has not played it before then.
    /// </summary>
    public ReadOnlySpan<byte> FrameAt(TimeSpan now)
    {
        foreach (var reply in _replies)
        {
            if (reply.Anchored && now >= reply.StartAt && now < reply.StartAt + reply.Duration)
            {
                var offset = (int)((now - reply.StartAt).Ticks * 8000 / TimeSpan.TicksPerSecond);
                return reply.Audio.Span.Slice(offset, Math.Min(FrameBytes, reply.Audio.Length - offset));
            }
        }

        return [];
    }

    /// <summary>
    /// Writes what is due (frames up to <paramref name="now"/> + lead, and their marks; <paramref name="now"/> is the last
    /// caller frame read, so plus how far that lagged the line at the last anchor) without ever waiting. Returns where on the
    /// line the first frame it wrote is due (null when it wrote none), so the session can time its release on the wall clock.
    /// <paramref name="ahead"/>: how much further the line is by the wall clock (the time since that frame was read, when the
    /// playout clock releases); a frame is late, and slips what follows, only by <paramref name="now"/>.
    /// </summary>
    public TimeSpan? Release(TimeSpan now, OutboundQueue queue, TimeSpan ahead = default)
    {
        TimeSpan? firstDue = null;
        var horizon = now + ahead + _receiveLag + options.PlaybackLead;
        foreach (var reply in _replies)
        {
            while (reply.NextItemDue(horizon, out var isMark, out var frameIndex))
            {
                if (isMark)
                {
                    var chunk = reply.StartMarkQueued ? reply.MarksQueued : ScheduledReply.StartChunk;
                    if (!queue.TryWriteMark(reply.Id, reply.MarkName(chunk)))
                    {
                        return firstDue;
                    }

                    _sentMarks.Enqueue((reply.Id, chunk));
                    if (chunk == ScheduledReply.StartChunk)
                    {
                        reply.StartMarkQueued = true;
                    }
                    else
                    {
                        reply.MarksQueued++;
                    }
                }
                else
                {
                    var start = frameIndex * FrameBytes;
                    if (!queue.TryWriteMedia(reply.Id, reply.Audio.Slice(start, Math.Min(FrameBytes, reply.Audio.Length - start))))
                    {
                        return firstDue;
                    }

                    var due = reply.StartAt + FrameDuration * frameIndex;
                    firstDue ??= due;
                    if (due < now)
                    {
                        LateFrames++;
                        if (reply.Anchored)
                        {
                            // The line is past its time: the peer's buffer ran dry, and it plays as it arrives (the rest after it).
                            Slip(reply, now - due);
                        }
                    }

                    reply.FramesQueued++;
                }
            }

            if (!reply.FullyQueued)
            {
                return firstDue; // later replies wait for this one
            }
        }

        return firstDue;
    }

    /// <summary>
    /// A mark came back at stream time <paramref name="now"/> (the end of the last caller frame read before it): everything
    /// queued before it has played. A reply's start mark anchors it there; returns the reply anchored, if any.
    /// </summary>
    public ScheduledReply? OnMarkEcho(string name, TimeSpan now)
    {
        if (!ScheduledReply.TryParseMark(name, out var replyId, out var chunk))
        {
            return null;
        }

        // A mark of a reply dropped by barge-in (Twilio echoes those on clear) is no longer tracked.
        if (!_sentMarks.Contains((replyId, chunk)))
        {
            return null;
        }

        ScheduledReply? anchored = null;

        // FIFO: marks come back in the order they were sent; skip any Twilio dropped.
        while (_sentMarks.TryDequeue(out var sent))
        {
            if (sent.ReplyId == replyId && sent.Chunk == chunk)
            {
                var reply = _replies.Find(r => r.Id == replyId);
                if (reply is not null && !reply.Anchored)
                {
                    // Its start mark came back (or, if Twilio dropped that echo, a chunk's: the reply began that long before).
                    var begun = chunk == ScheduledReply.StartChunk ? TimeSpan.Zero : PlayedThrough(reply, chunk);
                    Anchor(reply, now - begun);
                    anchored = reply;
                }

                if (reply is not null && chunk != ScheduledReply.StartChunk)
                {
                    // The chunk ended a frame or more after its time: the peer's buffer ran dry inside it (a frame released
                    // late while the receive loop ran behind the line), so the rest of the reply plays that much later.
                    var chunkEnd = reply.StartAt + PlayedThrough(reply, chunk);
                    if (now - chunkEnd >= PlaybackTracker.FrameDuration && (chunk + 1) * options.ChunkFrames < reply.FrameCount)
                    {
                        Slip(reply, now - chunkEnd);
                    }

                    reply.ChunksPlayed = Math.Max(reply.ChunksPlayed, chunk + 1);
                    // Re-anchor on what really played: a line that fell behind the schedule (jitter, a
                    // slow peer) must not have its reply counted as over while it still plays.
                    var remaining = reply.Duration - PlaybackTracker.FrameDuration * Math.Min(reply.FrameCount, (chunk + 1) * options.ChunkFrames);
                    if (now + remaining > reply.ExpectedEnd)
                    {
                        reply.ExpectedEnd = now + remaining;
                    }
                }

                break;
            }
        }

        return anchored;
    }

    /// <summary>
    /// The line proved that <paramref name="reply"/> begins at <paramref name="start"/>: it, and the replies scheduled back to
    /// back after it (on the same estimate), move there.
    /// </summary>
    private void Anchor(ScheduledReply reply, TimeSpan start)
    {
        var moved = start - reply.StartAt;
        _receiveLag = moved > TimeSpan.Zero ? moved : TimeSpan.Zero;
        reply.Anchor(start);
        ShiftAfter(reply, moved);
    }

    /// <summary>What is left of <paramref name="reply"/> (anchored) plays <paramref name="late"/> later than scheduled, and what follows it.</summary>
    private void Slip(ScheduledReply reply, TimeSpan late)
    {
        if (reply.Anchored)
        {
            _referenceMoved += late;
        }

        reply.Shift(late);
        ShiftAfter(reply, late);
    }

    /// <summary>The replies scheduled back to back after <paramref name="reply"/> (on the same estimate) move with it.</summary>
    private void ShiftAfter(ScheduledReply reply, TimeSpan by)
    {
        foreach (var later in _replies.SkipWhile(r => r != reply).Skip(1))
        {
            later.Shift(by);
        }

        ScheduledEnd += by;
    }

    /// <summary>How far into <paramref name="reply"/> the end of its chunk <paramref name="chunk"/> is.</summary>
    private TimeSpan PlayedThrough(ScheduledReply reply, int chunk) =>
        FrameDuration * Math.Min(reply.FrameCount, (chunk + 1) * options.ChunkFrames);

    /// <summary>Barge-in: the current replies are dropped; returns what the caller heard of the first.</summary>
    public ReplyHeard? Interrupt(TimeSpan now)
    {
        Retire(now);
        if (_replies.Count == 0)
        {
            return null;
        }

        var heard = _replies[0].Heard(interrupted: true);
        foreach (var reply in _replies.Where(r => r.IsStreamed))
        {
            _droppedKeys.Enqueue(reply.Label);
            if (_droppedKeys.Count > 32)
            {
                _droppedKeys.Dequeue();
            }
        }

        _replies.Clear();
        _sentMarks.Clear();
        ScheduledEnd = now;
        LastHeard = heard;
        return heard;
    }

    private void Retire(TimeSpan now)
    {
        while (_replies.Count > 0)
        {
            var reply = _replies[0];
            if (reply.IsOpen && now >= reply.ExpectedEnd + options.MarkEchoGrace)
            {
                reply.Close(); // its audio stopped coming long ago (the engine stalled): it is over
            }

            var played = reply.FullyQueued && reply.ChunksPlayed >= reply.ChunkCount;
            if (!played && now < reply.ExpectedEnd + options.MarkEchoGrace)
            {
                return;
            }

            LastHeard = reply.Heard(interrupted: false);
            reply.Finished = true;
            _replies.RemoveAt(0);
        }
    }
}

/// <summary>One reply on the playback schedule: whole (prompts) or streamed (growing until closed).</summary>
internal sealed class ScheduledReply
{
    private readonly int _chunkFrames;
    private readonly IReadOnlyList<ReplySegment>? _segments;
    private byte[] _audio;
    private int _length;

    public ScheduledReply(int id, IReadOnlyList<ReplySegment> segments, byte[] audio, TimeSpan startAt, int chunkFrames, CallEnd end)
    {
        Id = id;
        _segments = segments;
        _audio = audio;
        _length = audio.Length;
        StartAt = startAt;
        End = end;
        _chunkFrames = chunkFrames;
        Label = string.Join('+', segments.Select(s => s.Label));
        ExpectedEnd = startAt + Duration;
    }

    private ScheduledReply(int id, string key, TimeSpan startAt, int chunkFrames)
    {
        Id = id;
        _audio = new byte[8000];
        StartAt = startAt;
        _chunkFrames = chunkFrames;
        Label = key;
        IsOpen = true;
        ExpectedEnd = startAt;
    }

    /// <summary>A reply whose audio arrives as it is generated, named by the engine's <paramref name="key"/>.</summary>
    public static ScheduledReply Streamed(int id, string key, TimeSpan startAt, int chunkFrames) => new(id, key, startAt, chunkFrames);

    /// <summary>When the reply should have finished playing: its schedule, moved later by marks that came back late.</summary>
    public TimeSpan ExpectedEnd { get; set; }

    public int Id { get; }

    /// <summary>Its segments; a streamed reply is one segment named by its key.</summary>
    public IReadOnlyList<ReplySegment> Segments => _segments ?? [new ReplySegment(Label, Audio)];

    /// <summary>Its audio so far. Slices stay valid as a streamed reply grows (growing copies, never overwrites).</summary>
    public ReadOnlyMemory<byte> Audio => _audio.AsMemory(0, _length);

    public string Label { get; }

    /// <summary>
    /// Where its first frame plays on the line: the worker's estimate until <see cref="Anchored"/>; after a gap in its
    /// playback, where it would have begun for the frames from the gap on to play where they do.
    /// </summary>
    public TimeSpan StartAt { get; private set; }

    /// <summary>How far anchoring moved <see cref="StartAt"/> from the estimate (later: the line was further on than the worker knew).</summary>
    public TimeSpan Moved { get; private set; }

    /// <summary>Whether the peer proved where it begins (its start mark echoed): only then is it the echo canceller's reference.</summary>
    public bool Anchored { get; private set; }

    /// <summary>Whether its start mark (before its first frame) has been queued.</summary>
    public bool StartMarkQueued { get; set; }

    public CallEnd End { get; }

    public bool IsStreamed => _segments is null;

    /// <summary>A streamed reply whose audio is still coming.</summary>
    public bool IsOpen { get; private set; }

    public TimeSpan Duration => TimeSpan.FromTicks(_length * TimeSpan.TicksPerSecond / 8000);

    /// <summary>Frames to send: while open only whole ones (the rest waits for more audio), then the partial last one.</summary>
    public int FrameCount => IsOpen ? _length / PlaybackTracker.FrameBytes : (_length + PlaybackTracker.FrameBytes - 1) / PlaybackTracker.FrameBytes;

    public int ChunkCount => (FrameCount + _chunkFrames - 1) / _chunkFrames;

    public int FramesQueued { get; set; }

    public int MarksQueued { get; set; }

    public int ChunksPlayed { get; set; }

    public bool Finished { get; set; }

    public bool FullyQueued => !IsOpen && FramesQueued == FrameCount && MarksQueued == ChunkCount;

    public void Append(ReadOnlySpan<byte> audio)
    {
        if (_length + audio.Length > _audio.Length)
        {
            // A new array: slices of the old one already queued for sending keep their bytes.
            var grown = new byte[Math.Max(_audio.Length * 2, _length + audio.Length)];
            _audio.AsSpan(0, _length).CopyTo(grown);
            _audio = grown;
        }

        audio.CopyTo(_audio.AsSpan(_length));
        _length += audio.Length;
        if (StartAt + Duration > ExpectedEnd)
        {
            ExpectedEnd = StartAt + Duration;
        }
    }

    public void Close() => IsOpen = false;

    /// <summary>The chunk number of a reply's start mark (<c>s{id}</c>), sent before its first frame.</summary>
    public const int StartChunk = -1;

    /// <summary>The peer proved its first frame plays at <paramref name="start"/>.</summary>
    public void Anchor(TimeSpan start)
    {
        Moved = start - StartAt;
        Shift(Moved);
        Anchored = true;
    }

    /// <summary>Moves it on the line by <paramref name="by"/>: a reply behind one that moved, or what is left of it after a gap.</summary>
    public void Shift(TimeSpan by)
    {
        StartAt += by;
        ExpectedEnd += by;
    }

    public string MarkName(int chunk) => chunk == StartChunk ? $"s{Id}" : $"r{Id}.{chunk}";

    public static bool TryParseMark(string name, out int replyId, out int chunk)
    {
        replyId = chunk = 0;
        if (name.StartsWith('s') && int.TryParse(name.AsSpan(1), out replyId))
        {
            chunk = StartChunk;
            return true;
        }

        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return name.StartsWith('r') && dot > 1
            && int.TryParse(name.AsSpan(1, dot - 1), out replyId)
            && int.TryParse(name.AsSpan(dot + 1), out chunk);
    }

    /// <summary>
    /// The next item to queue: the start mark with the first frame, a mark after each full chunk (and after the last frame),
    /// else the next frame when due.
    /// </summary>
    public bool NextItemDue(TimeSpan horizon, out bool isMark, out int frameIndex)
    {
        frameIndex = FramesQueued;
        var frameCount = FrameCount;
        if (!StartMarkQueued)
        {
            isMark = true;
            return frameCount > 0 && StartAt < horizon;
        }
        var marksDue = FramesQueued == frameCount && !IsOpen ? ChunkCount : FramesQueued / _chunkFrames;
        if (MarksQueued < marksDue)
        {
            isMark = true;
            return true;
        }

        isMark = false;
        return FramesQueued < frameCount && StartAt + PlaybackTracker.FrameDuration * FramesQueued < horizon;
    }

    public ReplyHeard Heard(bool interrupted)
    {
        var heardBytes = Math.Min(_length, ChunksPlayed * _chunkFrames * PlaybackTracker.FrameBytes);
        if (!interrupted)
        {
            heardBytes = _length;
        }

        var segments = Segments;
        var heardSegments = new List<SegmentHeard>(segments.Count);
        var offset = 0;
        foreach (var segment in segments)
        {
            var heard = Math.Clamp(heardBytes - offset, 0, segment.MuLaw.Length);
            heardSegments.Add(new SegmentHeard(segment.Label, Bytes(heard), segment.Duration));
            offset += segment.MuLaw.Length;
        }

        return new ReplyHeard(Id, heardSegments, Bytes(heardBytes), Duration, interrupted);
    }

    private static TimeSpan Bytes(int count) => TimeSpan.FromTicks(count * TimeSpan.TicksPerSecond / 8000);
}
