using System.Text;
using AgentLocator.MediaStreams;

namespace AgentLocator.Tests.Media;

public class MediaStreamParserTests
{
    private const string Connected = """{"event":"connected","protocol":"Call","version":"1.0.0"}""";

    private const string Start = """
        {"event":"start","sequenceNumber":"1","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0",
         "start":{"accountSid":"AC0123","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","callSid":"CA0456",
                  "tracks":["inbound"],"customParameters":{"token":"t-1","business":"מספרה & בניו"},
                  "mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}}}
        """;

    private const string Media = """{"event":"media","sequenceNumber":"3","streamSid":"MZ1","media":{"track":"inbound","chunk":"2","timestamp":"40","payload":"/3+A/w=="}}""";

    private const string Dtmf = """{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"*"}}""";

    private const string Mark = """{"event":"mark","streamSid":"MZ1","sequenceNumber":"4","mark":{"name":"greeting-1"}}""";

    private const string Stop = """{"event":"stop","streamSid":"MZ1","sequenceNumber":"9","stop":{"accountSid":"AC0123","callSid":"CA0456"}}""";

    public static TheoryData<string> AllTwilioMessages => new() { Connected, Start, Media, Dtmf, Mark, Stop };

    private static MediaStreamParseStatus Parse(string json, out string summary)
    {
        var status = MediaStreamParser.TryParse(Encoding.UTF8.GetBytes(json), out var message);
        summary = message.ToString();
        return status;
    }

    [Fact]
    public void ConnectedCarriesProtocolAndVersionAndNoSequenceNumber()
    {
        MediaStreamParser.TryParse(Encoding.UTF8.GetBytes(Connected), out var m);
        Assert.Equal(MediaStreamEventType.Connected, m.EventType);
        Assert.Equal("Call", m.Protocol);
        Assert.Equal("1.0.0", m.Version);
        Assert.Equal(-1, m.SequenceNumber);
    }

    [Fact]
    public void StartCarriesCallIdentifiersCustomParametersAndNumericMediaFormat()
    {
        Assert.Equal(MediaStreamParseStatus.Ok, MediaStreamParser.TryParse(Encoding.UTF8.GetBytes(Start), out var m));
        Assert.Equal(MediaStreamEventType.Start, m.EventType);
        Assert.Equal(1, m.SequenceNumber);
        Assert.Equal("MZ18ad3ab5a668481ce02b83e7395059f0", m.GetStreamSid());
        var start = m.Start!;
        Assert.Equal("AC0123", start.AccountSid);
        Assert.Equal("CA0456", start.CallSid);
        Assert.Equal(["inbound"], start.Tracks);
        Assert.Equal("t-1", start.CustomParameters["token"]);
        Assert.Equal("מספרה & בניו", start.CustomParameters["business"]);
        Assert.Equal(new MediaFormat("audio/x-mulaw", 8000, 1), start.MediaFormat);
        Assert.True(start.MediaFormat.IsMuLaw8KhzMono);
    }

    [Fact]
    public void MediaNumbersAreParsedFromStringsAndThePayloadDecodesIntoACallerSpan()
    {
        MediaStreamParser.TryParse(Encoding.UTF8.GetBytes(Media), out var m);
        Assert.Equal(MediaStreamEventType.Media, m.EventType);
        Assert.Equal(3, m.SequenceNumber);
        Assert.Equal(MediaTrack.Inbound, m.Track);
        Assert.Equal(2, m.Chunk);
        Assert.Equal(40, m.TimestampMs);
        Assert.True("MZ1"u8.SequenceEqual(m.StreamSidUtf8));
        Assert.Equal(4, m.PayloadLength);
        Span<byte> destination = stackalloc byte[160];
        Assert.True(m.TryDecodePayload(destination, out var written));
        Assert.Equal(new byte[] { 0xFF, 0x7F, 0x80, 0xFF }, destination[..written].ToArray());
        Assert.False(m.TryDecodePayload(destination[..3], out _));
    }

    [Fact]
    public void DtmfMarkAndStopCarryTheirFields()
    {
        MediaStreamParser.TryParse(Encoding.UTF8.GetBytes(Dtmf), out var dtmf);
        Assert.Equal((MediaStreamEventType.Dtmf, "*", "inbound_track", 5L), (dtmf.EventType, dtmf.Digit, dtmf.DtmfTrack, dtmf.SequenceNumber));
        MediaStreamParser.TryParse(Encoding.UTF8.GetBytes(Mark), out var mark);
        Assert.Equal((MediaStreamEventType.Mark, "greeting-1"), (mark.EventType, mark.MarkName));
        MediaStreamParser.TryParse(Encoding.UTF8.GetBytes(Stop), out var stop);
        Assert.Equal((MediaStreamEventType.Stop, "AC0123", "CA0456"), (stop.EventType, stop.StopAccountSid, stop.StopCallSid));
    }

    [Fact]
    public void PropertyOrderAndUnknownPropertiesDoNotMatter()
    {
        const string reordered = """{"media":{"payload":"/w==","extra":{"a":[1,2]},"timestamp":"60","chunk":"4","track":"inbound"},"future":true,"streamSid":"MZ1","sequenceNumber":"5","event":"media"}""";
        Assert.Equal(MediaStreamParseStatus.Ok, MediaStreamParser.TryParse(Encoding.UTF8.GetBytes(reordered), out var m));
        Assert.Equal((MediaStreamEventType.Media, 4L, 60L, 1), (m.EventType, m.Chunk, m.TimestampMs, m.PayloadLength));
    }

    [Fact]
    public void NumbersSentAsJsonNumbersAreAcceptedToo()
    {
        const string numeric = """{"event":"media","sequenceNumber":3,"streamSid":"MZ1","media":{"track":"inbound","chunk":2,"timestamp":40,"payload":""}}""";
        Assert.Equal(MediaStreamParseStatus.Ok, MediaStreamParser.TryParse(Encoding.UTF8.GetBytes(numeric), out var m));
        Assert.Equal((3L, 2L, 40L, 0), (m.SequenceNumber, m.Chunk, m.TimestampMs, m.PayloadLength));
    }

    [Fact]
    public void AnEscapedPayloadIsUnescapedBeforeDecoding()
    {
        const string escaped = """{"event":"media","streamSid":"MZ1","media":{"payload":"\/3+A\/w=="}}""";
        Assert.Equal(MediaStreamParseStatus.Ok, MediaStreamParser.TryParse(Encoding.UTF8.GetBytes(escaped), out var m));
        Assert.Equal(new byte[] { 0xFF, 0x7F, 0x80, 0xFF }, m.GetPayload());
    }

    [Fact]
    public void WhitespaceInsideThePayloadIsTolerated()
    {
        const string spaced = """{"event":"media","streamSid":"MZ1","media":{"payload":"/3+A\r\n/w=="}}""";
        Assert.Equal(MediaStreamParseStatus.Ok, MediaStreamParser.TryParse(Encoding.UTF8.GetBytes(spaced), out var m));
        Assert.Equal(4, m.PayloadLength);
        Assert.Equal(new byte[] { 0xFF, 0x7F, 0x80, 0xFF }, m.GetPayload());
    }

    [Fact]
    public void AnUnknownEventIsDistinguishableFromAnError()
    {
        Assert.Equal(MediaStreamParseStatus.UnknownEvent, MediaStreamParser.TryParse("""{"event":"transcript","streamSid":"MZ1"}"""u8, out var m));
        Assert.Equal(MediaStreamEventType.Unknown, m.EventType);
        Assert.Equal("transcript", m.UnknownEventName);
    }

    [Theory]
    [InlineData("", MediaStreamParseStatus.MalformedJson)]
    [InlineData("not json", MediaStreamParseStatus.MalformedJson)]
    [InlineData("""{"event":"media",}""", MediaStreamParseStatus.MalformedJson)]
    [InlineData("""{"event":"mark"} {"event":"mark"}""", MediaStreamParseStatus.MalformedJson)]
    [InlineData("[1,2]", MediaStreamParseStatus.InvalidMessage)]
    [InlineData("""{"streamSid":"MZ1"}""", MediaStreamParseStatus.InvalidMessage)]
    [InlineData("""{"event":42}""", MediaStreamParseStatus.InvalidMessage)]
    [InlineData("""{"event":"media","streamSid":"MZ1"}""", MediaStreamParseStatus.InvalidMessage)]
    [InlineData("""{"event":"media","media":{"payload":"***not base64***"}}""", MediaStreamParseStatus.InvalidMessage)]
    [InlineData("""{"event":"media","media":{"payload":"/w="}}""", MediaStreamParseStatus.InvalidMessage)]
    [InlineData("""{"event":"media","media":{"chunk":"two","payload":"/w=="}}""", MediaStreamParseStatus.InvalidMessage)]
    [InlineData("""{"event":"start","start":{"streamSid":"MZ1"}}""", MediaStreamParseStatus.InvalidMessage)]
    [InlineData("""{"event":"start","start":{"streamSid":"MZ1","callSid":"CA1","mediaFormat":{"sampleRate":"x"}}}""", MediaStreamParseStatus.InvalidMessage)]
    [InlineData("""{"event":"mark","mark":{}}""", MediaStreamParseStatus.InvalidMessage)]
    [InlineData("""{"event":"dtmf","dtmf":{"digit":""}}""", MediaStreamParseStatus.InvalidMessage)]
    public void BadInputIsAParseErrorWithAMessageNotAnException(string json, MediaStreamParseStatus expected)
    {
        Assert.Equal(expected, Parse(json, out var summary));
        Assert.Contains(expected.ToString(), summary, StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidUtf8InsideAStringIsAnErrorNotAnException()
    {
        var json = Encoding.UTF8.GetBytes("""{"event":"mark","mark":{"name":"ab"}}""");
        json[Array.IndexOf(json, (byte)'a')] = 0xC3; // a lead byte followed by ASCII: invalid UTF-8
        var start = Encoding.UTF8.GetBytes("""{"event":"start","start":{"streamSid":"MZ1","callSid":"CA1","customParameters":{"kX":"v"}}}""");
        start[Array.IndexOf(start, (byte)'X')] = 0xFF;
        Assert.NotEqual(MediaStreamParseStatus.Ok, MediaStreamParser.TryParse(json, out var mark));
        Assert.NotNull(mark.Error);
        Assert.NotEqual(MediaStreamParseStatus.Ok, MediaStreamParser.TryParse(start, out var s));
        Assert.NotNull(s.Error);
    }

    [Fact]
    public void AMessageOverTheLimitIsTooLarge()
    {
        var json = Encoding.UTF8.GetBytes(Media);
        Assert.Equal(MediaStreamParseStatus.TooLarge, MediaStreamParser.TryParse(json, out var m, maxMessageBytes: json.Length - 1));
        Assert.Contains("limit", m.Error, StringComparison.Ordinal);
        Assert.Equal(MediaStreamParseStatus.Ok, MediaStreamParser.TryParse(json, out _, maxMessageBytes: json.Length));
    }

    [Theory]
    [MemberData(nameof(AllTwilioMessages))]
    public void EveryTruncationOfAValidMessageIsAnErrorNeverACrash(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json.Trim());
        Assert.Equal(MediaStreamParseStatus.Ok, MediaStreamParser.TryParse(bytes, out _));
        for (var length = 0; length < bytes.Length; length++)
        {
            var status = MediaStreamParser.TryParse(bytes.AsSpan(0, length), out var m);
            Assert.NotEqual(MediaStreamParseStatus.Ok, status);
            Assert.False(string.IsNullOrEmpty(m.Error));
        }
    }

    [Fact]
    public void ParsingAMediaFrameDoesNotAllocate()
    {
        var bytes = Encoding.UTF8.GetBytes(Media);
        Span<byte> payload = stackalloc byte[160];
        var checksum = 0L;
        for (var i = 0; i < 100; i++)
        {
            MediaStreamParser.TryParse(bytes, out var warm);
            warm.TryDecodePayload(payload, out _);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            MediaStreamParser.TryParse(bytes, out var m);
            m.TryDecodePayload(payload, out var written);
            checksum += written + m.TimestampMs;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1000 * 44, checksum);
    }
}
