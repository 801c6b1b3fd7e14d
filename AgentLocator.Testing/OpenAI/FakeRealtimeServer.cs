using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentLocator.Testing.OpenAI;

/// <summary>
/// A local fake of OpenAI's Realtime API (GA protocol, WebSocket) and of its audio transcription endpoint, written
/// from OpenAI's documentation and independently of the SDK, so that the SDK and the engine are checked against the
/// documented wire format: <c>GET {endpoint}/realtime?model=…</c> with <c>Authorization: Bearer</c> and the
/// <c>realtime</c> subprotocol; <c>session.created</c> first; <c>session.update</c> answered by <c>session.updated</c>;
/// caller audio by <c>input_audio_buffer.append</c> (base64 in the session's input format); its own energy voice
/// detector emitting <c>input_audio_buffer.speech_started</c> / <c>speech_stopped</c> / <c>committed</c> on the
/// audio's own clock; replies per <see cref="FakeRealtimeScript"/>; <c>conversation.item.truncate</c> checked against
/// the audio actually sent for the item; <c>response.cancel</c>; <c>error</c> events for what the real API refuses.
/// Real Kestrel on 127.0.0.1 and a random port.
/// </summary>
public sealed class FakeRealtimeServer : IAsyncDisposable
{
    public const string DefaultApiKey = "sk-fake-realtime-0123456789";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<FakeRealtimeSession> _sessions = new();
    private readonly ConcurrentQueue<FakeTranscriptionRequest> _transcriptions = new();
    private readonly CancellationTokenSource _stopping = new();

    private FakeRealtimeServer(WebApplication app, string apiKey)
    {
        _app = app;
        ApiKey = apiKey;
    }

    public string ApiKey { get; }

    /// <summary>The API base, e.g. <c>http://127.0.0.1:41234/v1</c> (the connection string's <c>Endpoint</c>).</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary><c>ConnectionStrings:openai</c> pointing at this fake.</summary>
    public string ConnectionString => $"Endpoint={Endpoint};Key={ApiKey};Model=gpt-realtime";

    /// <summary>How the next upgrades are answered.</summary>
    public FakeConnectBehavior ConnectBehavior { get; set; }

    /// <summary>The script of each new session (by default, the same one for all).</summary>
    public Func<FakeRealtimeScript> Script { get; set; } = () => FakeRealtimeScript.Empty;

    /// <summary>
    /// When set, a session's script is chosen by the instructions its <c>session.update</c> carries (e.g. the business's
    /// name), so concurrent calls of different businesses each get their own; null keeps <see cref="Script"/>'s.
    /// </summary>
    public Func<string, FakeRealtimeScript?>? ScriptByInstructions { get; set; }

    /// <summary>Audio deltas per reply chunk: 100 ms of audio per delta, one delta every <see cref="DeltaInterval"/>.</summary>
    public TimeSpan DeltaInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>What the transcription endpoint answers (text), or an HTTP status to fail with.</summary>
    public string TranscriptionText { get; set; } = "";

    public int TranscriptionStatus { get; set; } = 200;

    public IReadOnlyList<FakeRealtimeSession> Sessions => _sessions.ToArray();

    public IReadOnlyList<FakeTranscriptionRequest> Transcriptions => _transcriptions.ToArray();

    /// <summary>Upgrade requests that were refused (wrong key, or <see cref="FakeConnectBehavior.Unauthorized"/>).</summary>
    public int Refused => _refused;

    private int _refused;

    public static async Task<FakeRealtimeServer> StartAsync(string apiKey = DefaultApiKey)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeRealtimeServer(app, apiKey);
        app.UseWebSockets();
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Endpoint = new Uri(address.TrimEnd('/') + "/v1");
        return server;
    }

    /// <summary>An endpoint on a loopback port nothing listens on: connecting is refused.</summary>
    public static Uri RefusedEndpoint()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return new Uri($"http://127.0.0.1:{port}/v1");
    }

    /// <summary>Waits for the n-th session (1-based) to be opened.</summary>
    public async Task<FakeRealtimeSession> SessionAsync(int number, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (_sessions.Count < number)
        {
            await Task.Delay(10, cts.Token);
        }

        return _sessions.ElementAt(number - 1);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        if (path.EndsWith("/audio/transcriptions", StringComparison.Ordinal) && HttpMethods.IsPost(context.Request.Method))
        {
            await TranscribeAsync(context);
            return;
        }

        if (!path.EndsWith("/realtime", StringComparison.Ordinal))
        {
            await ErrorAsync(context, 404, "invalid_request_error", "unknown_url", $"Invalid URL ({context.Request.Method} {path})");
            return;
        }

        if (ConnectBehavior == FakeConnectBehavior.Hang)
        {
            await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token).Token)
                .ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        if (ConnectBehavior == FakeConnectBehavior.Unauthorized || !Authorized(context))
        {
            Interlocked.Increment(ref _refused);
            await ErrorAsync(context, 401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.");
            return;
        }

        var model = context.Request.Query["model"].ToString();
        if (string.IsNullOrEmpty(model))
        {
            await ErrorAsync(context, 400, "invalid_request_error", "missing_model", "Missing required parameter: 'model'.");
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            await ErrorAsync(context, 400, "invalid_request_error", "websocket_required", "The Realtime API is served over WebSocket.");
            return;
        }

        var subprotocol = context.WebSockets.WebSocketRequestedProtocols.Contains("realtime") ? "realtime" : null;
        using var socket = await context.WebSockets.AcceptWebSocketAsync(subprotocol);
        var session = new FakeRealtimeSession(socket, model, Script(), DeltaInterval, _stopping.Token, ScriptByInstructions);
        _sessions.Enqueue(session);
        await session.RunAsync();
    }

    private bool Authorized(HttpContext context) =>
        context.Request.Headers.Authorization.ToString() == "Bearer " + ApiKey;

    private async Task TranscribeAsync(HttpContext context)
    {
        if (!Authorized(context))
        {
            await ErrorAsync(context, 401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.");
            return;
        }

        if (!context.Request.HasFormContentType)
        {
            await ErrorAsync(context, 400, "invalid_request_error", null, "Expected multipart/form-data.");
            return;
        }

        var form = await context.Request.ReadFormAsync();
        var file = form.Files.GetFile("file");
        var model = form["model"].ToString();
        if (file is null || string.IsNullOrEmpty(model))
        {
            await ErrorAsync(context, 400, "invalid_request_error", null, "'file' and 'model' are required.");
            return;
        }

        await using var content = file.OpenReadStream();
        using var bytes = new MemoryStream();
        await content.CopyToAsync(bytes);
        _transcriptions.Enqueue(new FakeTranscriptionRequest(model, form["language"].ToString(), file.FileName, bytes.ToArray()));
        if (TranscriptionStatus != 200)
        {
            await ErrorAsync(context, TranscriptionStatus, "server_error", null, "The transcription failed.");
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { text = TranscriptionText }), Encoding.UTF8);
    }

    private static async Task ErrorAsync(HttpContext context, int status, string type, string? code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { error = new { message, type, param = (string?)null, code } }));
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        foreach (var session in _sessions)
        {
            session.Abort();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}

/// <summary>One call of the transcription endpoint, as received.</summary>
public sealed record FakeTranscriptionRequest(string Model, string Language, string FileName, byte[] Audio);
