using System.Text;
using System.Text.Json;
using AgentLocator.MediaStreams;

namespace AgentLocator.Tests.Media;

public class MediaStreamWriterTests
{
    [Fact]
    public void OutboundMediaIsExactlyEventStreamSidAndPayload()
    {
        using var writer = new MediaStreamWriter();
        var json = Encoding.UTF8.GetString(writer.WriteMedia("MZ1", [0xFF, 0x7F, 0x80, 0xFB]).Span);
        Assert.Equal("""{"event":"media","streamSid":"MZ1","media":{"payload":"/3+A+w=="}}""", json);
    }

    [Fact]
    public void MarkAndClearAreTheDocumentedShapes()
    {
        using var writer = new MediaStreamWriter();
        Assert.Equal("""{"event":"mark","streamSid":"MZ1","mark":{"name":"reply-1"}}""", Encoding.UTF8.GetString(writer.WriteMark("MZ1", "reply-1").Span));
        Assert.Equal("""{"event":"clear","streamSid":"MZ1"}""", Encoding.UTF8.GetString(writer.WriteClear("MZ1").Span));
    }

    [Fact]
    public void TwilioSideMessagesRoundTripThroughTheParser()
    {
        using var writer = new MediaStreamWriter();
        var start = new StreamStart
        {
            StreamSid = "MZ9",
            AccountSid = "AC9",
            CallSid = "CA9",
            CustomParameters = new Dictionary<string, string> { ["token"] = "abc\"<>", ["שם"] = "דני" },
        };

        Check(writer.WriteConnected(), m => Assert.Equal((MediaStreamEventType.Connected, "Call", "1.0.0"), (m.EventType, m.Protocol, m.Version)));
        Check(writer.WriteStart(start, 1), m =>
        {
            Assert.Equal((MediaStreamEventType.Start, 1L, "MZ9"), (m.EventType, m.SequenceNumber, m.GetStreamSid()));
            Assert.Equal(("CA9", "AC9", "abc\"<>", "דני"), (m.Start!.CallSid, m.Start.AccountSid, m.Start.CustomParameters["token"], m.Start.CustomParameters["שם"]));
            Assert.Equal(MediaFormat.MuLaw8Khz, m.Start.MediaFormat);
        });
        var frame = Signals.Tone(440, -20, 20);
        Check(writer.WriteInboundMedia("MZ9", 7, 6, 100, frame), m =>
        {
            Assert.Equal((MediaStreamEventType.Media, 7L, 6L, 100L, MediaTrack.Inbound), (m.EventType, m.SequenceNumber, m.Chunk, m.TimestampMs, m.Track));
            Assert.Equal(frame, m.GetPayload());
        });
        Check(writer.WriteDtmf("MZ9", 8, '#'), m => Assert.Equal((MediaStreamEventType.Dtmf, "#"), (m.EventType, m.Digit)));
        Check(writer.WriteMarkEcho("MZ9", 9, "greeting"), m => Assert.Equal((MediaStreamEventType.Mark, 9L, "greeting"), (m.EventType, m.SequenceNumber, m.MarkName)));
        Check(writer.WriteStop("MZ9", 10, "AC9", "CA9"), m => Assert.Equal((MediaStreamEventType.Stop, "CA9"), (m.EventType, m.StopCallSid)));
    }

    [Fact]
    public void NumericFieldsAreStringsOnTheWireExceptTheMediaFormat()
    {
        using var writer = new MediaStreamWriter();
        using var media = JsonDocument.Parse(writer.WriteInboundMedia("MZ1", 3, 2, 40, [0xFF]));
        Assert.Equal("3", media.RootElement.GetProperty("sequenceNumber").GetString());
        Assert.Equal("2", media.RootElement.GetProperty("media").GetProperty("chunk").GetString());
        Assert.Equal("40", media.RootElement.GetProperty("media").GetProperty("timestamp").GetString());
        using var start = JsonDocument.Parse(writer.WriteStart(new StreamStart { StreamSid = "MZ1", AccountSid = "AC1", CallSid = "CA1" }, 1));
        Assert.Equal(8000, start.RootElement.GetProperty("start").GetProperty("mediaFormat").GetProperty("sampleRate").GetInt32());
        Assert.Equal(JsonValueKind.Number, start.RootElement.GetProperty("start").GetProperty("mediaFormat").GetProperty("channels").ValueKind);
    }

    [Fact]
    public void WritingOutboundMediaFramesDoesNotAllocateOnceWarm()
    {
        using var writer = new MediaStreamWriter();
        var frame = Signals.Tone(440, -20, 20);
        var total = 0L;
        for (var i = 0; i < 100; i++)
        {
            total += writer.WriteMedia("MZ1", frame).Length;
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            total += writer.WriteMedia("MZ1", frame).Length + writer.WriteMark("MZ1", "m").Length;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(total > 0);
    }

    private static void Check(ReadOnlyMemory<byte> json, Action<MediaStreamMessageSnapshot> assert)
    {
        Assert.Equal(MediaStreamParseStatus.Ok, MediaStreamParser.TryParse(json.Span, out var message));
        assert(new MediaStreamMessageSnapshot(message));
    }

    /// <summary>A heap copy of a parsed message, so assertions can run in lambdas.</summary>
    private sealed class MediaStreamMessageSnapshot(MediaStreamMessage m)
    {
        public MediaStreamEventType EventType { get; } = m.EventType;
        public long SequenceNumber { get; } = m.SequenceNumber;
        public string? StreamSid { get; } = m.GetStreamSid();
        public string? Protocol { get; } = m.Protocol;
        public string? Version { get; } = m.Version;
        public StreamStart? Start { get; } = m.Start;
        public long Chunk { get; } = m.Chunk;
        public long TimestampMs { get; } = m.TimestampMs;
        public MediaTrack Track { get; } = m.Track;
        public string? Digit { get; } = m.Digit;
        public string? MarkName { get; } = m.MarkName;
        public string? StopCallSid { get; } = m.StopCallSid;
        private readonly byte[]? _payload = m.EventType == MediaStreamEventType.Media ? m.GetPayload() : null;

        public string? GetStreamSid() => StreamSid;

        public byte[] GetPayload() => _payload!;
    }
}
