using AgentLocator.Data.Calls;
using AgentLocator.Media;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.SpeechDetection;
using AgentLocator.ServiceDefaults.Telemetry;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary><c>/ws/twilio-media</c> (and with a trailing slash): Twilio's bidirectional Media Streams.</summary>
public static class MediaStreamsApi
{
    public const string Path = "/ws/twilio-media";

    public static WebApplication MapMediaStreams(this WebApplication app)
    {
        // Load the prompts now: a missing prompt directory fails the start, not the first caller.
        app.Services.GetRequiredService<PromptLibrary>();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15) });
        // Route matching ignores a trailing slash, so this one endpoint also answers "/ws/twilio-media/".
        app.Map(Path, AcceptAsync).WithName("TwilioMediaStream").ExcludeFromDescription();
        return app;
    }

    public static async Task<Results<EmptyHttpResult, ProblemHttpResult>> AcceptAsync(HttpContext context,
        MediaStreamHandler handler)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status426UpgradeRequired, title: "WebSocket upgrade required",
                detail: $"{Path} speaks Twilio Media Streams over a WebSocket (wss://…{Path}); a plain HTTP request cannot use it.");
        }

        await handler.RunAsync(context);
        return TypedResults.Empty;
    }
}

/// <summary>Accepts a stream and runs its session until it ends.</summary>
public sealed class MediaStreamHandler
{
    private readonly MediaStreamServices _services;
    private readonly IOptions<MediaStreamOptions> _options;
    private readonly ILogger<MediaStreamHandler> _logger;
    private readonly IHostApplicationLifetime _lifetime;

    public MediaStreamHandler(CallToken tokens, ICallSessions sessions, CallRecords records, IConversationEngineFactory engines,
        PromptLibrary prompts, MediaStreamStats stats, TimeProvider clock, MediaStreamMetrics metrics, ISpeechDetectorFactory speechDetectors,
        ServiceTelemetry telemetry, PlayoutClock playout, IOptions<MediaStreamOptions> options, ILogger<MediaStreamHandler> logger, IHostApplicationLifetime lifetime)
    {
        _services = new MediaStreamServices(tokens, sessions, records, engines, prompts, stats, clock, metrics, speechDetectors, telemetry, playout);
        _options = options;
        _logger = logger;
        _lifetime = lifetime;
    }

    public async Task RunAsync(HttpContext context)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _lifetime.ApplicationStopping);
        var session = new MediaStreamSession(socket, _options.Value, _services, _logger);
        await using (session)
        {
            await session.RunAsync(stopping.Token, _lifetime.ApplicationStopping);
        }
    }
}
