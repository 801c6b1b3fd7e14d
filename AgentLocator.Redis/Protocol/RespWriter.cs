using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace AgentLocator.Redis.Protocol;

/// <summary>Writes commands as RESP arrays of bulk strings (the only request form Redis needs).</summary>
public static class RespWriter
{
    public static void WriteCommand(IBufferWriter<byte> output, ReadOnlySpan<object> args)
    {
        if (args.Length == 0)
        {
            throw new ArgumentException("A command needs at least its name.", nameof(args));
        }
        WriteHeader(output, (byte)'*', args.Length);
        foreach (var arg in args)
        {
            WriteArgument(output, arg);
        }
    }

    public static void WriteArgument(IBufferWriter<byte> output, object arg)
    {
        switch (arg)
        {
            case string s:
                {
                    var length = Encoding.UTF8.GetByteCount(s);
                    WriteHeader(output, (byte)'$', length);
                    var span = output.GetSpan(length + 2);
                    Encoding.UTF8.GetBytes(s, span);
                    span[length] = (byte)'\r';
                    span[length + 1] = (byte)'\n';
                    output.Advance(length + 2);
                    break;
                }
            case byte[] bytes:
                WriteBulk(output, bytes);
                break;
            case ReadOnlyMemory<byte> memory:
                WriteBulk(output, memory.Span);
                break;
            case Memory<byte> memory:
                WriteBulk(output, memory.Span);
                break;
            case int i:
                WriteInteger(output, i);
                break;
            case long l:
                WriteInteger(output, l);
                break;
            case double d:
                WriteBulk(output, Encoding.ASCII.GetBytes(FormatDouble(d)));
                break;
            case bool b:
                WriteInteger(output, b ? 1 : 0);
                break;
            case IFormattable formattable:
                WriteArgument(output, formattable.ToString(null, CultureInfo.InvariantCulture));
                break;
            case null:
                throw new ArgumentNullException(nameof(arg), "Redis command arguments cannot be null.");
            default:
                WriteArgument(output, arg.ToString() ?? "");
                break;
        }
    }

    internal static string FormatDouble(double value) => value switch
    {
        double.PositiveInfinity => "+inf",
        double.NegativeInfinity => "-inf",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static void WriteBulk(IBufferWriter<byte> output, ReadOnlySpan<byte> payload)
    {
        WriteHeader(output, (byte)'$', payload.Length);
        var span = output.GetSpan(payload.Length + 2);
        payload.CopyTo(span);
        span[payload.Length] = (byte)'\r';
        span[payload.Length + 1] = (byte)'\n';
        output.Advance(payload.Length + 2);
    }

    private static void WriteInteger(IBufferWriter<byte> output, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var written);
        WriteBulk(output, digits[..written]);
    }

    private static void WriteHeader(IBufferWriter<byte> output, byte prefix, long length)
    {
        var span = output.GetSpan(24);
        span[0] = prefix;
        Utf8Formatter.TryFormat(length, span[1..], out var written);
        span[written + 1] = (byte)'\r';
        span[written + 2] = (byte)'\n';
        output.Advance(written + 3);
    }
}
