using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using AgentLocator.Media;
using AgentLocator.MediaStreams;

namespace AgentLocator.Tests.Media;

public sealed class WebSocketMessageReaderTests : IAsyncLifetime
{
    private const string Media = """{"event":"media","sequenceNumber":"3","streamSid":"MZ1","media":{"track":"inbound","chunk":"2","timestamp":"40","payload":"/3+A/w=="}}""";

    private TcpClient? _client;
    private TcpClient? _accepted;
    private WebSocket _sender = null!;
    private WebSocket _receiver = null!;

    public async Task InitializeAsync()
    {
        // A real socket pair on loopback, with WebSocket framing on both ends.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _client = new TcpClient();
        var accepting = listener.AcceptTcpClientAsync();
        await _client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        _accepted = await accepting;
        listener.Stop();
        _sender = WebSocket.CreateFromStream(_client.GetStream(), isServer: false, subProtocol: null, keepAliveInterval: Timeout.InfiniteTimeSpan);
        _receiver = WebSocket.CreateFromStream(_accepted.GetStream(), isServer: true, subProtocol: null, keepAliveInterval: Timeout.InfiniteTimeSpan);
    }

    public Task DisposeAsync()
    {
        _sender.Dispose();
        _receiver.Dispose();
        _client?.Dispose();
        _accepted?.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task AMessageSentInOneByteFragmentsIsAssembledWhole()
    {
        var bytes = Encoding.UTF8.GetBytes(Media);
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                await _sender.SendAsync(bytes.AsMemory(i, 1), WebSocketMessageType.Text, endOfMessage: i == bytes.Length - 1, CancellationToken.None);
            }
        });

        using var reader = new WebSocketMessageReader();
        Assert.Equal(WebSocketMessageKind.Text, await reader.ReceiveAsync(_receiver, CancellationToken.None));
        await sending;
        Assert.Equal(bytes, reader.Message.ToArray());
        Assert.Equal(MediaStreamParseStatus.Ok, MediaStreamParser.TryParse(reader.Message.Span, out var message));
        Assert.Equal(40, message.TimestampMs);
    }

    [Fact]
    public async Task AnOversizedMessageIsReportedAndTheNextOneStillReads()
    {
        using var reader = new WebSocketMessageReader(maxMessageBytes: 10_000);
        var huge = Encoding.UTF8.GetBytes("{\"event\":\"media\",\"media\":{\"payload\":\"" + new string('A', 40_000) + "\"}}");
        var sending = Task.Run(async () =>
        {
            await _sender.SendAsync(huge, WebSocketMessageType.Text, true, CancellationToken.None);
            await _sender.SendAsync(Encoding.UTF8.GetBytes(Media), WebSocketMessageType.Text, true, CancellationToken.None);
            await _sender.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        });

        Assert.Equal(WebSocketMessageKind.TooLarge, await reader.ReceiveAsync(_receiver, CancellationToken.None));
        Assert.Equal(0, reader.Message.Length);
        Assert.Equal(WebSocketMessageKind.Text, await reader.ReceiveAsync(_receiver, CancellationToken.None));
        Assert.Equal(Media, Encoding.UTF8.GetString(reader.Message.Span));
        Assert.Equal(WebSocketMessageKind.Close, await reader.ReceiveAsync(_receiver, CancellationToken.None));
        await sending;
    }

    [Fact]
    public async Task BinaryMessagesAreReportedAsBinary()
    {
        using var reader = new WebSocketMessageReader();
        await _sender.SendAsync(new byte[] { 1, 2, 3 }, WebSocketMessageType.Binary, true, CancellationToken.None);
        Assert.Equal(WebSocketMessageKind.Binary, await reader.ReceiveAsync(_receiver, CancellationToken.None));
        Assert.Equal(new byte[] { 1, 2, 3 }, reader.Message.ToArray());
    }
}
