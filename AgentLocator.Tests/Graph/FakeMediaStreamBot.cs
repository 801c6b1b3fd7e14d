using System.Net;
using System.Net.WebSockets;
using AgentLocator.Media;
using AgentLocator.MediaStreams;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Tests.Graph;

/// <summary>
/// The smallest bot that speaks the Media Streams protocol (TWILIO.md §4) on <c>/ws/twilio-media</c> and
/// <c>/ws/twilio-media/</c>: it closes a stream whose <c>start</c> lacks the TwiML's parameters, and answers each
/// caller turn (voice, then 600 ms of line silence, like the real end-of-turn window) with one second of tone and a mark. It lets the smoke
/// suite's media checks be proven against the protocol independently of the MediaWorker.
/// </summary>
public sealed class FakeMediaStreamBot : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<IReadOnlyDictionary<string, string>> _starts = [];

    private FakeMediaStreamBot(WebApplication app) => _app = app;

    public Uri MediaUrl { get; private set; } = null!;

    /// <summary>The customParameters of every <c>start</c> received.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Starts
    {
        get { lock (_gate) { return [.. _starts]; } }
    }

    public static async Task<FakeMediaStreamBot> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var bot = new FakeMediaStreamBot(app);
        app.UseWebSockets();
        // One route serves both: routing ignores a trailing slash (mapping both is an AmbiguousMatchException, a 500).
        app.Map("/ws/twilio-media", bot.AcceptAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        bot.MediaUrl = new UriBuilder(address) { Scheme = "ws", Path = "/ws/twilio-media" }.Uri;
        return bot;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task AcceptAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var reader = new WebSocketMessageReader();
        using var writer = new MediaStreamWriter();
        string? streamSid = null;
        var heardVoice = false;
        var silentFrames = 0;
        var turns = 0;
        try
        {
            while (await reader.ReceiveAsync(socket, context.RequestAborted) == WebSocketMessageKind.Text)
            {
                if (MediaStreamParser.TryParse(reader.Message.Span, out var message) != MediaStreamParseStatus.Ok)
                {
                    continue;
                }
                if (message.EventType == MediaStreamEventType.Start && message.Start is { } start)
                {
                    lock (_gate)
                    {
                        _starts.Add(start.CustomParameters);
                    }
                    if (!start.CustomParameters.TryGetValue("callSid", out var sid) || sid != start.CallSid
                        || !start.CustomParameters.ContainsKey("token"))
                    {
                        await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, "unknown call", CancellationToken.None);
                        return;
                    }
                    streamSid = start.StreamSid;
                }
                else if (message.EventType == MediaStreamEventType.Media && streamSid is not null)
                {
                    var voiced = AudioLevel.MuLawDbfs(message.GetPayload()) > -45;
                    heardVoice |= voiced;
                    silentFrames = voiced ? 0 : silentFrames + 1;
                    if (heardVoice && silentFrames >= 30)
                    {
                        heardVoice = false;
                        turns++;
                        await socket.SendAsync(writer.WriteMedia(streamSid, Tone()), WebSocketMessageType.Text, true, context.RequestAborted);
                        await socket.SendAsync(writer.WriteMark(streamSid, $"reply-{turns}"), WebSocketMessageType.Text, true, context.RequestAborted);
                    }
                }
                else if (message.EventType == MediaStreamEventType.Stop)
                {
                    break;
                }
            }
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            // The caller hung up abruptly (the raw handshake probe does): nothing to answer.
        }
    }

    /// <summary>One second of a 440 Hz tone at about -12 dBFS, mu-law.</summary>
    private static byte[] Tone() =>
        MuLaw.Encode(Enumerable.Range(0, 8000).Select(i => (short)(8000 * Math.Sin(2 * Math.PI * 440 * i / 8000))).ToArray());
}
