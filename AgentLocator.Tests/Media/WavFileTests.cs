using System.Buffers.Binary;
using System.Text;
using AgentLocator.Media;

namespace AgentLocator.Tests.Media;

public class WavFileTests
{
    [Fact]
    public void Pcm16RoundTrips()
    {
        var pcm = Signals.TonePcm(440, -10, 100);
        using var stream = new MemoryStream();
        WavFile.WritePcm16(stream, pcm);
        stream.Position = 0;
        var wav = WavFile.Read(stream);
        Assert.Equal((WavEncoding.Pcm16, 8000, 1, pcm.Length), (wav.Encoding, wav.SampleRate, wav.Channels, wav.SampleCount));
        Assert.Equal(pcm, wav.ToPcm16());
        Assert.Equal(TimeSpan.FromMilliseconds(100), wav.Duration);
        Assert.Equal(MuLaw.Encode(pcm), wav.ToMuLaw());
    }

    [Fact]
    public void MuLawRoundTripsIncludingAnOddLength()
    {
        var muLaw = Signals.Tone(440, -10, 100)[..799];
        using var stream = new MemoryStream();
        WavFile.WriteMuLaw(stream, muLaw);
        Assert.Equal(0, stream.Length % 2);
        var wav = WavFile.Parse(stream.ToArray());
        Assert.Equal(WavEncoding.MuLaw, wav.Encoding);
        Assert.Equal(muLaw, wav.ToMuLaw());
    }

    [Fact]
    public void ExtraChunksBeforeTheDataAreSkipped()
    {
        var pcm = Signals.TonePcm(440, -10, 20);
        using var plain = new MemoryStream();
        WavFile.WritePcm16(plain, pcm);
        var bytes = plain.ToArray();
        // Insert an odd-sized LIST chunk (with its pad byte) between fmt and data.
        var list = new byte[8 + 5 + 1];
        Encoding.ASCII.GetBytes("LIST", list);
        BinaryPrimitives.WriteUInt32LittleEndian(list.AsSpan(4), 5);
        var withList = bytes[..36].Concat(list).Concat(bytes[36..]).ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(withList.AsSpan(4), (uint)(withList.Length - 8));
        Assert.Equal(pcm, WavFile.Parse(withList).ToPcm16());
    }

    [Fact]
    public void TheSoxWrittenFixturesAreEightKilohertzMonoMuLaw()
    {
        foreach (var path in Directory.GetFiles(TestAudio.FixturesDirectory, "*.wav"))
        {
            var wav = WavFile.Read(path);
            Assert.Equal((WavEncoding.MuLaw, 8000, 1), (wav.Encoding, wav.SampleRate, wav.Channels));
            Assert.InRange(wav.Duration.TotalSeconds, 0.8, 10.5); // up to the 8 s answer of the real-time tests, 10.1 s of an eval_line_* replay
        }

        // The caller clips the benchmarks take as their callers' answers; eval_* are excerpts of barge-in-eval's audio for one test each.
        Assert.Equal(6, Directory.GetFiles(TestAudio.FixturesDirectory, "caller_*_he.wav").Length);
    }

    [Theory]
    [InlineData("")]
    [InlineData("RIFF\0\0\0\0WAVX")]
    [InlineData("RIFF\u0004\0\0\0WAVE")]
    public void NonWaveInputIsRejectedWithAClearError(string content)
    {
        Assert.Throws<InvalidDataException>(() => WavFile.Parse(Encoding.Latin1.GetBytes(content)));
    }

    [Fact]
    public void OtherSampleFormatsAreNotSupported()
    {
        using var stream = new MemoryStream();
        WavFile.WritePcm16(stream, [1, 2, 3]);
        var bytes = stream.ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(34), 24);
        Assert.Throws<NotSupportedException>(() => WavFile.Parse(bytes));
    }
}
