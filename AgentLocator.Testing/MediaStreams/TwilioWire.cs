using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AgentLocator.Testing.MediaStreams;

/// <summary>
/// The Media Streams wire format as Twilio documents it (TWILIO.md section 4), written here from the
/// documentation and independently of the app's own parser and writer, so that a mistake in those
/// cannot hide itself. Writes what Twilio sends; reads what an app may send (<c>media</c>, <c>mark</c>,
/// <c>clear</c>) and names anything else as Twilio would reject it. One instance per connection.
/// </summary>
internal sealed class TwilioWire : IDisposable
{
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _json;

    public TwilioWire()
    {
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    public ReadOnlyMemory<byte> Connected() => Write(json =>
    {
        json.WriteString("event", "connected");
        json.WriteString("protocol", "Call");
        json.WriteString("version", "1.0.0");
    });

    public ReadOnlyMemory<byte> Start(long sequence, CallSimulatorOptions o) => Write(json =>
    {
        json.WriteString("event", "start");
        json.WriteString("sequenceNumber", Text(sequence));
        json.WriteString("streamSid", o.StreamSid);
        json.WriteStartObject("start");
        json.WriteString("streamSid", o.StreamSid);
        json.WriteString("accountSid", o.AccountSid);
        json.WriteString("callSid", o.CallSid);
        json.WriteStartArray("tracks");
        foreach (var track in o.Tracks)
        {
            json.WriteStringValue(track);
        }

        json.WriteEndArray();
        json.WriteStartObject("customParameters");
        foreach (var (name, value) in o.CustomParameters)
        {
            json.WriteString(name, value);
        }

        json.WriteEndObject();
        json.WriteStartObject("mediaFormat");
        json.WriteString("encoding", "audio/x-mulaw");
        json.WriteNumber("sampleRate", 8000);
        json.WriteNumber("channels", 1);
        json.WriteEndObject();
        json.WriteEndObject();
    });

    public ReadOnlyMemory<byte> Media(long sequence, string streamSid, long chunk, long timestampMs, ReadOnlySpan<byte> muLaw)
    {
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        _json.WriteStartObject();
        _json.WriteString("event", "media");
        _json.WriteString("sequenceNumber", Text(sequence));
        _json.WriteString("streamSid", streamSid);
        _json.WriteStartObject("media");
        _json.WriteString("track", "inbound");
        _json.WriteString("chunk", Text(chunk));
        _json.WriteString("timestamp", Text(timestampMs));
        _json.WriteBase64String("payload", muLaw);
        _json.WriteEndObject();
        _json.WriteEndObject();
        _json.Flush();
        return _buffer.WrittenMemory;
    }

    public ReadOnlyMemory<byte> Dtmf(long sequence, string streamSid, char digit) => Write(json =>
    {
        json.WriteString("event", "dtmf");
        json.WriteString("streamSid", streamSid);
        json.WriteString("sequenceNumber", Text(sequence));
        json.WriteStartObject("dtmf");
        json.WriteString("track", "inbound_track");
        json.WriteString("digit", digit.ToString());
        json.WriteEndObject();
    });

    public ReadOnlyMemory<byte> MarkEcho(long sequence, string streamSid, string name) => Write(json =>
    {
        json.WriteString("event", "mark");
        json.WriteString("streamSid", streamSid);
        json.WriteString("sequenceNumber", Text(sequence));
        json.WriteStartObject("mark");
        json.WriteString("name", name);
        json.WriteEndObject();
    });

    public ReadOnlyMemory<byte> Stop(long sequence, CallSimulatorOptions o) => Write(json =>
    {
        json.WriteString("event", "stop");
        json.WriteString("streamSid", o.StreamSid);
        json.WriteString("sequenceNumber", Text(sequence));
        json.WriteStartObject("stop");
        json.WriteString("accountSid", o.AccountSid);
        json.WriteString("callSid", o.CallSid);
        json.WriteEndObject();
    });

    public void Dispose() => _json.Dispose();

    private ReadOnlyMemory<byte> Write(Action<Utf8JsonWriter> body)
    {
        _buffer.ResetWrittenCount();
        _json.Reset(_buffer);
        _json.WriteStartObject();
        body(_json);
        _json.WriteEndObject();
        _json.Flush();
        return _buffer.WrittenMemory;
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads one message from the app. Returns false (with why) for anything Twilio would reject: not a
    /// JSON object, an event other than media/mark/clear (error 31924), a wrong or missing streamSid, a
    /// media payload that is not base64 mu-law (or carries a WAV header), a mark without a name.
    /// </summary>
    public static bool TryReadAppMessage(ReadOnlySpan<byte> json, string streamSid, out AppMessage message, out string violation)
    {
        message = default;
        violation = "";
        string? type = null, sid = null, markName = null;
        byte[]? payload = null;
        var hasMedia = false;
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                violation = "not a JSON object";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var property = reader.GetString();
                reader.Read();
                switch (property)
                {
                    case "event" when reader.TokenType == JsonTokenType.String:
                        type = reader.GetString();
                        break;
                    case "streamSid" when reader.TokenType == JsonTokenType.String:
                        sid = reader.GetString();
                        break;
                    case "media" when reader.TokenType == JsonTokenType.StartObject:
                        hasMedia = true;
                        payload = ReadPayload(ref reader);
                        break;
                    case "mark" when reader.TokenType == JsonTokenType.StartObject:
                        markName = ReadName(ref reader);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }
        catch (JsonException ex)
        {
            violation = "malformed JSON: " + ex.Message;
            return false;
        }
        catch (FormatException)
        {
            violation = "media payload is not base64";
            return false;
        }

        if (type is not ("media" or "mark" or "clear"))
        {
            violation = $"event '{type}': an app may send only media, mark and clear (Twilio error 31924)";
            return false;
        }

        if (sid != streamSid)
        {
            violation = $"{type} with streamSid '{sid}', not the stream's '{streamSid}'";
            return false;
        }

        switch (type)
        {
            case "media" when !hasMedia || payload is null:
                violation = "media without media.payload";
                return false;
            case "media" when payload.AsSpan().StartsWith("RIFF"u8):
                violation = "media payload carries a WAV header: Twilio plays raw mu-law only";
                return false;
            case "mark" when string.IsNullOrEmpty(markName):
                violation = "mark without mark.name";
                return false;
        }

        message = new AppMessage(type switch { "media" => BotMessageKind.Media, "mark" => BotMessageKind.Mark, _ => BotMessageKind.Clear }, payload, markName);
        return true;
    }

    private static byte[]? ReadPayload(ref Utf8JsonReader reader)
    {
        byte[]? payload = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isPayload = reader.ValueTextEquals("payload"u8);
            reader.Read();
            if (isPayload && reader.TokenType == JsonTokenType.String)
            {
                payload = Decode(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return payload;
    }

    private static byte[] Decode(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence)
        {
            return Convert.FromBase64String(reader.GetString()!);
        }

        var base64 = reader.ValueSpan;
        var bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(base64.Length)];
        if (Base64.DecodeFromUtf8(base64, bytes, out _, out var written) != OperationStatus.Done)
        {
            throw new FormatException("not base64");
        }

        return written == bytes.Length ? bytes : bytes.AsSpan(0, written).ToArray();
    }

    private static string? ReadName(ref Utf8JsonReader reader)
    {
        string? name = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isName = reader.ValueTextEquals("name"u8);
            reader.Read();
            if (isName && reader.TokenType == JsonTokenType.String)
            {
                name = reader.GetString();
            }
            else
            {
                reader.Skip();
            }
        }

        return name;
    }
}

/// <summary>One message an app sent, as Twilio reads it.</summary>
internal readonly record struct AppMessage(BotMessageKind Kind, byte[]? Audio, string? MarkName);

/// <summary>G.711 mu-law decoding by the formula (ITU-T G.711), for the peer's own "is this audible" check.</summary>
internal static class G711
{
    private static readonly double[] Squares = BuildSquares();

    /// <summary>RMS level of mu-law audio in dBFS (full scale 32768); digital silence is -120.</summary>
    public static double LevelDbfs(ReadOnlySpan<byte> muLaw)
    {
        if (muLaw.IsEmpty)
        {
            return -120;
        }

        double sum = 0;
        foreach (var b in muLaw)
        {
            sum += Squares[b];
        }

        var rms = Math.Sqrt(sum / muLaw.Length);
        return rms <= 0 ? -120 : Math.Max(-120, 20 * Math.Log10(rms / 32768));
    }

    public static short Decode(byte muLaw)
    {
        var u = ~muLaw & 0xFF;
        var exponent = (u >> 4) & 0x07;
        var mantissa = u & 0x0F;
        var magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
        return (short)((u & 0x80) != 0 ? -magnitude : magnitude);
    }

    private static double[] BuildSquares()
    {
        var squares = new double[256];
        for (var i = 0; i < 256; i++)
        {
            double sample = Decode((byte)i);
            squares[i] = sample * sample;
        }

        return squares;
    }
}
