using System.Buffers.Binary;
using System.Text;

namespace AgentLocator.Media;

/// <summary>
/// Reads and writes RIFF/WAVE files with PCM16 or mu-law samples. Unknown chunks (LIST, fact,
/// cue, …) are skipped; WAVE_FORMAT_EXTENSIBLE is understood.
/// </summary>
public static class WavFile
{
    private const ushort FormatPcm = 1;
    private const ushort FormatMuLaw = 7;
    private const ushort FormatExtensible = 0xFFFE;

    public static WavAudio Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream);
    }

    public static WavAudio Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return Parse(memory.GetBuffer().AsSpan(0, (int)memory.Length));
    }

    public static WavAudio Parse(ReadOnlySpan<byte> file)
    {
        if (file.Length < 12 || !file[..4].SequenceEqual("RIFF"u8) || !file.Slice(8, 4).SequenceEqual("WAVE"u8))
        {
            throw new InvalidDataException("Not a RIFF/WAVE file.");
        }

        WavEncoding? encoding = null;
        int sampleRate = 0, channels = 0;
        var position = 12;
        while (position + 8 <= file.Length)
        {
            var id = file.Slice(position, 4);
            var size = BinaryPrimitives.ReadUInt32LittleEndian(file.Slice(position + 4, 4));
            var body = position + 8;
            // Streamed writers leave 0xFFFFFFFF or a too-large size on the last chunk: clamp to what is there.
            var length = (int)Math.Min(size, (uint)(file.Length - body));

            if (id.SequenceEqual("fmt "u8))
            {
                if (length < 16)
                {
                    throw new InvalidDataException("The fmt chunk is too short.");
                }

                var fmt = file.Slice(body, length);
                var tag = BinaryPrimitives.ReadUInt16LittleEndian(fmt);
                channels = BinaryPrimitives.ReadUInt16LittleEndian(fmt[2..]);
                sampleRate = (int)BinaryPrimitives.ReadUInt32LittleEndian(fmt[4..]);
                var bits = BinaryPrimitives.ReadUInt16LittleEndian(fmt[14..]);
                if (tag == FormatExtensible && length >= 26)
                {
                    tag = BinaryPrimitives.ReadUInt16LittleEndian(fmt[24..]);
                }

                encoding = (tag, bits) switch
                {
                    (FormatPcm, 16) => WavEncoding.Pcm16,
                    (FormatMuLaw, 8) => WavEncoding.MuLaw,
                    _ => throw new NotSupportedException($"WAV format tag {tag} with {bits} bits per sample is not supported (PCM16 or mu-law only)."),
                };
            }
            else if (id.SequenceEqual("data"u8))
            {
                if (encoding is null)
                {
                    throw new InvalidDataException("The data chunk comes before the fmt chunk.");
                }

                if (channels < 1 || sampleRate < 1)
                {
                    throw new InvalidDataException("The fmt chunk has no channels or no sample rate.");
                }

                return new WavAudio
                {
                    Encoding = encoding.Value,
                    SampleRate = sampleRate,
                    Channels = channels,
                    Data = file.Slice(body, length).ToArray(),
                };
            }

            // Chunks are word-aligned: an odd size is followed by a pad byte.
            position = body + length + (length & 1);
        }

        throw new InvalidDataException("The file has no data chunk.");
    }

    public static void WritePcm16(Stream stream, ReadOnlySpan<short> samples, int sampleRate = 8000)
    {
        var data = new byte[samples.Length * 2];
        for (var i = 0; i < samples.Length; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(data.AsSpan(i * 2), samples[i]);
        }

        Write(stream, FormatPcm, 16, sampleRate, data);
    }

    public static void WriteMuLaw(Stream stream, ReadOnlySpan<byte> muLaw, int sampleRate = 8000) =>
        Write(stream, FormatMuLaw, 8, sampleRate, muLaw);

    private static void Write(Stream stream, ushort formatTag, ushort bitsPerSample, int sampleRate, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var blockAlign = (ushort)(bitsPerSample / 8);
        // Non-PCM formats carry a cbSize field (fmt size 18), as sox writes them.
        var fmtSize = formatTag == FormatPcm ? 16 : 18;
        var pad = data.Length & 1;
        Span<byte> header = stackalloc byte[12 + 8 + fmtSize + 8];
        Encoding.ASCII.GetBytes("RIFF", header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)(header.Length - 8 + data.Length + pad));
        Encoding.ASCII.GetBytes("WAVE", header[8..]);
        Encoding.ASCII.GetBytes("fmt ", header[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)fmtSize);
        BinaryPrimitives.WriteUInt16LittleEndian(header[20..], formatTag);
        BinaryPrimitives.WriteUInt16LittleEndian(header[22..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(header[28..], (uint)(sampleRate * blockAlign));
        BinaryPrimitives.WriteUInt16LittleEndian(header[32..], blockAlign);
        BinaryPrimitives.WriteUInt16LittleEndian(header[34..], bitsPerSample);
        var dataHeader = header[(20 + fmtSize)..];
        if (fmtSize == 18)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(header[36..], 0);
        }

        Encoding.ASCII.GetBytes("data", dataHeader);
        BinaryPrimitives.WriteUInt32LittleEndian(dataHeader[4..], (uint)data.Length);
        stream.Write(header);
        stream.Write(data);
        if (pad == 1)
        {
            stream.WriteByte(0);
        }
    }
}
