using System.Buffers;
using System.Buffers.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace AgentLocator.MediaStreams;

/// <summary>
/// Writes Media Streams messages into one reused buffer. Each <c>Write…</c> returns the UTF-8 JSON
/// of a single WebSocket text message, valid until the next call. After the buffer has grown to
/// the largest message, writing allocates nothing (the <c>media</c> payload is base64-encoded
/// straight into the buffer). Not thread-safe: one writer per connection or sender.
/// </summary>
public sealed class MediaStreamWriter : IDisposable
{
    private static readonly JsonEncodedText EventProperty = JsonEncodedText.Encode("event");
    private static readonly JsonEncodedText StreamSidProperty = JsonEncodedText.Encode("streamSid");
    private static readonly JsonEncodedText SequenceNumberProperty = JsonEncodedText.Encode("sequenceNumber");
    private static readonly JsonEncodedText MediaProperty = JsonEncodedText.Encode("media");
    private static readonly JsonEncodedText PayloadProperty = JsonEncodedText.Encode("payload");
    private static readonly JsonEncodedText TrackProperty = JsonEncodedText.Encode("track");
    private static readonly JsonEncodedText ChunkProperty = JsonEncodedText.Encode("chunk");
    private static readonly JsonEncodedText TimestampProperty = JsonEncodedText.Encode("timestamp");
    private static readonly JsonEncodedText MarkProperty = JsonEncodedText.Encode("mark");
    private static readonly JsonEncodedText NameProperty = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText MediaEvent = JsonEncodedText.Encode("media");
    private static readonly JsonEncodedText MarkEvent = JsonEncodedText.Encode("mark");
    private static readonly JsonEncodedText ClearEvent = JsonEncodedText.Encode("clear");
    private static readonly JsonEncodedText InboundTrack = JsonEncodedText.Encode("inbound");

    private readonly ArrayBufferWriter<byte> _buffer;
    private readonly Utf8JsonWriter _json;

    public MediaStreamWriter(int initialCapacity = 1024)
    {
        _buffer = new ArrayBufferWriter<byte>(initialCapacity);
        // Relaxed escaping keeps Hebrew custom parameters and mark names readable (raw UTF-8).
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    // ---- app → Twilio: the only three messages an app may send ----

    /// <summary><c>{"event":"media","streamSid":…,"media":{"payload":"&lt;base64 mu-law&gt;"}}</c>.</summary>
    public ReadOnlyMemory<byte> WriteMedia(string streamSid, ReadOnlySpan<byte> muLaw)
    {
        Begin(MediaEvent, streamSid, sequenceNumber: -1);
        _json.WriteStartObject(MediaProperty);
        WritePayload(muLaw);
        _json.WriteEndObject();
        return End();
    }

    /// <summary><c>{"event":"mark","streamSid":…,"mark":{"name":…}}</c>: echoed by Twilio once the audio queued before it has played.</summary>
    public ReadOnlyMemory<byte> WriteMark(string streamSid, string name)
    {
        Begin(MarkEvent, streamSid, sequenceNumber: -1);
        WriteMarkBody(name);
        return End();
    }

    /// <summary><c>{"event":"clear","streamSid":…}</c>: drop the audio Twilio has buffered (barge-in).</summary>
    public ReadOnlyMemory<byte> WriteClear(string streamSid)
    {
        Begin(ClearEvent, streamSid, sequenceNumber: -1);
        return End();
    }

    // ---- Twilio → app: for the call simulator and tests ----

    /// <summary><c>{"event":"connected","protocol":"Call","version":"1.0.0"}</c>.</summary>
    public ReadOnlyMemory<byte> WriteConnected()
    {
        Reset();
        _json.WriteStartObject();
        _json.WriteString(EventProperty, "connected"u8);
        _json.WriteString("protocol"u8, "Call"u8);
        _json.WriteString("version"u8, "1.0.0"u8);
        return End();
    }

    public ReadOnlyMemory<byte> WriteStart(StreamStart start, long sequenceNumber)
    {
        ArgumentNullException.ThrowIfNull(start);
        Begin(JsonEncodedText.Encode("start"), start.StreamSid, sequenceNumber);
        _json.WriteStartObject("start"u8);
        _json.WriteString("accountSid"u8, start.AccountSid);
        _json.WriteString(StreamSidProperty, start.StreamSid);
        _json.WriteString("callSid"u8, start.CallSid);
        _json.WriteStartArray("tracks"u8);
        foreach (var track in start.Tracks)
        {
            _json.WriteStringValue(track);
        }

        _json.WriteEndArray();
        _json.WriteStartObject("customParameters"u8);
        foreach (var (name, value) in start.CustomParameters)
        {
            _json.WriteString(name, value);
        }

        _json.WriteEndObject();
        _json.WriteStartObject("mediaFormat"u8);
        _json.WriteString("encoding"u8, start.MediaFormat.Encoding);
        _json.WriteNumber("sampleRate"u8, start.MediaFormat.SampleRate);
        _json.WriteNumber("channels"u8, start.MediaFormat.Channels);
        _json.WriteEndObject();
        _json.WriteEndObject();
        return End();
    }

    /// <summary>A Twilio → app audio frame; <c>chunk</c> and <c>timestamp</c> (ms since the stream started) are strings on the wire.</summary>
    public ReadOnlyMemory<byte> WriteInboundMedia(string streamSid, long sequenceNumber, long chunk, long timestampMs, ReadOnlySpan<byte> muLaw)
    {
        Begin(MediaEvent, streamSid, sequenceNumber);
        _json.WriteStartObject(MediaProperty);
        _json.WriteString(TrackProperty, InboundTrack);
        WriteNumberAsString(ChunkProperty, chunk);
        WriteNumberAsString(TimestampProperty, timestampMs);
        WritePayload(muLaw);
        _json.WriteEndObject();
        return End();
    }

    public ReadOnlyMemory<byte> WriteDtmf(string streamSid, long sequenceNumber, char digit, string track = "inbound_track")
    {
        Begin(JsonEncodedText.Encode("dtmf"), streamSid, sequenceNumber);
        _json.WriteStartObject("dtmf"u8);
        _json.WriteString(TrackProperty, track);
        Span<char> digitText = [digit];
        _json.WriteString("digit"u8, digitText);
        _json.WriteEndObject();
        return End();
    }

    /// <summary>Twilio's echo of a mark, sent once the audio queued before the mark has played.</summary>
    public ReadOnlyMemory<byte> WriteMarkEcho(string streamSid, long sequenceNumber, string name)
    {
        Begin(MarkEvent, streamSid, sequenceNumber);
        WriteMarkBody(name);
        return End();
    }

    public ReadOnlyMemory<byte> WriteStop(string streamSid, long sequenceNumber, string accountSid, string callSid)
    {
        Begin(JsonEncodedText.Encode("stop"), streamSid, sequenceNumber);
        _json.WriteStartObject("stop"u8);
        _json.WriteString("accountSid"u8, accountSid);
        _json.WriteString("callSid"u8, callSid);
        _json.WriteEndObject();
        return End();
    }

    public void Dispose() => _json.Dispose();

    private void Reset()
    {
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
    }

    private void Begin(JsonEncodedText eventName, string streamSid, long sequenceNumber)
    {
        ArgumentNullException.ThrowIfNull(streamSid);
        Reset();
        _json.WriteStartObject();
        _json.WriteString(EventProperty, eventName);
        if (sequenceNumber >= 0)
        {
            WriteNumberAsString(SequenceNumberProperty, sequenceNumber);
        }

        _json.WriteString(StreamSidProperty, streamSid);
    }

    private ReadOnlyMemory<byte> End()
    {
        _json.WriteEndObject();
        _json.Flush();
        return _buffer.WrittenMemory;
    }

    private void WriteMarkBody(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        _json.WriteStartObject(MarkProperty);
        _json.WriteString(NameProperty, name);
        _json.WriteEndObject();
    }

    private void WriteNumberAsString(JsonEncodedText property, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var written);
        _json.WriteString(property, digits[..written]);
    }

    private void WritePayload(ReadOnlySpan<byte> muLaw)
    {
        // Utf8JsonWriter base64-encodes straight into the output buffer, unescaped.
        _json.WriteBase64String(PayloadProperty, muLaw);
    }
}
