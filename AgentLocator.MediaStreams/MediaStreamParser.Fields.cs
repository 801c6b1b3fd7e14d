using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace AgentLocator.MediaStreams;

/// <summary>Readers for the nested objects and typed fields of a Media Streams message.</summary>
public static partial class MediaStreamParser
{
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
