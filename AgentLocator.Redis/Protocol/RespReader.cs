using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace AgentLocator.Redis.Protocol;

/// <summary>
/// Reads RESP2 and RESP3 replies. Framing is separate from decoding: a first pass walks the headers and
/// lengths without allocating to find where one complete reply ends (or learns that more bytes are needed),
/// and only a complete frame is decoded into a <see cref="RespValue"/>. Attributes (<c>|</c>) are skipped.
/// </summary>
public static class RespReader
{
    /// <summary>Deepest nesting of aggregates accepted; deeper input is treated as a protocol error.</summary>
    public const int MaxDepth = 64;

    /// <summary>Longest header line (type byte to CRLF) accepted before the input is declared invalid.</summary>
    public const int MaxLineLength = 64 * 1024;

    /// <summary>Largest bulk payload accepted (the Redis default proto-max-bulk-len).</summary>
    public const long MaxBulkLength = 512L * 1024 * 1024;

    private static ReadOnlySpan<byte> CrLf => "\r\n"u8;

    /// <summary>
    /// Reads one complete reply from the start of <paramref name="buffer"/>. Returns true and slices the
    /// reply off the buffer when a whole reply is present; returns false and leaves the buffer untouched
    /// when more data is needed. Throws <see cref="RedisProtocolException"/> for bytes that are not RESP.
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out RespValue value)
    {
        var framer = new SequenceReader<byte>(buffer);
        if (!TrySkipValue(ref framer, depth: 0))
        {
            value = default;
            return false;
        }

        var frame = buffer.Slice(0, framer.Position);
        var decoder = new SequenceReader<byte>(frame);
        value = DecodeValue(ref decoder);
        buffer = buffer.Slice(framer.Position);
        return true;
    }

    /// <summary>Finds the length of the first complete reply without decoding it.</summary>
    public static bool TryGetFrameLength(ReadOnlySequence<byte> buffer, out long length)
    {
        var framer = new SequenceReader<byte>(buffer);
        if (!TrySkipValue(ref framer, depth: 0))
        {
            length = 0;
            return false;
        }
        length = framer.Consumed;
        return true;
    }

    private static bool TrySkipValue(ref SequenceReader<byte> reader, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new RedisProtocolException($"RESP reply nested deeper than {MaxDepth} levels.");
        }
        if (!reader.TryRead(out var prefix))
        {
            return false;
        }
        if (!TryReadLine(ref reader, out var line))
        {
            return false;
        }

        switch (prefix)
        {
            case (byte)'+':
            case (byte)'-':
            case (byte)'(':
                return true;
            case (byte)':':
                ParseInteger(line);
                return true;
            case (byte)',':
                ParseDouble(line);
                return true;
            case (byte)'#':
                ParseBoolean(line);
                return true;
            case (byte)'_':
                if (!line.IsEmpty)
                {
                    throw new RedisProtocolException("RESP3 null must have an empty line.");
                }
                return true;
            case (byte)'$':
            case (byte)'!':
            case (byte)'=':
                {
                    var length = ParseLength(line, allowNull: prefix == (byte)'$');
                    if (length < 0)
                    {
                        return true;
                    }
                    if (length > MaxBulkLength)
                    {
                        throw new RedisProtocolException($"Bulk length {length} exceeds {MaxBulkLength}.");
                    }
                    if (reader.Remaining < length + 2)
                    {
                        return false;
                    }
                    reader.Advance(length);
                    if (!reader.IsNext(CrLf, advancePast: true))
                    {
                        throw new RedisProtocolException("Bulk payload is not followed by CRLF.");
                    }
                    return true;
                }
            case (byte)'*':
            case (byte)'~':
            case (byte)'>':
            case (byte)'%':
            case (byte)'|':
                {
                    var count = ParseLength(line, allowNull: prefix == (byte)'*');
                    if (count < 0)
                    {
                        return true;
                    }
                    if (prefix is (byte)'%' or (byte)'|')
                    {
                        count *= 2;
                    }
                    for (long i = 0; i < count; i++)
                    {
                        if (!TrySkipValue(ref reader, depth + 1))
                        {
                            return false;
                        }
                    }
                    // An attribute annotates the value that follows it; the frame ends after that value.
                    return prefix != (byte)'|' || TrySkipValue(ref reader, depth + 1);
                }
            default:
                throw new RedisProtocolException($"Unknown RESP type byte 0x{prefix:X2}.");
        }
    }

    private static RespValue DecodeValue(ref SequenceReader<byte> reader)
    {
        reader.TryRead(out var prefix);
        reader.TryReadTo(out ReadOnlySequence<byte> line, CrLf);

        switch (prefix)
        {
            case (byte)'+':
                return RespValue.SimpleString(line.ToArray());
            case (byte)'-':
                return RespValue.Error(line.ToArray());
            case (byte)'(':
                return RespValue.BigNumber(line.ToArray());
            case (byte)':':
                return RespValue.Integer(ParseInteger(line));
            case (byte)',':
                return RespValue.Double(ParseDouble(line));
            case (byte)'#':
                return RespValue.Boolean(ParseBoolean(line));
            case (byte)'_':
                return RespValue.Null;
            case (byte)'$':
            case (byte)'!':
            case (byte)'=':
                {
                    var length = ParseLength(line, allowNull: true);
                    if (length < 0)
                    {
                        return RespValue.Null;
                    }
                    var payload = new byte[length];
                    reader.TryCopyTo(payload);
                    reader.Advance(length + 2);
                    if (prefix == (byte)'$')
                    {
                        return RespValue.BulkString(payload);
                    }
                    if (prefix == (byte)'!')
                    {
                        return RespValue.BulkError(payload);
                    }
                    if (payload.Length < 4 || payload[3] != (byte)':')
                    {
                        throw new RedisProtocolException("Verbatim string lacks its 'fmt:' prefix.");
                    }
                    return RespValue.Verbatim(Encoding.ASCII.GetString(payload, 0, 3), payload[4..]);
                }
            case (byte)'|':
                {
                    var count = ParseLength(line, allowNull: false) * 2;
                    for (long i = 0; i < count; i++)
                    {
                        DecodeValue(ref reader);
                    }
                    return DecodeValue(ref reader);
                }
            default:
                {
                    var count = ParseLength(line, allowNull: true);
                    if (count < 0)
                    {
                        return RespValue.Null;
                    }
                    var type = prefix switch
                    {
                        (byte)'*' => RespType.Array,
                        (byte)'~' => RespType.Set,
                        (byte)'>' => RespType.Push,
                        _ => RespType.Map,
                    };
                    var elements = new RespValue[type == RespType.Map ? count * 2 : count];
                    for (var i = 0; i < elements.Length; i++)
                    {
                        elements[i] = DecodeValue(ref reader);
                    }
                    return RespValue.Aggregate(type, elements);
                }
        }
    }

    private static bool TryReadLine(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> line)
    {
        if (reader.TryReadTo(out line, CrLf))
        {
            if (line.Length > MaxLineLength)
            {
                throw new RedisProtocolException($"RESP header line longer than {MaxLineLength} bytes.");
            }
            return true;
        }
        if (reader.Remaining > MaxLineLength)
        {
            throw new RedisProtocolException($"No CRLF within {MaxLineLength} bytes.");
        }
        return false;
    }

    private static long ParseLength(ReadOnlySequence<byte> line, bool allowNull)
    {
        var value = ParseInteger(line);
        if (value < -1 || (value == -1 && !allowNull) || value > int.MaxValue)
        {
            throw new RedisProtocolException($"Invalid RESP length {value}.");
        }
        return value;
    }

    private static long ParseInteger(ReadOnlySequence<byte> line)
    {
        Span<byte> scratch = stackalloc byte[24];
        var span = Flatten(line, scratch, "integer");
        if (span.Length == 0 || !Utf8Parser.TryParse(span, out long value, out var consumed) || consumed != span.Length)
        {
            throw new RedisProtocolException($"Invalid RESP integer '{Encoding.ASCII.GetString(span)}'.");
        }
        return value;
    }

    private static double ParseDouble(ReadOnlySequence<byte> line)
    {
        Span<byte> scratch = stackalloc byte[64];
        var span = Flatten(line, scratch, "double");
        if (!TryParseDouble(span, out var value))
        {
            throw new RedisProtocolException($"Invalid RESP double '{Encoding.ASCII.GetString(span)}'.");
        }
        return value;
    }

    private static bool ParseBoolean(ReadOnlySequence<byte> line)
    {
        if (line.Length == 1)
        {
            var b = line.FirstSpan[0];
            if (b == (byte)'t')
            {
                return true;
            }
            if (b == (byte)'f')
            {
                return false;
            }
        }
        throw new RedisProtocolException("Invalid RESP boolean.");
    }

    internal static bool TryParseDouble(ReadOnlySpan<byte> span, out double value)
    {
        if (span.SequenceEqual("inf"u8) || span.SequenceEqual("+inf"u8))
        {
            value = double.PositiveInfinity;
            return true;
        }
        if (span.SequenceEqual("-inf"u8))
        {
            value = double.NegativeInfinity;
            return true;
        }
        if (span.SequenceEqual("nan"u8) || span.SequenceEqual("-nan"u8))
        {
            value = double.NaN;
            return true;
        }
        value = 0;
        return span.Length > 0
            && (span[0] is (byte)'-' or (byte)'+' or (byte)'.' || char.IsAsciiDigit((char)span[0]))
            && double.TryParse(span, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
    }

    private static ReadOnlySpan<byte> Flatten(ReadOnlySequence<byte> line, Span<byte> scratch, string what)
    {
        if (line.IsSingleSegment)
        {
            return line.FirstSpan;
        }
        if (line.Length > scratch.Length)
        {
            throw new RedisProtocolException($"RESP {what} is too long.");
        }
        line.CopyTo(scratch);
        return scratch[..(int)line.Length];
    }
}
