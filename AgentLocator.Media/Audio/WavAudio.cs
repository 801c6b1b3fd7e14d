using System.Buffers.Binary;

namespace AgentLocator.Media;

/// <summary>Mono audio read from or written to a WAV file.</summary>
public sealed class WavAudio
{
    public required WavEncoding Encoding { get; init; }

    public required int SampleRate { get; init; }

    public required int Channels { get; init; }

    /// <summary>The raw sample bytes of the <c>data</c> chunk.</summary>
    public required byte[] Data { get; init; }

    public int SampleCount => Encoding == WavEncoding.MuLaw ? Data.Length / Channels : Data.Length / 2 / Channels;

    public TimeSpan Duration => TimeSpan.FromTicks(SampleCount * TimeSpan.TicksPerSecond / SampleRate);

    /// <summary>The audio as 8 kHz mono mu-law (what a Media Stream carries).</summary>
    public byte[] ToMuLaw()
    {
        RequirePhoneFormat();
        return Encoding == WavEncoding.MuLaw ? (byte[])Data.Clone() : MuLaw.Encode(ToPcm16());
    }

    public short[] ToPcm16()
    {
        if (Channels != 1)
        {
            throw new NotSupportedException($"Only mono audio converts; this file has {Channels} channels.");
        }

        if (Encoding == WavEncoding.MuLaw)
        {
            return MuLaw.Decode(Data);
        }

        var pcm = new short[Data.Length / 2];
        for (var i = 0; i < pcm.Length; i++)
        {
            pcm[i] = BinaryPrimitives.ReadInt16LittleEndian(Data.AsSpan(i * 2));
        }

        return pcm;
    }

    private void RequirePhoneFormat()
    {
        if (SampleRate != 8000 || Channels != 1)
        {
            throw new NotSupportedException($"Phone audio is 8000 Hz mono; this file is {SampleRate} Hz with {Channels} channels (resample it with sox).");
        }
    }
}
