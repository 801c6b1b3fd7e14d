using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AgentLocator.Media;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Tests.Media;
using AgentLocator.MediaStreams;
using static AgentLocator.Tests.MediaWorker.PipelineAssertions;

namespace AgentLocator.Tests.MediaWorker;

/// <summary>The WebSocket endpoint's handshake and its answers to broken or hostile streams.</summary>
public sealed class ProtocolTests(MediaPipelineFixture fixture) : IClassFixture<MediaPipelineFixture>
{
    private string Db => fixture.ConnectionString;

    [Theory]
    [InlineData("/ws/twilio-media")]
    [InlineData("/ws/twilio-media/")]
    public async Task BothPathsAnswerTheUpgradeWith101(string path)
    {
        using var socket = new ClientWebSocket { Options = { CollectHttpResponseDetails = true } };
        await socket.ConnectAsync(fixture.Worker.MediaUri(path), CancellationToken.None);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, socket.HttpStatusCode);
        Assert.Equal(WebSocketState.Open, socket.State);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
    }

    [Theory]
    [InlineData("/ws/twilio-media")]
    [InlineData("/ws/twilio-media/")]
    public async Task APlainGetIsToldToUpgrade(string path)
    {
        var response = await fixture.Worker.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains("WebSocket", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUpgradeOnAnotherPathIsNotFound()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await fixture.Worker.Http.GetAsync("/ws/other")).StatusCode);
        using var socket = new ClientWebSocket { Options = { CollectHttpResponseDetails = true } };
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(fixture.Worker.MediaUri("/ws/other"), CancellationToken.None));
        Assert.Equal(HttpStatusCode.NotFound, socket.HttpStatusCode);
    }

    [Fact]
    public async Task AStreamWithABadTokenIsRefusedAndNothingIsWritten()
    {
        var options = await fixture.StartCallAsync(speed: 1, token: "A" + new string('b', 42));
        var (status, reason) = await AbuseAsync(Connected(), Start(options));

        Assert.Equal((WebSocketCloseStatus.PolicyViolation, "invalid stream token"), (status, reason));
        Assert.Equal(1, await Sql.CountAsync(Db, """
            SELECT count(*) FROM calls WHERE call_sid = $1 AND NOT stream_started AND stream_sid IS NULL AND stream_stopped_at IS NULL
                AND NOT fallback_used AND NOT conversation_completed
            """, options.CallSid));
        Assert.Equal(0, await Sql.CountAsync(Db, "SELECT count(*) FROM utterances u JOIN calls c ON c.id = u.call_id WHERE c.call_sid = $1", options.CallSid));
        Assert.True(fixture.Worker.Logs.Contains($"WS_REJECTED {options.CallSid}"));
        Assert.False(fixture.Worker.Logs.Contains($"WS_START {options.CallSid}"));
    }

    [Fact]
    public async Task BrokenStreamsAreClosedWithAReasonWhileAHealthyCallGoesOn()
    {
        var healthyOptions = await fixture.StartCallAsync(speed: 2);
        await using var healthy = await CallSimulator.ConnectAsync(fixture.Worker.MediaUri(), healthyOptions);
        await PlayedAsync(healthy, 1, PromptKeys.AskName);

        var started = await fixture.StartCallAsync(speed: 1);
        var cases = new (string Name, byte[][] Messages, string Reason)[]
        {
            ("garbage JSON", [Connected(), "{\"event\":\"media\",,,"u8.ToArray()], "malformed JSON"),
            ("unknown event", [Connected(), "{\"event\":\"teleport\",\"streamSid\":\"MZ1\"}"u8.ToArray()], "unknown event 'teleport'"),
            ("media before start", [Connected(), Media("MZ1", MuLaw.Silence)], "media before start"),
            ("bad base64", [Connected(), Start(started), BadMedia(started.StreamSid)], "invalid message"),
            ("oversized frame", [Connected(), Encoding.UTF8.GetBytes("{\"event\":\"media\",\"pad\":\"" + new string('x', 100_000) + "\"}")], "message larger than 65536 bytes"),
        };
        foreach (var (name, messages, expected) in cases)
        {
            var (status, reason) = await AbuseAsync(messages);
            Assert.True(status is WebSocketCloseStatus.PolicyViolation or WebSocketCloseStatus.ProtocolError, $"{name}: closed with {status}");
            Assert.True(reason?.StartsWith(expected, StringComparison.Ordinal) == true, $"{name}: reason '{reason}'");
        }

        // The stream that had started records why it broke (written just after the close).
        Assert.True(await Sql.EventuallyAsync(async () => await Sql.CountAsync(Db,
            "SELECT count(*) FROM calls WHERE call_sid = $1 AND stream_started AND stream_error LIKE 'invalid message%'", started.CallSid) == 1, Patience));

        // Meanwhile the healthy call heard its question whole and its answer is taken.
        await healthy.SayAsync(TestAudio.Fixture("caller_name_he.wav"));
        await PlayedAsync(healthy, 2, PromptKeys.AskReason);
        Assert.Empty(healthy.ProtocolViolations);
        Assert.DoesNotContain(healthy.Received, m => m.Kind == BotMessageKind.Clear);
        Assert.Equal(["name"], fixture.Worker.Spy.TurnsOf(healthyOptions.CallSid).Select(_ => "name"));
        await healthy.HangUpAsync();
    }

    /// <summary>Sends the messages on a fresh stream, then reads until the server closes it (bounded).</summary>
    private async Task<(WebSocketCloseStatus? Status, string? Reason)> AbuseAsync(params byte[][] messages)
    {
        using var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(Patience);
        await socket.ConnectAsync(fixture.Worker.MediaUri(), timeout.Token);
        foreach (var message in messages)
        {
            try
            {
                await socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
            }
            catch (WebSocketException)
            {
                break; // the server already closed
            }
        }

        var buffer = new byte[64 * 1024];
        while (socket.State == WebSocketState.Open)
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                break;
            }
        }

        return (socket.CloseStatus, socket.CloseStatusDescription);
    }

    private static byte[] Connected()
    {
        using var writer = new MediaStreamWriter();
        return writer.WriteConnected().ToArray();
    }

    private static byte[] Start(CallSimulatorOptions options)
    {
        using var writer = new MediaStreamWriter();
        return writer.WriteStart(new StreamStart
        {
            StreamSid = options.StreamSid,
            AccountSid = options.AccountSid,
            CallSid = options.CallSid,
            CustomParameters = options.CustomParameters,
        }, 1).ToArray();
    }

    private static byte[] Media(string streamSid, byte fill)
    {
        using var writer = new MediaStreamWriter();
        return writer.WriteInboundMedia(streamSid, 2, 1, 0, Enumerable.Repeat(fill, 160).ToArray()).ToArray();
    }

    private static byte[] BadMedia(string streamSid) => Encoding.UTF8.GetBytes(
        "{\"event\":\"media\",\"sequenceNumber\":\"2\",\"streamSid\":\"" + streamSid
        + "\",\"media\":{\"track\":\"inbound\",\"chunk\":\"1\",\"timestamp\":\"0\",\"payload\":\"%%%not base64%%%\"}}");
}
