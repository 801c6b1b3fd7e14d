using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace AgentLocator.Twilio.MediaStreams;

/// <summary>
/// Parses one complete Media Streams WebSocket text message (either direction) with a
/// <see cref="Utf8JsonReader"/>. Never throws for bad input: every failure is a
/// <see cref="MediaStreamParseStatus"/> with a message. A <c>media</c> frame parses without
/// allocating. Properties may come in any order; unknown properties are ignored.
/// </summary>
public static class MediaStreamParser
{
    /// <summary>Twilio's frames are a few hundred bytes; app → Twilio media may carry seconds of audio.</summary>
    public const int DefaultMaxMessageBytes = 1024 * 1024;

    public static MediaStreamParseStatus TryParse(ReadOnlySpan<byte> utf8Json, out MediaStreamMessage message, int maxMessageBytes = DefaultMaxMessageBytes)
    {
        if (utf8Json.Length > maxMessageBytes)
        {
            message = Fail(MediaStreamParseStatus.TooLarge, $"The message is {utf8Json.Length} bytes; the limit is {maxMessageBytes}.");
            return message.Status;
        }

        try
        {
            message = Parse(utf8Json);
        }
        catch (JsonException ex)
        {
            message = Fail(MediaStreamParseStatus.MalformedJson, "The message is not valid JSON: " + ex.Message);
        }
        catch (InvalidMessageException ex)
        {
            message = Fail(MediaStreamParseStatus.InvalidMessage, ex.Message);
        }

        return message.Status;
    }

    private static MediaStreamMessage Fail(MediaStreamParseStatus status, string error) => new()
    {
        Status = status,
        Error = error,
        SequenceNumber = -1,
        Chunk = -1,
        TimestampMs = -1,
    };

    private static MediaStreamMessage Parse(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, isFinalBlock: true, state: default);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidMessageException("A Media Streams message must be a JSON object.");
        }

        ReadOnlySpan<byte> eventName = default;
        ReadOnlySpan<byte> streamSid = default;
        long sequenceNumber = -1;
        string? protocol = null, version = null;
        StreamStart? start = null;
        var media = new MediaFields { Chunk = -1, TimestampMs = -1 };
        var hasMedia = false;
        string? dtmfTrack = null, digit = null, markName = null, stopAccountSid = null, stopCallSid = null;
        var hasMark = false;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("event"u8))
            {
                eventName = ReadUtf8String(ref reader, "event");
            }
            else if (reader.ValueTextEquals("sequenceNumber"u8))
            {
                sequenceNumber = ReadInt64(ref reader, "sequenceNumber");
            }
            else if (reader.ValueTextEquals("streamSid"u8))
            {
                streamSid = ReadUtf8String(ref reader, "streamSid");
            }
            else if (reader.ValueTextEquals("protocol"u8))
            {
                protocol = ReadString(ref reader, "protocol");
            }
            else if (reader.ValueTextEquals("version"u8))
            {
                version = ReadString(ref reader, "version");
            }
            else if (reader.ValueTextEquals("media"u8))
            {
                media = ReadMedia(ref reader);
                hasMedia = true;
            }
            else if (reader.ValueTextEquals("start"u8))
            {
                start = ReadStart(ref reader, streamSid);
            }
            else if (reader.ValueTextEquals("dtmf"u8))
            {
                BeginObject(ref reader, "dtmf");
                while (NextProperty(ref reader))
                {
                    if (reader.ValueTextEquals("track"u8))
                    {
                        dtmfTrack = ReadString(ref reader, "dtmf.track");
                    }
                    else if (reader.ValueTextEquals("digit"u8))
                    {
                        digit = ReadString(ref reader, "dtmf.digit");
                    }
                    else
                    {
                        SkipValue(ref reader);
                    }
                }
            }
            else if (reader.ValueTextEquals("mark"u8))
            {
                hasMark = true;
                BeginObject(ref reader, "mark");
                while (NextProperty(ref reader))
                {
                    if (reader.ValueTextEquals("name"u8))
                    {
                        markName = ReadString(ref reader, "mark.name");
                    }
                    else
                    {
                        SkipValue(ref reader);
                    }
                }
            }
            else if (reader.ValueTextEquals("stop"u8))
            {
                BeginObject(ref reader, "stop");
                while (NextProperty(ref reader))
                {
                    if (reader.ValueTextEquals("accountSid"u8))
                    {
                        stopAccountSid = ReadString(ref reader, "stop.accountSid");
                    }
                    else if (reader.ValueTextEquals("callSid"u8))
                    {
                        stopCallSid = ReadString(ref reader, "stop.callSid");
                    }
                    else
                    {
                        SkipValue(ref reader);
                    }
                }
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        // Anything after the closing brace (other than whitespace) makes the reader throw JsonException.
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            throw new InvalidMessageException("The message has content after its top-level object.");
        }

        if (eventName.IsEmpty)
        {
            throw new InvalidMessageException("The message has no \"event\".");
        }

        var result = new MediaStreamMessage
        {
            Status = MediaStreamParseStatus.Ok,
            SequenceNumber = sequenceNumber,
            StreamSidUtf8 = streamSid,
            Chunk = -1,
            TimestampMs = -1,
        };

        if (eventName.SequenceEqual("media"u8))
        {
            if (!hasMedia || !media.HasPayload)
            {
                throw new InvalidMessageException("A media message needs \"media\".\"payload\".");
            }

            if (!Base64.IsValid(media.Payload, out var decodedLength))
            {
                throw new InvalidMessageException("\"media\".\"payload\" is not valid base64.");
            }

            return result with
            {
                EventType = MediaStreamEventType.Media,
                Track = media.Track,
                Chunk = media.Chunk,
                TimestampMs = media.TimestampMs,
                PayloadBase64 = media.Payload,
                PayloadLength = decodedLength,
            };
        }

        if (eventName.SequenceEqual("mark"u8))
        {
            return hasMark && markName is not null
                ? result with { EventType = MediaStreamEventType.Mark, MarkName = markName }
                : throw new InvalidMessageException("A mark message needs \"mark\".\"name\".");
        }

        if (eventName.SequenceEqual("clear"u8))
        {
            return result with { EventType = MediaStreamEventType.Clear };
        }

        if (eventName.SequenceEqual("dtmf"u8))
        {
            return digit is { Length: > 0 }
                ? result with { EventType = MediaStreamEventType.Dtmf, Digit = digit, DtmfTrack = dtmfTrack }
                : throw new InvalidMessageException("A dtmf message needs \"dtmf\".\"digit\".");
        }

        if (eventName.SequenceEqual("connected"u8))
        {
            return result with { EventType = MediaStreamEventType.Connected, Protocol = protocol, Version = version };
        }

        if (eventName.SequenceEqual("start"u8))
        {
            return start is not null
                ? result with { EventType = MediaStreamEventType.Start, Start = start, StreamSidUtf8 = streamSid.IsEmpty ? Encoding.UTF8.GetBytes(start.StreamSid) : streamSid }
                : throw new InvalidMessageException("A start message needs a \"start\" object.");
        }

        if (eventName.SequenceEqual("stop"u8))
        {
            return result with { EventType = MediaStreamEventType.Stop, StopAccountSid = stopAccountSid, StopCallSid = stopCallSid };
        }

        var unknown = Encoding.UTF8.GetString(eventName);
        return result with
        {
            Status = MediaStreamParseStatus.UnknownEvent,
            EventType = MediaStreamEventType.Unknown,
            UnknownEventName = unknown,
            Error = $"Unknown event '{unknown}'.",
        };
    }

    private ref struct MediaFields
    {
        public MediaTrack Track;
        public long Chunk;
        public long TimestampMs;
        public ReadOnlySpan<byte> Payload;
        public bool HasPayload;
    }

    private static MediaFields ReadMedia(scoped ref Utf8JsonReader reader)
    {
        var fields = new MediaFields { Chunk = -1, TimestampMs = -1 };
        BeginObject(ref reader, "media");
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("payload"u8))
            {
                fields.Payload = ReadUtf8String(ref reader, "media.payload");
                fields.HasPayload = true;
            }
            else if (reader.ValueTextEquals("track"u8))
            {
                var track = ReadUtf8String(ref reader, "media.track");
                fields.Track = track.SequenceEqual("inbound"u8) ? MediaTrack.Inbound
                    : track.SequenceEqual("outbound"u8) ? MediaTrack.Outbound
                    : MediaTrack.Other;
            }
            else if (reader.ValueTextEquals("chunk"u8))
            {
                fields.Chunk = ReadInt64(ref reader, "media.chunk");
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                fields.TimestampMs = ReadInt64(ref reader, "media.timestamp");
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return fields;
    }

    private static StreamStart ReadStart(ref Utf8JsonReader reader, ReadOnlySpan<byte> topLevelStreamSid)
    {
        string? streamSid = null, accountSid = null, callSid = null;
        var tracks = new List<string>();
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        var format = MediaFormat.MuLaw8Khz;

        BeginObject(ref reader, "start");
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("streamSid"u8))
            {
                streamSid = ReadString(ref reader, "start.streamSid");
            }
            else if (reader.ValueTextEquals("accountSid"u8))
            {
                accountSid = ReadString(ref reader, "start.accountSid");
            }
            else if (reader.ValueTextEquals("callSid"u8))
            {
                callSid = ReadString(ref reader, "start.callSid");
            }
            else if (reader.ValueTextEquals("tracks"u8))
            {
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new InvalidMessageException("\"start\".\"tracks\" must be an array of strings.");
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    tracks.Add(reader.TokenType == JsonTokenType.String
                        ? reader.GetString()!
                        : throw new InvalidMessageException("\"start\".\"tracks\" must be an array of strings."));
                }
            }
            else if (reader.ValueTextEquals("customParameters"u8))
            {
                BeginObject(ref reader, "start.customParameters");
                while (NextProperty(ref reader))
                {
                    var name = reader.GetString()!;
                    reader.Read();
                    parameters[name] = reader.TokenType switch
                    {
                        JsonTokenType.String => reader.GetString()!,
                        JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False => Encoding.UTF8.GetString(reader.ValueSpan),
                        JsonTokenType.Null => string.Empty,
                        _ => throw new InvalidMessageException($"\"start\".\"customParameters\".\"{name}\" must be a string."),
                    };
                }
            }
            else if (reader.ValueTextEquals("mediaFormat"u8))
            {
                format = ReadMediaFormat(ref reader);
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        streamSid ??= topLevelStreamSid.IsEmpty ? null : Encoding.UTF8.GetString(topLevelStreamSid);
        if (streamSid is null || callSid is null)
        {
            throw new InvalidMessageException("A start message needs \"start\".\"streamSid\" and \"start\".\"callSid\".");
        }

        return new StreamStart
        {
            StreamSid = streamSid,
            AccountSid = accountSid ?? string.Empty,
            CallSid = callSid,
            Tracks = tracks.Count > 0 ? tracks : ["inbound"],
            CustomParameters = parameters,
            MediaFormat = format,
        };
    }

    private static MediaFormat ReadMediaFormat(ref Utf8JsonReader reader)
    {
        string encoding = MediaFormat.MuLawEncoding;
        int sampleRate = 8000, channels = 1;
        BeginObject(ref reader, "start.mediaFormat");
        while (NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("encoding"u8))
            {
                encoding = ReadString(ref reader, "start.mediaFormat.encoding");
            }
            else if (reader.ValueTextEquals("sampleRate"u8))
            {
                sampleRate = checked((int)ReadInt64(ref reader, "start.mediaFormat.sampleRate"));
            }
            else if (reader.ValueTextEquals("channels"u8))
            {
                channels = checked((int)ReadInt64(ref reader, "start.mediaFormat.channels"));
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return encoding == MediaFormat.MuLawEncoding && sampleRate == 8000 && channels == 1
            ? MediaFormat.MuLaw8Khz
            : new MediaFormat(encoding, sampleRate, channels);
    }

    private static void BeginObject(ref Utf8JsonReader reader, string field)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidMessageException($"\"{field}\" must be an object.");
        }
    }

    /// <summary>Advances to the next property name of the current object; false at its end.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader) =>
        reader.Read() && reader.TokenType == JsonTokenType.PropertyName;

    private static void SkipValue(ref Utf8JsonReader reader)
    {
        reader.Read();
        reader.Skip();
    }

    private static ReadOnlySpan<byte> ReadUtf8String(scoped ref Utf8JsonReader reader, string field)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.String)
        {
            throw new InvalidMessageException($"\"{field}\" must be a string.");
        }

        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan;
        }

        // Rare (Twilio does not escape these values): unescape into a new array.
        var unescaped = new byte[reader.ValueSpan.Length];
        var length = reader.CopyString(unescaped);
        return unescaped.AsSpan(0, length);
    }

    private static string ReadString(ref Utf8JsonReader reader, string field)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.String)
        {
            throw new InvalidMessageException($"\"{field}\" must be a string.");
        }

        return reader.GetString()!;
    }

    /// <summary>Twilio sends numbers as strings ("3"); accept JSON numbers too.</summary>
    private static long ReadInt64(ref Utf8JsonReader reader, string field)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var number))
        {
            return number;
        }

        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped
            && Utf8Parser.TryParse(reader.ValueSpan, out long parsed, out var consumed)
            && consumed == reader.ValueSpan.Length)
        {
            return parsed;
        }

        throw new InvalidMessageException($"\"{field}\" must be an integer (as a string or a number).");
    }

    private sealed class InvalidMessageException(string message) : Exception(message);
}
