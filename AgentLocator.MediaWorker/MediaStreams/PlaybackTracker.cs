using AgentLocator.MediaWorker.Conversation;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// What the bot is playing, on the stream clock (the caller's frame timestamps). Replies are
/// scheduled back to back, released to the send queue a bounded lead ahead of the line (so a
/// barge-in drops the rest without it ever being sent), cut into chunks each followed by a
/// <c>mark</c>, and the marks Twilio echoes (FIFO) tell what was really played. Not thread-safe:
/// only the connection's receive loop uses it.
/// </summary>
internal sealed class PlaybackTracker(MediaStreamOptions options)
{
    public const int FrameBytes = 160;
    public static readonly TimeSpan FrameDuration = TimeSpan.FromMilliseconds(20);

    private readonly List<ScheduledReply> _replies = [];
    private readonly Queue<(int ReplyId, int Chunk)> _sentMarks = new();
    private int _nextReplyId;

    public ScheduledReply? Current => _replies.Count > 0 ? _replies[0] : null;

    /// <summary>The last reply that finished or was interrupted, with what the caller heard of it.</summary>
    public ReplyHeard? LastHeard { get; private set; }

    public TimeSpan ScheduledEnd { get; private set; }

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

        var start = now > ScheduledEnd ? now : ScheduledEnd;
        var reply = new ScheduledReply(++_nextReplyId, segments, audio, start, options.ChunkFrames, end);
        ScheduledEnd = start + reply.Duration;
        _replies.Add(reply);
        return reply;
    }

    /// <summary>True while some reply is (by the marks, bounded by its schedule) still playing.</summary>
    public bool IsPlaying(TimeSpan now)
    {
        Retire(now);
        return _replies.Count > 0;
    }

    /// <summary>The bot's frame scheduled at <paramref name="now"/>, for the barge-in detector's echo reference.</summary>
    public ReadOnlySpan<byte> FrameAt(TimeSpan now)
    {
        foreach (var reply in _replies)
        {
            if (now >= reply.StartAt && now < reply.StartAt + reply.Duration)
            {
                var offset = (int)((now - reply.StartAt).Ticks * 8000 / TimeSpan.TicksPerSecond);
                return reply.Audio.AsSpan(offset, Math.Min(FrameBytes, reply.Audio.Length - offset));
            }
        }

        return [];
    }

    /// <summary>Writes what is due (frames up to <paramref name="now"/> + lead, and their marks) without ever waiting.</summary>
    public void Release(TimeSpan now, OutboundQueue queue)
    {
        foreach (var reply in _replies)
        {
            while (reply.NextItemDue(now + options.PlaybackLead, out var isMark, out var frameIndex))
            {
                if (isMark)
                {
                    var chunk = reply.MarksQueued;
                    if (!queue.TryWriteMark(reply.Id, reply.MarkName(chunk)))
                    {
                        return;
                    }

                    _sentMarks.Enqueue((reply.Id, chunk));
                    reply.MarksQueued++;
                }
                else
                {
                    var start = frameIndex * FrameBytes;
                    if (!queue.TryWriteMedia(reply.Id, reply.Audio.AsMemory(start, Math.Min(FrameBytes, reply.Audio.Length - start))))
                    {
                        return;
                    }

                    reply.FramesQueued++;
                }
            }

            if (!reply.FullyQueued)
            {
                return; // later replies wait for this one
            }
        }
    }

    /// <summary>A mark came back: everything queued before it has played.</summary>
    public void OnMarkEcho(string name, TimeSpan now)
    {
        if (!ScheduledReply.TryParseMark(name, out var replyId, out var chunk))
        {
            return;
        }

        // A mark of a reply dropped by barge-in (Twilio echoes those on clear) is no longer tracked.
        if (!_sentMarks.Contains((replyId, chunk)))
        {
            return;
        }

        // FIFO: marks come back in the order they were sent; skip any Twilio dropped.
        while (_sentMarks.TryDequeue(out var sent))
        {
            if (sent.ReplyId == replyId && sent.Chunk == chunk)
            {
                var reply = _replies.Find(r => r.Id == replyId);
                if (reply is not null)
                {
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
    }

    /// <summary>Barge-in: the current replies are dropped; returns what the caller heard of the first.</summary>
    public ReplyHeard? Interrupt(TimeSpan now)
    {
        Retire(now);
        if (_replies.Count == 0)
        {
            return null;
        }

        var heard = _replies[0].Heard(interrupted: true);
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

/// <summary>One reply on the playback schedule.</summary>
internal sealed class ScheduledReply
{
    private readonly int _chunkFrames;

    public ScheduledReply(int id, IReadOnlyList<ReplySegment> segments, byte[] audio, TimeSpan startAt, int chunkFrames, CallEnd end)
    {
        Id = id;
        Segments = segments;
        Audio = audio;
        StartAt = startAt;
        End = end;
        _chunkFrames = chunkFrames;
        FrameCount = (audio.Length + PlaybackTracker.FrameBytes - 1) / PlaybackTracker.FrameBytes;
        ChunkCount = (FrameCount + chunkFrames - 1) / chunkFrames;
        Label = string.Join('+', segments.Select(s => s.Label));
        ExpectedEnd = startAt + Duration;
    }

    /// <summary>When the reply should have finished playing: its schedule, moved later by marks that came back late.</summary>
    public TimeSpan ExpectedEnd { get; set; }

    public int Id { get; }

    public IReadOnlyList<ReplySegment> Segments { get; }

    public byte[] Audio { get; }

    public string Label { get; }

    public TimeSpan StartAt { get; }

    public CallEnd End { get; }

    public TimeSpan Duration => TimeSpan.FromTicks(Audio.Length * TimeSpan.TicksPerSecond / 8000);

    public int FrameCount { get; }

    public int ChunkCount { get; }

    public int FramesQueued { get; set; }

    public int MarksQueued { get; set; }

    public int ChunksPlayed { get; set; }

    public bool Finished { get; set; }

    public bool FullyQueued => FramesQueued == FrameCount && MarksQueued == ChunkCount;

    public string MarkName(int chunk) => $"r{Id}.{chunk}";

    public static bool TryParseMark(string name, out int replyId, out int chunk)
    {
        replyId = chunk = 0;
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return name.StartsWith('r') && dot > 1
            && int.TryParse(name.AsSpan(1, dot - 1), out replyId)
            && int.TryParse(name.AsSpan(dot + 1), out chunk);
    }

    /// <summary>The next item to queue: a mark after each full chunk (and after the last frame), else the next frame when due.</summary>
    public bool NextItemDue(TimeSpan horizon, out bool isMark, out int frameIndex)
    {
        frameIndex = FramesQueued;
        var marksDue = FramesQueued == FrameCount ? ChunkCount : FramesQueued / _chunkFrames;
        if (MarksQueued < marksDue)
        {
            isMark = true;
            return true;
        }

        isMark = false;
        return FramesQueued < FrameCount && StartAt + PlaybackTracker.FrameDuration * FramesQueued < horizon;
    }

    public ReplyHeard Heard(bool interrupted)
    {
        var heardBytes = Math.Min(Audio.Length, ChunksPlayed * _chunkFrames * PlaybackTracker.FrameBytes);
        if (!interrupted)
        {
            heardBytes = Audio.Length;
        }

        var segments = new List<SegmentHeard>(Segments.Count);
        var offset = 0;
        foreach (var segment in Segments)
        {
            var heard = Math.Clamp(heardBytes - offset, 0, segment.MuLaw.Length);
            segments.Add(new SegmentHeard(segment.Label, Bytes(heard), segment.Duration));
            offset += segment.MuLaw.Length;
        }

        return new ReplyHeard(Id, segments, Bytes(heardBytes), Duration, interrupted);
    }

    private static TimeSpan Bytes(int count) => TimeSpan.FromTicks(count * TimeSpan.TicksPerSecond / 8000);
}
