using AgentLocator.Media;

namespace AgentLocator.Tests.Media;

public class MuLawTests
{
    /// <summary>
    /// G.711 §3 from first principles: the code's bits are inverted; sign bit, 3-bit segment e,
    /// 4-bit step m; the magnitude in 14-bit units is ((2m + 33)·2^e − 33), scaled by 4 to 16 bits.
    /// </summary>
    private static int ReferenceDecode(int code)
    {
        var inverted = ~code & 0xFF;
        var negative = (inverted & 0x80) != 0;
        var segment = (inverted >> 4) & 0x07;
        var step = inverted & 0x0F;
        var magnitude = (((2 * step) + 33) * (1 << segment) - 33) * 4;
        return negative ? -magnitude : magnitude;
    }

    [Fact]
    public void EveryCodeDecodesToTheValueTheG711FormulaDefines()
    {
        for (var code = 0; code < 256; code++)
        {
            Assert.Equal(ReferenceDecode(code), MuLaw.Decode((byte)code));
        }
    }

    [Fact]
    public void SilenceCodesDecodeToZeroAndTheExtremesToPlusMinus32124()
    {
        Assert.Equal(0, MuLaw.Decode(0xFF));
        Assert.Equal(0, MuLaw.Decode(0x7F));
        Assert.Equal(-32124, MuLaw.Decode(0x00));
        Assert.Equal(32124, MuLaw.Decode(0x80));
        Assert.Equal(MuLaw.Silence, MuLaw.Encode(0));
    }

    [Fact]
    public void EveryDecodedValueEncodesBackToItsCode()
    {
        for (var code = 0; code < 256; code++)
        {
            var expected = code == 0x7F ? 0xFF : code; // both zeros encode as the positive zero 0xFF
            Assert.Equal(expected, MuLaw.Encode(MuLaw.Decode((byte)code)));
        }
    }

    [Fact]
    public void RoundTripErrorOfEverySixteenBitSampleStaysWithinHalfItsSegmentStep()
    {
        for (int sample = short.MinValue; sample <= short.MaxValue; sample++)
        {
            var code = MuLaw.Encode((short)sample);
            var decoded = MuLaw.Decode(code);
            var segment = (~code >> 4) & 0x07;
            var halfStep = 4 << segment; // a step is 8·2^e in 16-bit units; the decoder returns the middle
            if (Math.Abs(sample) <= 32635)
            {
                Assert.True(Math.Abs(decoded - sample) <= halfStep, $"sample {sample} -> 0x{code:X2} -> {decoded}, error above {halfStep}");
            }
            else
            {
                Assert.Equal(Math.Sign(sample) * 32124, decoded);
            }

            Assert.True(decoded == 0 || Math.Sign(decoded) == Math.Sign(sample), $"sample {sample} changed sign ({decoded})");
        }
    }

    [Fact]
    public void EncodingIsMonotonicInTheDecodedDomain()
    {
        var previous = int.MinValue;
        for (int sample = short.MinValue; sample <= short.MaxValue; sample++)
        {
            var decoded = MuLaw.Decode(MuLaw.Encode((short)sample));
            Assert.True(decoded >= previous, $"decode(encode({sample})) = {decoded} < {previous}");
            previous = decoded;
        }
    }

    [Fact]
    public void SpanApisMatchTheScalarApisAndRejectShortDestinations()
    {
        var pcm = Signals.TonePcm(440, -12, 20);
        var encoded = new byte[pcm.Length];
        MuLaw.Encode(pcm, encoded);
        var decoded = new short[pcm.Length];
        MuLaw.Decode(encoded, decoded);
        for (var i = 0; i < pcm.Length; i++)
        {
            Assert.Equal(MuLaw.Encode(pcm[i]), encoded[i]);
            Assert.Equal(MuLaw.Decode(encoded[i]), decoded[i]);
        }

        Assert.Throws<ArgumentException>(() => MuLaw.Decode(encoded, new short[10]));
        Assert.Throws<ArgumentException>(() => MuLaw.Encode(pcm, new byte[10]));
    }

    [Fact]
    public void FrameLevelOfAFullScaleSineIsAboutMinusThreeDbfsAndSilenceIsTheFloor()
    {
        Assert.InRange(AudioLevel.Pcm16Dbfs(Signals.TonePcm(1000, -3, 20)), -3.2, -2.8);
        Assert.InRange(AudioLevel.MuLawDbfs(Signals.Tone(1000, -20, 20)), -20.5, -19.5);
        Assert.Equal(AudioLevel.SilenceDbfs, AudioLevel.MuLawDbfs(Signals.Silence(20)));
    }
}
