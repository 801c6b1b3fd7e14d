using System.Buffers.Text;
using System.Text;
using System.Text.Json;

namespace AgentLocator.MediaStreams;

/// <summary>
/// Parses one complete Media Streams WebSocket text message (either direction) with a
/// <see cref="Utf8JsonReader"/>. Never throws for bad input: every failure is a
/// <see cref="MediaStreamParseStatus"/> with a message. A <c>media</c> frame parses without
/// allocating. Properties may come in any order; unknown properties are ignored.
/// </summary>
public static partial class MediaStreamParser
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
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader.GetString throws this for a string that is not valid UTF-8.
            message = Fail(MediaStreamParseStatus.InvalidMessage, "The message has a string that is not valid UTF-8: " + ex.Message);
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
}
