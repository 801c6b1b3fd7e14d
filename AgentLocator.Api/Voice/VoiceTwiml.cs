using System.Diagnostics;
using AgentLocator.Api.Webhooks;
using AgentLocator.ServiceDefaults.Telemetry;
using Microsoft.Extensions.Options;
using Twilio.TwiML;
using Connect = Twilio.TwiML.Voice.Connect;
using MediaStream = Twilio.TwiML.Voice.Stream;
using Record = Twilio.TwiML.Voice.Record;
using SdkHttpMethod = Twilio.Http.HttpMethod;

namespace AgentLocator.Api.Voice;

/// <summary>The TwiML documents of a call, with every URL absolute under <c>PublicBaseUrl</c>.</summary>
public sealed class VoiceTwiml(IOptions<PublicUrlOptions> options, IOptions<VoiceOptions> voice, IConfiguration configuration)
{
    /// <summary>The greeting's length: configured, else its 8 kHz mu-law prompt file's size / 8000, else 5 s.</summary>
    public TimeSpan GreetingDuration { get; } = voice.Value.GreetingDuration ?? MeasureGreeting(configuration);

    private static TimeSpan MeasureGreeting(IConfiguration configuration)
    {
        var directory = configuration["Prompts:Directory"] ?? Path.Combine(AppContext.BaseDirectory, "tts");
        var file = new FileInfo(Path.Combine(directory, "greeting_he.ulaw"));
        return file.Exists ? TimeSpan.FromSeconds(file.Length / 8000.0) : TimeSpan.FromSeconds(5);
    }

    public const string GreetingPrompt = "greeting_he.mp3";
    public const string FallbackPrompt = "fallback_he.mp3";
    public const string NotInServicePrompt = "not_in_service_he.mp3";
    public const string ThankYouPrompt = "thank_you_he.mp3";
    public const string GoodbyePrompt = "goodbye_he.mp3";

    private PublicUrlOptions Urls => options.Value;

    public string Prompt(string file) => Urls.Url("/static/tts/" + file);

    /// <summary>
    /// Greeting, then the live conversation over a Media Stream; when the stream ends Twilio asks
    /// <c>/webhook/stream_ended</c>. The stream URL is <c>wss</c> (<c>ws</c> only for a local run) and carries
    /// no query string: the call's identity travels in <c>&lt;Parameter&gt;</c>s (<c>start.customParameters</c>), and so
    /// does its trace (<c>traceparent</c>, <c>tracestate</c>), which the MediaWorker's session continues.
    /// </summary>
    public VoiceResponse GreetingAndStream(string callSid, Guid callId, Guid businessId, string token, ActivityContext trace = default)
    {
        var stream = new MediaStream(url: MediaStreamUrl, statusCallback: Urls.Url("/webhook/stream_status"),
                statusCallbackMethod: MediaStream.StatusCallbackMethodEnum.Post)
            .Parameter("callSid", callSid)
            .Parameter("callId", callId.ToString("D"))
            .Parameter("businessId", businessId.ToString("D"))
            .Parameter("token", token);
        if (trace != default)
        {
            stream.Parameter(CallTrace.TraceParentParameter, CallTrace.TraceParent(trace));
            if (!string.IsNullOrEmpty(trace.TraceState))
            {
                stream.Parameter(CallTrace.TraceStateParameter, trace.TraceState);
            }
        }

        var connect = new Connect(action: new Uri(Urls.Url("/webhook/stream_ended")), method: SdkHttpMethod.Post);
        connect.Append(stream);
        return new VoiceResponse().Play(new Uri(Prompt(GreetingPrompt))).Append(connect);
    }

    public VoiceResponse NotInService() => new VoiceResponse().Play(new Uri(Prompt(NotInServicePrompt))).Hangup();

    /// <summary>The voicemail fallback: a prompt, a beep and a recording; <c>#</c> ends it.</summary>
    public VoiceResponse Voicemail(int maxLengthSeconds) =>
        new VoiceResponse()
            .Play(new Uri(Prompt(FallbackPrompt)))
            .Record(action: new Uri(Urls.Url("/webhook/handle_recording")), method: SdkHttpMethod.Post, maxLength: maxLengthSeconds,
                playBeep: true, finishOnKey: "#", timeout: 10, recordingStatusCallback: new Uri(Urls.Url("/webhook/recording_status")),
                recordingStatusCallbackMethod: SdkHttpMethod.Post, recordingStatusCallbackEvent: [Record.RecordingEventEnum.Completed])
            .Hangup();

    public VoiceResponse Goodbye() => new VoiceResponse().Play(new Uri(Prompt(GoodbyePrompt))).Hangup();

    public VoiceResponse ThankYou() => new VoiceResponse().Play(new Uri(Prompt(ThankYouPrompt))).Hangup();

    private string MediaStreamUrl
    {
        get
        {
            var url = Urls.ResolvedMediaStreamUrl;
            return Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme is "wss" or "ws" && parsed.Query.Length == 0 && parsed.Fragment.Length == 0
                ? url
                : throw new InvalidOperationException($"MediaStreamUrl must be an absolute wss:// URL without a query string (Twilio drops it; use <Parameter>): '{url}'.");
        }
    }
}
