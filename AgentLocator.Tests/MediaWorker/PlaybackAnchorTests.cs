using System.Net.WebSockets;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.MediaStreams;

namespace AgentLocator.Tests.MediaWorker;

/// <summary>
/// The playback schedule is the echo canceller's reference: where the peer plays each frame of the bot's audio. Each reply's
/// start mark, echoed when the peer begins it, anchors it on the stream clock however far the worker's own estimate was off;
/// a buffer that ran dry (a frame released late, a chunk whose mark came back late) moves the rest of it.
/// </summary>
public sealed class PlaybackAnchorTests
{
    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Fact]
    public void AReplyIsNoEchoReferenceUntilItsStartMarkComesBackThenItPlaysFromWhereTheMarkCameBack()
    {
        var playback = new PlaybackTracker(new MediaStreamOptions());
        var audio = Ramp(50);
        var reply = playback.Enqueue([new ReplySegment("ask", audio)], Ms(100), CallEnd.None);
        playback.Release(Ms(100), Queue());

        // The worker estimated 100 ms; the line had not begun it there (the receive loop ran 400 ms behind).
        Assert.True(playback.FrameAt(Ms(100)).IsEmpty);
        Assert.True(playback.FrameAt(Ms(300)).IsEmpty);

        Assert.Same(reply, playback.OnMarkEcho("s1", Ms(500)));
        Assert.Equal((Ms(500), Ms(400), true), (reply.StartAt, reply.Moved, reply.Anchored));
        Assert.True(playback.FrameAt(Ms(480)).IsEmpty);
        Assert.Equal(audio[..160], playback.FrameAt(Ms(500)).ToArray());
        Assert.Equal(audio[(160 * 3)..(160 * 4)], playback.FrameAt(Ms(560)).ToArray());
        Assert.Equal(Ms(1500), playback.ScheduledEnd);
        Assert.Null(playback.OnMarkEcho("r1.0", Ms(700))); // a chunk's mark anchors nothing more
    }

    [Fact]
    public void AReceiveLoopFoundBehindTheLineReleasesThatMuchFurtherAheadSoThePeerKeepsAFullLead()
    {
        var playback = new PlaybackTracker(new MediaStreamOptions { PlaybackLead = Ms(600) });
        var queue = Queue();
        var reply = playback.Enqueue([new ReplySegment("ask", Ramp(100))], Ms(100), CallEnd.None);
        playback.Release(Ms(100), queue);
        Assert.Equal(30, reply.FramesQueued); // 600 ms ahead of where the worker believes the line is

        // The line began it at 500 ms: the receive loop reads the line 400 ms late. When it has read up to 300 ms, the line is
        // at 700 ms, 10 frames in: the peer must hold 600 ms more, up to frame 40.
        playback.OnMarkEcho("s1", Ms(500));
        playback.Release(Ms(300), queue);
        Assert.Equal(40, reply.FramesQueued);
        Assert.Equal(0, playback.LateFrames);
    }

    [Fact]
    public void ALineBehindTheWorkersEstimateMovesTheReplyEarlierAndTheOneQueuedBehindItWithIt()
    {
        var playback = new PlaybackTracker(new MediaStreamOptions { PlaybackLead = TimeSpan.FromSeconds(10) });
        var first = Ramp(20);
        var second = Ramp(20, seed: 3);
        var queue = Queue();
        var one = playback.Enqueue([new ReplySegment("ask", first)], Ms(520), CallEnd.None);
        var two = playback.Enqueue([new ReplySegment("more", second)], Ms(520), CallEnd.None);
        playback.Release(Ms(0), queue);

        // The peer's line began 520 ms later than the worker's wall clock said: it played the reply from stream time 0.
        Assert.Same(one, playback.OnMarkEcho("s1", Ms(0)));
        Assert.Equal(Ms(-520), one.Moved);
        Assert.Equal(Ms(400), two.StartAt);
        Assert.Equal(first[..160], playback.FrameAt(Ms(0)).ToArray());
        Assert.Equal(first[(160 * 19)..], playback.FrameAt(Ms(380)).ToArray());

        // The second is the reference only once the peer begins it.
        Assert.True(playback.FrameAt(Ms(400)).IsEmpty);
        Assert.Same(two, playback.OnMarkEcho("s2", Ms(400)));
        Assert.Equal(TimeSpan.Zero, two.Moved);
        Assert.Equal(second[..160], playback.FrameAt(Ms(400)).ToArray());
    }

    [Fact]
    public void AFrameReleasedAfterItsTimeOnTheLinePlaysWhenItGoesOutAndTheRestFollowsIt()
    {
        var playback = new PlaybackTracker(new MediaStreamOptions { PlaybackLead = Ms(100) });
        var audio = Ramp(50);
        var queue = Queue();
        var reply = playback.Enqueue([new ReplySegment("ask", audio)], Ms(0), CallEnd.None);
        playback.Release(Ms(0), queue); // the start mark and frames 0-4 (the lead)
        playback.OnMarkEcho("s1", Ms(0));

        // The receive loop stalled: frame 5, due at 100 ms, goes out once the line is at 400 ms; the peer plays it then.
        playback.Release(Ms(400), queue);

        Assert.True(playback.LateFrames > 0);
        Assert.Equal(Ms(300), reply.StartAt);
        Assert.Equal(audio[(160 * 5)..(160 * 6)], playback.FrameAt(Ms(400)).ToArray());
        Assert.Equal(audio[(160 * 49)..], playback.FrameAt(Ms(1280)).ToArray());
        Assert.Equal(Ms(1300), playback.ScheduledEnd);
    }

    [Fact]
    public void AChunkWhoseMarkComesBackAFrameOrMoreLateMovesTheRestToWhereTheMarkSaysItEnded()
    {
        var playback = new PlaybackTracker(new MediaStreamOptions { PlaybackLead = TimeSpan.FromSeconds(10) });
        var audio = Ramp(50);
        var reply = playback.Enqueue([new ReplySegment("ask", audio)], Ms(0), CallEnd.None);
        playback.Release(Ms(0), Queue());
        playback.OnMarkEcho("s1", Ms(0));

        // Chunk 0 (frames 0-9) ended at 200 ms on the schedule; its mark says the line reached its end 60 ms later.
        playback.OnMarkEcho("r1.0", Ms(260));
        Assert.Equal(Ms(60), reply.StartAt);
        Assert.Equal(audio[(160 * 10)..(160 * 11)], playback.FrameAt(Ms(260)).ToArray());

        // Marks on time (or less than a frame late: how the line's frames and its echoes interleave) move nothing.
        playback.OnMarkEcho("r1.1", Ms(460));
        playback.OnMarkEcho("r1.2", Ms(670));
        Assert.Equal(Ms(60), reply.StartAt);
        Assert.Equal(Ms(1060), playback.ScheduledEnd);
    }

    [Fact]
    public void TheEchoCancellerIsToldHowFarItsReferenceMovedWhenAnAnchoredReplySlipsAndOnlyThen()
    {
        var playback = new PlaybackTracker(new MediaStreamOptions { PlaybackLead = TimeSpan.FromSeconds(10) });
        var reply = playback.Enqueue([new ReplySegment("ask", Ramp(50))], Ms(0), CallEnd.None);
        playback.Release(Ms(0), Queue());

        // Anchoring moves a reply that was no reference yet: nothing the canceller heard moves.
        playback.OnMarkEcho("s1", Ms(40));
        Assert.Equal(TimeSpan.Zero, playback.TakeReferenceMoved());

        // The first chunk's mark comes back 60 ms late (its frames reached the line after the start mark's echo): the reference moves.
        playback.OnMarkEcho("r1.0", Ms(300));
        Assert.Equal(Ms(100), reply.StartAt);
        Assert.Equal(Ms(60), playback.TakeReferenceMoved());
        Assert.Equal(TimeSpan.Zero, playback.TakeReferenceMoved()); // taken once

        // On time: no move.
        playback.OnMarkEcho("r1.1", Ms(500));
        Assert.Equal(TimeSpan.Zero, playback.TakeReferenceMoved());
    }

    [Fact]
    public void IfTheStartMarksEchoIsLostTheFirstChunksMarkAnchorsTheReply()
    {
        var playback = new PlaybackTracker(new MediaStreamOptions { PlaybackLead = TimeSpan.FromSeconds(10) });
        var audio = Ramp(50);
        var reply = playback.Enqueue([new ReplySegment("ask", audio)], Ms(0), CallEnd.None);
        playback.Release(Ms(0), Queue());

        Assert.Same(reply, playback.OnMarkEcho("r1.0", Ms(700)));
        Assert.Equal(Ms(500), reply.StartAt);
        Assert.Equal(audio[(160 * 10)..(160 * 11)], playback.FrameAt(Ms(700)).ToArray());
    }

    /// <summary>A send queue nothing drains (room for every frame these tests release).</summary>
    private static OutboundQueue Queue() =>
        new(WebSocket.CreateFromStream(new MemoryStream(), isServer: true, null, Timeout.InfiniteTimeSpan), "MZ", 1000, TimeSpan.FromSeconds(1));

    /// <summary><paramref name="frames"/> frames of distinct bytes (so a frame's place in the reply shows in its bytes).</summary>
    private static byte[] Ramp(int frames, int seed = 0) => Enumerable.Range(0, frames * 160).Select(i => (byte)((i + seed) / 7)).ToArray();
}
