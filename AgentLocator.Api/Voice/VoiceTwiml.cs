using AgentLocator.Api.Webhooks;
using AgentLocator.Twilio.Twiml;
using Microsoft.Extensions.Options;

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

    /// <summary>Greeting, then the live conversation over a Media Stream; when the stream ends Twilio asks <c>/webhook/stream_ended</c>.</summary>
    public TwimlResponse GreetingAndStream(string callSid, Guid callId, Guid businessId, string token) =>
        new TwimlResponse()
            .Play(Prompt(GreetingPrompt))
            .Connect(connect => connect.Stream(Urls.ResolvedMediaStreamUrl, stream => stream
                    .Parameter("callSid", callSid)
                    .Parameter("callId", callId.ToString("D"))
                    .Parameter("businessId", businessId.ToString("D"))
                    .Parameter("token", token),
                statusCallback: Urls.Url("/webhook/stream_status"), statusCallbackMethod: "POST"),
                action: Urls.Url("/webhook/stream_ended"), method: "POST");

    public TwimlResponse NotInService() => new TwimlResponse().Play(Prompt(NotInServicePrompt)).Hangup();

    /// <summary>The voicemail fallback: a prompt, a beep and a recording; <c>#</c> ends it.</summary>
    public TwimlResponse Voicemail(int maxLengthSeconds) =>
        new TwimlResponse()
            .Play(Prompt(FallbackPrompt))
            .Record(action: Urls.Url("/webhook/handle_recording"), method: "POST", maxLength: maxLengthSeconds, playBeep: true,
                finishOnKey: "#", timeout: 10, recordingStatusCallback: Urls.Url("/webhook/recording_status"),
                recordingStatusCallbackMethod: "POST", recordingStatusCallbackEvent: "completed")
            .Hangup();

    public TwimlResponse Goodbye() => new TwimlResponse().Play(Prompt(GoodbyePrompt)).Hangup();

    public TwimlResponse ThankYou() => new TwimlResponse().Play(Prompt(ThankYouPrompt)).Hangup();
}
