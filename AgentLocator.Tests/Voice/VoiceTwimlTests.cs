using System.Diagnostics;
using System.Xml.Linq;
using AgentLocator.Api.Voice;
using AgentLocator.Api.Webhooks;
using AgentLocator.ServiceDefaults.Telemetry;
using AgentLocator.Twilio.Twiml;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Twilio.TwiML;

namespace AgentLocator.Tests.Voice;

/// <summary>The TwiML documents Twilio runs, rendered by the SDK: what Twilio needs to find in them.</summary>
public sealed class VoiceTwimlTests
{
    private static VoiceTwiml Twiml(string? mediaStreamUrl = null) => new(
        Options.Create(new PublicUrlOptions { PublicBaseUrl = "https://calls.example.com/", MediaStreamUrl = mediaStreamUrl }),
        Options.Create(new VoiceOptions { GreetingDuration = TimeSpan.FromSeconds(3) }),
        new ConfigurationBuilder().Build());

    [Fact]
    public void IncomingCallPlaysTheGreetingThenConnectsAWssStreamWithoutQueryStringCarryingTheCallInParameters()
    {
        var callId = Guid.NewGuid();
        var businessId = Guid.NewGuid();

        var xml = XDocument.Parse(Twiml().GreetingAndStream("CA1", callId, businessId, "tok&<\"en").ToString());

        var response = xml.Root!;
        Assert.Equal(["Play", "Connect"], response.Elements().Select(e => e.Name.LocalName));
        Assert.Equal("https://calls.example.com/static/tts/greeting_he.mp3", response.Element("Play")!.Value);
        var connect = response.Element("Connect")!;
        Assert.Equal("https://calls.example.com/webhook/stream_ended", connect.Attribute("action")!.Value);
        Assert.Equal("POST", connect.Attribute("method")!.Value);
        var stream = connect.Element("Stream")!;
        Assert.Equal("wss://calls.example.com/ws/twilio-media", stream.Attribute("url")!.Value);
        Assert.Equal("https://calls.example.com/webhook/stream_status", stream.Attribute("statusCallback")!.Value);
        var parameters = stream.Elements("Parameter").ToDictionary(p => p.Attribute("name")!.Value, p => p.Attribute("value")!.Value);
        Assert.Equal("CA1", parameters["callSid"]);
        Assert.Equal(callId.ToString("D"), parameters["callId"]);
        Assert.Equal(businessId.ToString("D"), parameters["businessId"]);
        Assert.Equal("tok&<\"en", parameters["token"]);
    }

    [Fact]
    public void TheStreamCarriesTheWebhooksTraceContextAsTraceparentAndTracestateParameters()
    {
        var trace = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, "vendor=abc");

        var xml = XDocument.Parse(Twiml().GreetingAndStream("CA1", Guid.NewGuid(), Guid.NewGuid(), "t", trace).ToString());

        var parameters = xml.Root!.Element("Connect")!.Element("Stream")!.Elements("Parameter")
            .ToDictionary(p => p.Attribute("name")!.Value, p => p.Attribute("value")!.Value);
        Assert.Equal($"00-{trace.TraceId.ToHexString()}-{trace.SpanId.ToHexString()}-01", parameters["traceparent"]);
        Assert.Equal("vendor=abc", parameters["tracestate"]);
        // What the MediaWorker reads back off start.customParameters is the same context, as a remote parent.
        var parent = CallTrace.ParentFrom(parameters);
        Assert.Equal((trace.TraceId, trace.SpanId, trace.TraceFlags, "vendor=abc", true), (parent.TraceId, parent.SpanId, parent.TraceFlags, parent.TraceState, parent.IsRemote));
    }

    [Fact]
    public void WithoutATraceTheStreamHasNoTraceParameters()
    {
        var xml = XDocument.Parse(Twiml().GreetingAndStream("CA1", Guid.NewGuid(), Guid.NewGuid(), "t").ToString());

        Assert.Equal(["callSid", "callId", "businessId", "token"],
            xml.Root!.Element("Connect")!.Element("Stream")!.Elements("Parameter").Select(p => p.Attribute("name")!.Value));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-traceparent")]
    [InlineData("00-00000000000000000000000000000000-0000000000000000-01")]
    public void AMalformedTraceparentOnStartStartsANewTraceInsteadOfFailingTheCall(string traceParent)
    {
        Assert.Equal(default, CallTrace.ParentFrom(new Dictionary<string, string> { ["traceparent"] = traceParent }));
        Assert.Equal(default, CallTrace.ParentFrom(new Dictionary<string, string>()));
    }

    [Theory]
    [InlineData("wss://media.example.com/ws/twilio-media?callSid=CA1")]
    [InlineData("https://media.example.com/ws/twilio-media")]
    [InlineData("/ws/twilio-media")]
    public void AStreamUrlTwilioWouldRefuseFailsNamingTheSetting(string mediaStreamUrl)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Twiml(mediaStreamUrl).GreetingAndStream("CA1", Guid.NewGuid(), Guid.NewGuid(), "t"));

        Assert.Contains("MediaStreamUrl", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VoicemailPlaysTheFallbackThenRecordsWithEveryCallbackAbsolute()
    {
        var xml = XDocument.Parse(Twiml().Voicemail(90).ToString());

        var record = xml.Root!.Element("Record")!;
        Assert.Equal("https://calls.example.com/static/tts/fallback_he.mp3", xml.Root.Element("Play")!.Value);
        Assert.Equal("https://calls.example.com/webhook/handle_recording", record.Attribute("action")!.Value);
        Assert.Equal("90", record.Attribute("maxLength")!.Value);
        Assert.Equal("true", record.Attribute("playBeep")!.Value);
        Assert.Equal("#", record.Attribute("finishOnKey")!.Value);
        Assert.Equal("https://calls.example.com/webhook/recording_status", record.Attribute("recordingStatusCallback")!.Value);
        Assert.Equal("completed", record.Attribute("recordingStatusCallbackEvent")!.Value);
        Assert.NotNull(xml.Root.Element("Hangup"));
    }

    [Theory]
    [InlineData("Cohen & Sons <קפה> \"ביחד\" 'שלנו'")]
    [InlineData("]]> <![CDATA[ & &amp;")]
    public void AnAutoReplyWithXmlCharactersIsEscapedAndReadsBackUnchanged(string text)
    {
        var xml = new MessagingResponse().Message(text).ToString();

        Assert.Equal(text, XDocument.Parse(xml).Root!.Element("Message")!.Value);
    }

    [Fact]
    public async Task TheResultAnswersUncachedUtf8TextXml()
    {
        var context = new DefaultHttpContext();
        context.Response.Body = new MemoryStream();

        await new VoiceResponse().Hangup().ToResult().ExecuteAsync(context);

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal("text/xml; charset=utf-8", context.Response.ContentType);
        Assert.Equal("no-store, no-cache, must-revalidate, max-age=0", context.Response.Headers.CacheControl.ToString());
        Assert.Equal("no-cache", context.Response.Headers.Pragma.ToString());
        context.Response.Body.Position = 0;
        var body = await new StreamReader(context.Response.Body).ReadToEndAsync();
        Assert.Equal("Hangup", XDocument.Parse(body).Root!.Elements().Single().Name.LocalName);
    }
}
