using System.Buffers;
using System.Globalization;
using System.Text;
using AgentLocator.Redis;
using AgentLocator.Redis.Protocol;

namespace AgentLocator.Tests.Redis;

public class RespReaderTests
{
    public static TheoryData<string, string> EveryReplyType => new()
    {
        { "+OK\r\n", "+OK" },
        { "-ERR unknown command 'FOO'\r\n", "-ERR unknown command 'FOO'" },
        { ":1000\r\n", ":1000" },
        { ":-42\r\n", ":-42" },
        { "$5\r\nhello\r\n", "$hello" },
        { "$0\r\n\r\n", "$" },
        { "$4\r\na\r\nb\r\n", "$a\r\nb" },
        { "$-1\r\n", "_" },
        { "*-1\r\n", "_" },
        { "_\r\n", "_" },
        { ",3.25\r\n", ",3.25" },
        { ",-1.5e3\r\n", ",-1500" },
        { ",inf\r\n", ",+inf" },
        { ",-inf\r\n", ",-inf" },
        { "#t\r\n", "#t" },
        { "#f\r\n", "#f" },
        { "(3492890328409238509324850943850943825024385\r\n", "(3492890328409238509324850943850943825024385" },
        { "!21\r\nSYNTAX invalid syntax\r\n", "!SYNTAX invalid syntax" },
        { "=15\r\ntxt:Some string\r\n", "=txt:Some string" },
        { "*0\r\n", "*[]" },
        { "*2\r\n$3\r\nfoo\r\n:1\r\n", "*[$foo,:1]" },
        { "*2\r\n*1\r\n+a\r\n*0\r\n", "*[*[+a],*[]]" },
        { "*3\r\n$1\r\na\r\n$-1\r\n_\r\n", "*[$a,_,_]" },
        { "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", "%[+first,:1,+second,:2]" },
        { "~2\r\n+a\r\n+b\r\n", "~[+a,+b]" },
        { ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", ">[$message,$ch,$hi]" },
        { "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n:7\r\n", ":7" },
        { "*2\r\n|1\r\n+ttl\r\n:3\r\n:1\r\n:2\r\n", "*[:1,:2]" },
    };

    [Theory]
    [MemberData(nameof(EveryReplyType))]
    public void ReplyFedWholeIsDecodedAndConsumed(string wire, string expected)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(wire));

        Assert.True(RespReader.TryRead(ref buffer, out var value));

        Assert.Equal(expected, Describe(value));
        Assert.Equal(0, buffer.Length);
    }

    [Theory]
    [MemberData(nameof(EveryReplyType))]
    public void ReplyInOneByteSegmentsIsDecodedLikeWhole(string wire, string expected)
    {
        var buffer = OneByteSegments(Encoding.UTF8.GetBytes(wire + "+next\r\n"));

        Assert.True(RespReader.TryRead(ref buffer, out var value));
        Assert.Equal(expected, Describe(value));
        Assert.True(RespReader.TryRead(ref buffer, out var next));
        Assert.Equal("+next", Describe(next));
        Assert.Equal(0, buffer.Length);
    }

    [Theory]
    [MemberData(nameof(EveryReplyType))]
    public void ReplyArrivingOneByteAtATimeNeedsMoreDataUntilTheLastByte(string wire, string expected)
    {
        var bytes = Encoding.UTF8.GetBytes(wire);
        for (var length = 0; length < bytes.Length; length++)
        {
            var truncated = OneByteSegments(bytes[..length]);
            Assert.False(RespReader.TryRead(ref truncated, out _), $"a {length}-byte prefix of {Escape(wire)} was read as complete");
            Assert.Equal(length, truncated.Length);

            var contiguous = new ReadOnlySequence<byte>(bytes[..length]);
            Assert.False(RespReader.TryRead(ref contiguous, out _));
            Assert.Equal(length, contiguous.Length);
        }

        var whole = new ReadOnlySequence<byte>(bytes);
        Assert.True(RespReader.TryRead(ref whole, out var value));
        Assert.Equal(expected, Describe(value));
    }

    [Fact]
    public void SeveralRepliesInOneBufferAreReadInOrder()
    {
        var buffer = new ReadOnlySequence<byte>("+OK\r\n:2\r\n$1\r\nx\r\n+partial"u8.ToArray());

        Assert.True(RespReader.TryRead(ref buffer, out var first));
        Assert.True(RespReader.TryRead(ref buffer, out var second));
        Assert.True(RespReader.TryRead(ref buffer, out var third));
        Assert.False(RespReader.TryRead(ref buffer, out _));

        Assert.Equal(["+OK", ":2", "$x"], new[] { Describe(first), Describe(second), Describe(third) });
        Assert.Equal("+partial", Encoding.ASCII.GetString(buffer.ToArray()));
    }

    [Theory]
    [InlineData("?what\r\n")]
    [InlineData("$abc\r\n")]
    [InlineData(":12a\r\n")]
    [InlineData(":\r\n")]
    [InlineData("$3\r\nabcXY")]
    [InlineData("#x\r\n")]
    [InlineData("*-2\r\n")]
    [InlineData("!-1\r\n")]
    [InlineData(",abc\r\n")]
    [InlineData("_x\r\n")]
    [InlineData("=2\r\nab\r\n")]
    public void BytesThatAreNotRespAreAProtocolError(string wire)
    {
        var buffer = new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(wire));

        Assert.Throws<RedisProtocolException>(() => RespReader.TryRead(ref buffer, out _));
    }

    [Fact]
    public void NestingDeeperThanTheLimitIsAProtocolError()
    {
        var wire = string.Concat(Enumerable.Repeat("*1\r\n", RespReader.MaxDepth + 2)) + ":1\r\n";
        var buffer = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(wire));

        Assert.Throws<RedisProtocolException>(() => RespReader.TryRead(ref buffer, out _));
    }

    [Fact]
    public void HeaderWithoutCrLfBeyondTheLineLimitIsAProtocolError()
    {
        var bytes = new byte[RespReader.MaxLineLength + 10];
        bytes.AsSpan().Fill((byte)'a');
        bytes[0] = (byte)'+';
        var buffer = new ReadOnlySequence<byte>(bytes);

        Assert.Throws<RedisProtocolException>(() => RespReader.TryRead(ref buffer, out _));
    }

    [Fact]
    public void WriterProducesTheCanonicalCommandArray()
    {
        var output = new ArrayBufferWriter<byte>();

        RespWriter.WriteCommand(output, new object[] { "SET", "k", 12L, 1.5, "שלום"u8.ToArray() });

        Assert.Equal("*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n$3\r\n1.5\r\n$8\r\nשלום\r\n",
            Encoding.UTF8.GetString(output.WrittenSpan));
    }

    internal static string Describe(RespValue value) => value.Type switch
    {
        RespType.SimpleString => "+" + value.AsString(),
        RespType.Error => "-" + value.AsString(),
        RespType.Integer => ":" + value.AsInt64().ToString(CultureInfo.InvariantCulture),
        RespType.BulkString => "$" + value.AsString(),
        RespType.Null => "_",
        RespType.Double => "," + (double.IsPositiveInfinity(value.AsDouble()) ? "+inf" : double.IsNegativeInfinity(value.AsDouble()) ? "-inf" : value.AsDouble().ToString(CultureInfo.InvariantCulture)),
        RespType.Boolean => value.AsBoolean() ? "#t" : "#f",
        RespType.BigNumber => "(" + value.AsString(),
        RespType.BulkError => "!" + value.AsString(),
        RespType.VerbatimString => "=" + value.VerbatimFormat + ":" + value.AsString(),
        RespType.Array => "*[" + string.Join(",", value.Elements.Select(Describe)) + "]",
        RespType.Map => "%[" + string.Join(",", value.Elements.Select(Describe)) + "]",
        RespType.Set => "~[" + string.Join(",", value.Elements.Select(Describe)) + "]",
        RespType.Push => ">[" + string.Join(",", value.Elements.Select(Describe)) + "]",
        _ => throw new ArgumentOutOfRangeException(nameof(value)),
    };

    private static string Escape(string wire) => wire.Replace("\r", "\\r").Replace("\n", "\\n");

    internal static ReadOnlySequence<byte> OneByteSegments(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }
        var first = new Segment(bytes.AsMemory(0, 1), 0);
        var last = first;
        for (var i = 1; i < bytes.Length; i++)
        {
            last = last.Append(bytes.AsMemory(i, 1));
        }
        return new ReadOnlySequence<byte>(first, 0, last, 1);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
