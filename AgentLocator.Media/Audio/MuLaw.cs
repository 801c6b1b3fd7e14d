namespace AgentLocator.Media;

/// <summary>
/// G.711 mu-law codec for 8 kHz telephone audio (the Twilio Media Streams payload format).
/// Encoding uses bias 0x84 and clips magnitudes at 32635; decoding yields values in ±32124,
/// with both 0xFF and 0x7F decoding to 0. Both directions are table lookups.
/// </summary>
public static class MuLaw
{
    /// <summary>The mu-law byte for digital silence (decodes to 0).</summary>
    public const byte Silence = 0xFF;

    /// <summary>Largest magnitude <see cref="Decode(byte)"/> returns.</summary>
    public const short MaxDecodedMagnitude = 32124;

    private const int Bias = 0x84;
    private const int Clip = 32635;

    private static readonly short[] DecodeTable = BuildDecodeTable();

    // One byte per 16-bit input (indexed by the sample reinterpreted as ushort): 64 KiB, built once.
    private static readonly byte[] EncodeTable = BuildEncodeTable();

    public static short Decode(byte muLaw) => DecodeTable[muLaw];

    public static byte Encode(short sample) => EncodeTable[(ushort)sample];

    /// <summary>Decodes <paramref name="source"/> into <paramref name="destination"/> (at least as long).</summary>
    public static void Decode(ReadOnlySpan<byte> source, Span<short> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("The destination is shorter than the source.", nameof(destination));
        }

        var table = DecodeTable;
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = table[source[i]];
        }
    }

    /// <summary>Encodes <paramref name="source"/> into <paramref name="destination"/> (at least as long).</summary>
    public static void Encode(ReadOnlySpan<short> source, Span<byte> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("The destination is shorter than the source.", nameof(destination));
        }

        var table = EncodeTable;
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = table[(ushort)source[i]];
        }
    }

    public static short[] Decode(ReadOnlySpan<byte> source)
    {
        var pcm = new short[source.Length];
        Decode(source, pcm);
        return pcm;
    }

    public static byte[] Encode(ReadOnlySpan<short> source)
    {
        var muLaw = new byte[source.Length];
        Encode(source, muLaw);
        return muLaw;
    }

    /// <summary>The classic bit-level encoder (CCITT G.711, Sun reference): only used to build the table.</summary>
    private static byte EncodeSlow(int sample)
    {
        var sign = sample < 0 ? 0x80 : 0;
        var magnitude = sample < 0 ? -sample : sample;
        if (magnitude > Clip)
        {
            magnitude = Clip;
        }

        magnitude += Bias;
        var exponent = 7;
        for (var mask = 0x4000; (magnitude & mask) == 0 && exponent > 0; mask >>= 1)
        {
            exponent--;
        }

        var mantissa = (magnitude >> (exponent + 3)) & 0x0F;
        return (byte)~(sign | (exponent << 4) | mantissa);
    }

    private static short DecodeSlow(byte muLaw)
    {
        var u = ~muLaw & 0xFF;
        var magnitude = (((u & 0x0F) << 3) + Bias) << ((u & 0x70) >> 4);
        return (short)((u & 0x80) != 0 ? Bias - magnitude : magnitude - Bias);
    }

    private static short[] BuildDecodeTable()
    {
        var table = new short[256];
        for (var i = 0; i < 256; i++)
        {
            table[i] = DecodeSlow((byte)i);
        }

        return table;
    }

    private static byte[] BuildEncodeTable()
    {
        var table = new byte[65536];
        for (var i = 0; i < 65536; i++)
        {
            table[i] = EncodeSlow((short)(ushort)i);
        }

        return table;
    }
}
