using AgentLocator.Api.Webhooks;
using AgentLocator.Twilio.Twiml;
using Microsoft.Extensions.Options;

namespace AgentLocator.Api.Voice;

/// <summary>The TwiML documents of a call, with every URL absolute under <c>PublicBaseUrl</c>.</summary>
public sealed class VoiceTwiml(IOptions<PublicUrlOptions> options)
{
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
