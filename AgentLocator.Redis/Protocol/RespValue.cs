using System.Globalization;
using System.Text;

namespace AgentLocator.Redis.Protocol;

/// <summary>
/// One decoded RESP reply. Blob-like types (simple string, error, bulk string, big number, bulk error,
/// verbatim string) keep their bytes; aggregates keep their elements (a map as key, value, key, value…).
/// </summary>
public readonly struct RespValue
{
    private readonly byte[]? _bytes;
    private readonly RespValue[]? _elements;
    private readonly long _integer;
    private readonly double _double;

    private RespValue(RespType type, byte[]? bytes, RespValue[]? elements, long integer, double @double, string? format)
    {
        Type = type;
        _bytes = bytes;
        _elements = elements;
        _integer = integer;
        _double = @double;
        VerbatimFormat = format;
    }

    public RespType Type { get; }

    /// <summary>The three-letter format of a verbatim string (<c>txt</c>, <c>mkd</c>), otherwise null.</summary>
    public string? VerbatimFormat { get; }

    /// <summary>RESP3 null, or a RESP2 null bulk string / null array.</summary>
    public bool IsNull => Type == RespType.Null;

    public bool IsError => Type is RespType.Error or RespType.BulkError;

    public bool IsAggregate => Type is RespType.Array or RespType.Map or RespType.Set or RespType.Push;

    public ReadOnlySpan<byte> Span => _bytes;

    public byte[]? Bytes => _bytes;

    /// <summary>Elements of an array, set or push; a map's keys and values interleaved.</summary>
    public IReadOnlyList<RespValue> Elements => _elements ?? [];

    public static RespValue Null { get; } = new(RespType.Null, null, null, 0, 0, null);

    public static RespValue SimpleString(byte[] bytes) => new(RespType.SimpleString, bytes, null, 0, 0, null);

    public static RespValue Error(byte[] bytes) => new(RespType.Error, bytes, null, 0, 0, null);

    public static RespValue BulkError(byte[] bytes) => new(RespType.BulkError, bytes, null, 0, 0, null);

    public static RespValue BulkString(byte[] bytes) => new(RespType.BulkString, bytes, null, 0, 0, null);

    public static RespValue BigNumber(byte[] bytes) => new(RespType.BigNumber, bytes, null, 0, 0, null);

    public static RespValue Verbatim(string format, byte[] bytes) => new(RespType.VerbatimString, bytes, null, 0, 0, format);

    public static RespValue Integer(long value) => new(RespType.Integer, null, null, value, 0, null);

    public static RespValue Boolean(bool value) => new(RespType.Boolean, null, null, value ? 1 : 0, 0, null);

    public static RespValue Double(double value) => new(RespType.Double, null, null, 0, value, null);

    public static RespValue Aggregate(RespType type, RespValue[] elements)
    {
        if (type is not (RespType.Array or RespType.Map or RespType.Set or RespType.Push))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Not an aggregate type.");
        }
        return new(type, null, elements, 0, 0, null);
    }

    /// <summary>The text of a blob-like value (UTF-8), the number of an integer or double, null for null.</summary>
    public string? AsString() => Type switch
    {
        RespType.Null => null,
        RespType.Integer => _integer.ToString(CultureInfo.InvariantCulture),
        RespType.Double => _double.ToString("R", CultureInfo.InvariantCulture),
        RespType.Boolean => _integer != 0 ? "true" : "false",
        _ when _bytes is not null => Encoding.UTF8.GetString(_bytes),
        _ => throw Unexpected("a string"),
    };

    public long AsInt64()
    {
        switch (Type)
        {
            case RespType.Integer:
            case RespType.Boolean:
                return _integer;
            case RespType.SimpleString:
            case RespType.BulkString:
            case RespType.BigNumber:
                if (long.TryParse(_bytes, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
                {
                    return parsed;
                }
                break;
        }
        throw Unexpected("an integer");
    }

    public double AsDouble()
    {
        switch (Type)
        {
            case RespType.Double:
                return _double;
            case RespType.Integer:
                return _integer;
            case RespType.SimpleString:
            case RespType.BulkString:
                if (RespReader.TryParseDouble(_bytes, out var parsed))
                {
                    return parsed;
                }
                break;
        }
        throw Unexpected("a number");
    }

    public bool AsBoolean() => Type switch
    {
        RespType.Boolean or RespType.Integer => _integer != 0,
        RespType.SimpleString => Span.SequenceEqual("OK"u8),
        _ => throw Unexpected("a boolean"),
    };

    /// <summary>Throws <see cref="RedisServerException"/> when this is an error reply.</summary>
    public RespValue ThrowIfError()
    {
        if (IsError)
        {
            throw new RedisServerException(AsString() ?? "ERR");
        }
        return this;
    }

    public RedisUnexpectedReplyException Unexpected(string expected) =>
        new($"Expected {expected} but Redis replied {Type}{(_bytes is { Length: < 200 } ? $" '{Encoding.UTF8.GetString(_bytes)}'" : "")}.");

    public override string ToString() => IsAggregate
        ? $"{Type}[{Elements.Count}]"
        : $"{Type}: {AsString()}";
}
