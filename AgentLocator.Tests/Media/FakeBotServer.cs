using System.Diagnostics;
using System.Net.WebSockets;
using System.Threading.Channels;
using AgentLocator.Media;
using AgentLocator.MediaStreams;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Tests.Media;

/// <summary>What the fake bot received from the simulator, copied to the heap.</summary>
internal sealed record InboundEvent(
    MediaStreamEventType Type,
    TimeSpan At,
    long SequenceNumber,
    long Chunk = -1,
    long TimestampMs = -1,
    byte[]? Payload = null,
    string? Digit = null,
    string? MarkName = null,
    StreamStart? Start = null,
    string? StreamSid = null,
    string? StopCallSid = null,
    MediaTrack Track = MediaTrack.Unspecified);

/// <summary>
/// A tiny app-side Media Streams endpoint on Kestrel (127.0.0.1, any free port): each connection
/// runs <c>bot</c>, which reads <see cref="BotSession.Events"/> and answers through the session.
/// Lets the simulator be tested on its own, against a bot whose every reply the test scripts.
/// </summary>
internal sealed class FakeBotServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<BotSession> _sessions = Channel.CreateUnbounded<BotSession>();

    private FakeBotServer(Func<BotSession, Task> bot)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.UseWebSockets();
        _app.Map("/ws/twilio-media", async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var session = new BotSession(socket);
            _sessions.Writer.TryWrite(session);
            var receiving = session.ReceiveLoopAsync(context.RequestAborted);
            try
            {
                await bot(session);
            }
            finally
            {
                await session.CloseAsync();
                await receiving;
                session.Completed.TrySetResult();
            }
        });
    }

    public Uri MediaUri { get; private set; } = null!;

    public static async Task<FakeBotServer> StartAsync(Func<BotSession, Task> bot)
    {
        var server = new FakeBotServer(bot);
        await server._app.StartAsync();
        var address = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.MediaUri = new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws/twilio-media");
        return server;
    }

    public async Task<BotSession> NextSessionAsync() =>
        await _sessions.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}

internal sealed class BotSession(WebSocket socket)
{
    private readonly Channel<InboundEvent> _events = Channel.CreateUnbounded<InboundEvent>();
    private readonly List<InboundEvent> _all = [];
    private readonly MediaStreamWriter _writer = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public ChannelReader<InboundEvent> Events => _events.Reader;

    public TaskCompletionSource Completed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string StreamSid { get; set; } = "MZ-unknown";

    public TimeSpan Now => _clock.Elapsed;

    public IReadOnlyList<InboundEvent> All
    {
        get { lock (_all) { return [.. _all]; } }
    }

    public Task SendMediaAsync(byte[] muLaw) => SendAsync(w => w.WriteMedia(StreamSid, muLaw));

    public Task SendMarkAsync(string name) => SendAsync(w => w.WriteMark(StreamSid, name));

    public Task SendClearAsync() => SendAsync(w => w.WriteClear(StreamSid));

    public Task SendRawAsync(string json) => SendAsync(_ => System.Text.Encoding.UTF8.GetBytes(json));

    public async Task CloseAsync()
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                socket.Abort();
            }
        }
    }

    public async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        using var reader = new WebSocketMessageReader();
        try
        {
            while (true)
            {
                var kind = await reader.ReceiveAsync(socket, cancellationToken);
                if (kind != WebSocketMessageKind.Text)
                {
                    break;
                }

                var e = ToEvent(reader.Message.Span, _clock.Elapsed);
                lock (_all)
                {
                    _all.Add(e);
                }

                _events.Writer.TryWrite(e);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The simulator went away.
        }
        finally
        {
            _events.Writer.TryComplete();
        }
    }

    private static InboundEvent ToEvent(ReadOnlySpan<byte> json, TimeSpan at)
    {
        var status = MediaStreamParser.TryParse(json, out var m);
        Assert.True(status == MediaStreamParseStatus.Ok, "the simulator sent an invalid message: " + m.ToString());
        return new InboundEvent(
            m.EventType, at, m.SequenceNumber, m.Chunk, m.TimestampMs,
            m.EventType == MediaStreamEventType.Media ? m.GetPayload() : null,
            m.Digit, m.MarkName, m.Start, m.GetStreamSid(), m.StopCallSid, m.Track);
    }

    private async Task SendAsync(Func<MediaStreamWriter, ReadOnlyMemory<byte>> write)
    {
        await _sendLock.WaitAsync();
        try
        {
            await socket.SendAsync(write(_writer), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }
}
