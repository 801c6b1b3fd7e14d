using System.Buffers.Text;
using System.Text;

namespace AgentLocator.MediaStreams;

/// <summary>
/// One parsed Media Streams message. A <c>ref struct</c> so that a <c>media</c> frame is parsed
/// without allocating: <see cref="StreamSidUtf8"/> and <see cref="PayloadBase64"/> point into the
/// buffer that was parsed and are valid only as long as that buffer is.
/// </summary>
public readonly ref struct MediaStreamMessage
{
    public MediaStreamParseStatus Status { get; init; }

    /// <summary>What went wrong when <see cref="Status"/> is not <see cref="MediaStreamParseStatus.Ok"/>.</summary>
    public string? Error { get; init; }

    public MediaStreamEventType EventType { get; init; }

    /// <summary>The <c>event</c> string when <see cref="EventType"/> is <see cref="MediaStreamEventType.Unknown"/>.</summary>
    public string? UnknownEventName { get; init; }

    /// <summary>Top-level <c>sequenceNumber</c> (a string on the wire), or -1 when absent (<c>connected</c>, app → Twilio messages).</summary>
    public long SequenceNumber { get; init; }

    /// <summary>Top-level <c>streamSid</c> as UTF-8 (empty when absent).</summary>
    public ReadOnlySpan<byte> StreamSidUtf8 { get; init; }

    // connected
    public string? Protocol { get; init; }

    public string? Version { get; init; }

    // start
    public StreamStart? Start { get; init; }

    // media
    public MediaTrack Track { get; init; }

    /// <summary><c>media.chunk</c> (a string on the wire), or -1 when absent.</summary>
    public long Chunk { get; init; }

    /// <summary><c>media.timestamp</c>: milliseconds since the stream started (a string on the wire), or -1 when absent.</summary>
    public long TimestampMs { get; init; }

    /// <summary>The raw base64 text of <c>media.payload</c>, as UTF-8 bytes.</summary>
    public ReadOnlySpan<byte> PayloadBase64 { get; init; }

    /// <summary>The exact number of bytes <see cref="TryDecodePayload"/> writes.</summary>
    public int PayloadLength { get; init; }

    // dtmf
    public string? DtmfTrack { get; init; }

    public string? Digit { get; init; }

    // mark
    public string? MarkName { get; init; }

    // stop
    public string? StopAccountSid { get; init; }

    public string? StopCallSid { get; init; }

    public bool IsOk => Status == MediaStreamParseStatus.Ok;

    /// <summary>Allocates the top-level <c>streamSid</c> as a string (null when absent).</summary>
    public string? GetStreamSid() => StreamSidUtf8.IsEmpty ? null : Encoding.UTF8.GetString(StreamSidUtf8);

    /// <summary>Decodes the media payload (mu-law bytes) into <paramref name="destination"/> without allocating.</summary>
    public bool TryDecodePayload(Span<byte> destination, out int bytesWritten)
    {
        bytesWritten = 0;
        if (EventType != MediaStreamEventType.Media || destination.Length < PayloadLength)
        {
            return false;
        }

        var status = Base64.DecodeFromUtf8(PayloadBase64, destination, out _, out bytesWritten);
        return status == System.Buffers.OperationStatus.Done;
    }

    /// <summary>Allocates the decoded payload. For tests and tools; the hot path uses <see cref="TryDecodePayload"/>.</summary>
    public byte[] GetPayload()
    {
        var bytes = new byte[PayloadLength];
        return TryDecodePayload(bytes, out var written) && written == bytes.Length
            ? bytes
            : throw new InvalidOperationException("This message carries no valid media payload.");
    }

    public override string ToString() => IsOk
        ? $"{EventType} #{SequenceNumber}"
        : $"{Status}: {Error}";
}
