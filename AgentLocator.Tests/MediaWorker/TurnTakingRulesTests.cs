using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using AgentLocator.MediaWorker.MediaStreams;

namespace AgentLocator.Tests.MediaWorker;

/// <summary>The timing rules of a live call that the real-time tests prove end to end, each on its own.</summary>
public sealed class TurnTakingRulesTests
{
    private static readonly TimeSpan MinAfterPlayback = TimeSpan.FromMilliseconds(400);

    private static TimeSpan Ms(int ms) => TimeSpan.FromMilliseconds(ms);

    [Theory]
    [InlineData(900, 2100, 1200, true)]   // started 300 ms before the question ended, went on 900 ms past it: an answer
    [InlineData(1100, 1700, 1200, true)]  // 500 ms past the end: still an answer
    [InlineData(1100, 1600, 1200, true)]  // exactly the minimum past the end
    [InlineData(1100, 1550, 1200, false)] // a back-channel or echo running 350 ms past the end
    [InlineData(1000, 1150, 1200, false)] // over before the end
    [InlineData(1300, 1500, 1200, true)]  // began after the question ended: a turn however short
    public void SpeechThatBeganUnderAReplyIsATurnOnlyWhenItGoesOnWellPastTheEndOfPlayback(int startMs, int endMs, int playbackEndMs, bool isTurn) =>
        Assert.Equal(isTurn, TurnRule.IsTurn(Ms(startMs), Ms(endMs), Ms(playbackEndMs), stillPlaying: false, interruptedPlayback: false, MinAfterPlayback));

    [Fact]
    public void SpeechThatEndsWhileTheBotStillPlaysIsNeverATurn() =>
        Assert.False(TurnRule.IsTurn(Ms(100), Ms(5000), Ms(0), stillPlaying: true, interruptedPlayback: false, MinAfterPlayback));

    [Fact]
    public void SpeechThatInterruptedTheReplyIsATurn() =>
        Assert.True(TurnRule.IsTurn(Ms(900), Ms(1000), Ms(1000), stillPlaying: false, interruptedPlayback: true, MinAfterPlayback));

    [Fact]
    public async Task ASendQueueIdleFarLongerThanTheSendTimeoutStillSends()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var accepted = await listener.AcceptTcpClientAsync();
        using var server = WebSocket.CreateFromStream(accepted.GetStream(), new WebSocketCreationOptions { IsServer = true });
        using var peer = WebSocket.CreateFromStream(client.GetStream(), new WebSocketCreationOptions { IsServer = false });

        var sendTimeout = TimeSpan.FromMilliseconds(200);
        var queue = new OutboundQueue(server, "MZ1", capacity: 16, sendTimeout);
        var loop = queue.RunAsync(CancellationToken.None);
        var buffer = new byte[4096];
        for (var i = 0; i < 3; i++)
        {
            Assert.True(queue.TryWriteMark(1, $"r1.{i}"));
            var received = await peer.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Contains($"r1.{i}", System.Text.Encoding.UTF8.GetString(buffer, 0, received.Count), StringComparison.Ordinal);
            await Task.Delay(sendTimeout * 4); // the caller talks; nothing to send
            Assert.False(loop.IsCompleted, $"the send loop ended after {i + 1} idle spells: {loop.Exception?.InnerException?.Message}");
        }

        queue.Complete();
        await loop.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, queue.Sent);
    }
}
