using System.Buffers;
using System.Text;
using System.Xml.Linq;
using AgentLocator.Twilio.Twiml;
using Microsoft.AspNetCore.Http;

namespace AgentLocator.Tests.Twilio;

public sealed class TwimlResponseTests
{
    private const string Declaration = """<?xml version="1.0" encoding="UTF-8"?>""";

    [Fact]
    public void EmptyResponseIsADeclarationAndAnEmptyResponseElement()
    {
        Assert.Equal(Declaration + "<Response />", new TwimlResponse().ToString());
    }

    [Fact]
    public void IncomingCallAnswerPlaysGreetingThenConnectsStreamWithParameters()
    {
        var xml = new TwimlResponse()
            .Play("https://example.com/greeting.wav")
            .Connect(
                c => c.Stream(
                    "wss://example.com/ws/twilio-media",
                    s => s.Parameter("callToken", "abc123").Parameter("business", "42"),
                    name: "caller",
                    statusCallback: "https://example.com/webhook/stream_status",
                    statusCallbackMethod: "POST"),
                action: "https://example.com/webhook/stream_ended",
                method: "POST")
            .ToString();

        Assert.Equal(
            Declaration
            + "<Response><Play>https://example.com/greeting.wav</Play>"
            + "<Connect action=\"https://example.com/webhook/stream_ended\" method=\"POST\">"
            + "<Stream url=\"wss://example.com/ws/twilio-media\" name=\"caller\" statusCallback=\"https://example.com/webhook/stream_status\" statusCallbackMethod=\"POST\">"
            + "<Parameter name=\"callToken\" value=\"abc123\" /><Parameter name=\"business\" value=\"42\" />"
            + "</Stream></Connect></Response>",
            xml);
    }

    [Fact]
    public void VoicemailAnswerWritesEveryRecordAttribute()
    {
        var record = Parse(new TwimlResponse()
            .Play("https://example.com/fallback.wav")
            .Record(
                action: "https://example.com/webhook/handle_recording",
                method: "POST",
                maxLength: 120,
                playBeep: true,
                finishOnKey: "#",
                timeout: 5,
                recordingStatusCallback: "https://example.com/webhook/recording_status",
                recordingStatusCallbackMethod: "POST",
                recordingStatusCallbackEvent: "completed failed",
                trim: true)
            .ToString()).Root!.Element("Record")!;

        Assert.Equal("https://example.com/webhook/handle_recording", (string?)record.Attribute("action"));
        Assert.Equal("POST", (string?)record.Attribute("method"));
        Assert.Equal("120", (string?)record.Attribute("maxLength"));
        Assert.Equal("true", (string?)record.Attribute("playBeep"));
        Assert.Equal("#", (string?)record.Attribute("finishOnKey"));
        Assert.Equal("5", (string?)record.Attribute("timeout"));
        Assert.Equal("https://example.com/webhook/recording_status", (string?)record.Attribute("recordingStatusCallback"));
        Assert.Equal("POST", (string?)record.Attribute("recordingStatusCallbackMethod"));
        Assert.Equal("completed failed", (string?)record.Attribute("recordingStatusCallbackEvent"));
        Assert.Equal("trim-silence", (string?)record.Attribute("trim"));
    }

    [Fact]
    public void RecordWithoutTrimWritesDoNotTrim()
    {
        var record = Parse(new TwimlResponse().Record(trim: false).ToString()).Root!.Element("Record")!;
        Assert.Equal("do-not-trim", (string?)record.Attribute("trim"));
        Assert.Null(record.Attribute("action"));
    }

    [Fact]
    public void SayPauseRedirectAndHangupAreWrittenInOrder()
    {
        var xml = new TwimlResponse()
            .Say("שלום, הגעתם למספרה", language: "he-IL", voice: "Google.he-IL-Standard-A")
            .Pause(2)
            .Redirect("https://example.com/next", method: "GET")
            .Hangup()
            .ToString();

        Assert.Equal(
            Declaration
            + "<Response><Say language=\"he-IL\" voice=\"Google.he-IL-Standard-A\">שלום, הגעתם למספרה</Say>"
            + "<Pause length=\"2\" /><Redirect method=\"GET\">https://example.com/next</Redirect><Hangup /></Response>",
            xml);
    }

    [Fact]
    public void MessageWithoutMediaHasTheBodyAsText()
    {
        var message = Parse(new TwimlResponse().Message("תודה! נחזור אליך").ToString()).Root!.Element("Message")!;
        Assert.Equal("תודה! נחזור אליך", message.Value);
        Assert.Empty(message.Elements());
    }

    [Fact]
    public void MessageWithMediaHasBodyAndOneMediaPerUrl()
    {
        var message = Parse(new TwimlResponse()
            .Message("see attached", ["https://example.com/a.jpg", "https://example.com/b.pdf"])
            .ToString()).Root!.Element("Message")!;

        Assert.Equal("see attached", message.Element("Body")!.Value);
        Assert.Equal(["https://example.com/a.jpg", "https://example.com/b.pdf"], message.Elements("Media").Select(m => m.Value));
    }

    [Fact]
    public void MessageWithNeitherBodyNorMediaIsRejected()
    {
        Assert.Throws<ArgumentException>(() => new TwimlResponse().Message(""));
    }

    [Theory]
    [InlineData("Cohen & Sons \"Ltd\" <TLV>")]
    [InlineData("O'Brien's 'quoted' & <b>bold</b> ]]> end")]
    [InlineData("מספרת רחל & בניה \"הכי טובה\" <תל אביב>")]
    [InlineData("emoji 📞 and line\nbreak\r\nand\ttab")]
    public void SpecialTextRoundTripsUnchangedThroughElementsAndAttributes(string text)
    {
        var xml = new TwimlResponse()
            .Say(text, language: text)
            .Connect(c => c.Stream("wss://example.com/ws", s => s.Parameter("name", text)))
            .ToString();

        var document = Parse(xml);
        var say = document.Root!.Element("Say")!;
        Assert.Equal(text, say.Value);
        Assert.Equal(text, (string?)say.Attribute("language"));
        Assert.Equal(text, (string?)document.Root.Descendants("Parameter").Single().Attribute("value"));
    }

    [Fact]
    public void ControlCharactersAndLoneSurrogatesAreRemovedInsteadOfBreakingTheDocument()
    {
        var hostile = "A\u0000B\u0001C\u0008D\u000BE\u000CF\u001FG\uFFFEH\uFFFFI\uD800J\uDC00K";
        var xml = new TwimlResponse()
            .Say(hostile, voice: hostile)
            .Message(hostile)
            .ToString();

        var document = Parse(xml);
        Assert.Equal("ABCDEFGHIJK", document.Root!.Element("Say")!.Value);
        Assert.Equal("ABCDEFGHIJK", (string?)document.Root.Element("Say")!.Attribute("voice"));
        Assert.Equal("ABCDEFGHIJK", document.Root.Element("Message")!.Value);
    }

    [Fact]
    public void Utf8BytesEqualTheStringEncodedWithoutByteOrderMark()
    {
        var twiml = new TwimlResponse().Say("שלום & להתראות").Hangup();

        var bytes = twiml.ToUtf8Bytes();
        var buffer = new ArrayBufferWriter<byte>();
        twiml.WriteTo(buffer);

        Assert.Equal(Encoding.UTF8.GetBytes(twiml.ToString()), bytes);
        Assert.Equal(bytes, buffer.WrittenSpan.ToArray());
        Assert.Equal((byte)'<', bytes[0]);
    }

    [Fact]
    public void StreamUrlWithAQueryStringIsRejected()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new TwimlResponse().Connect(c => c.Stream("wss://example.com/ws?token=abc")));
        Assert.Contains("Parameter", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://example.com/ws")]
    [InlineData("/ws/twilio-media")]
    public void StreamUrlThatIsNotAnAbsoluteWebSocketUrlIsRejected(string url)
    {
        Assert.Throws<ArgumentException>(() => new TwimlResponse().Connect(c => c.Stream(url)));
    }

    [Fact]
    public void ParameterOfFourHundredNinetyNineCharactersIsAccepted()
    {
        var xml = new TwimlResponse()
            .Connect(c => c.Stream("wss://example.com/ws", s => s.Parameter("name", new string('v', 495))))
            .ToString();
        Assert.Contains(new string('v', 495), xml, StringComparison.Ordinal);
    }

    [Fact]
    public void ParameterOfFiveHundredCharactersIsRejected()
    {
        Assert.Throws<ArgumentException>(() =>
            new TwimlResponse().Connect(c => c.Stream("wss://example.com/ws", s => s.Parameter("name", new string('v', 496)))));
    }

    [Fact]
    public async Task HttpResultWritesTwimlAsUncachedTextXml()
    {
        var context = new DefaultHttpContext();
        using var body = new MemoryStream();
        context.Response.Body = body;
        var twiml = new TwimlResponse().Say("שלום");

        await twiml.ToHttpResult().ExecuteAsync(context);

        Assert.Equal(200, context.Response.StatusCode);
        Assert.Equal("text/xml; charset=utf-8", context.Response.ContentType);
        Assert.Equal("no-cache, no-store", context.Response.Headers.CacheControl.ToString());
        Assert.Equal(twiml.ToString(), Encoding.UTF8.GetString(body.ToArray()));
    }

    private static XDocument Parse(string xml)
    {
        Assert.StartsWith(Declaration, xml, StringComparison.Ordinal);
        return XDocument.Parse(xml);
    }
}
