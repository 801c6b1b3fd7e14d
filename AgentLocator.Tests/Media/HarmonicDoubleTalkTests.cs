using AgentLocator.Media;

namespace AgentLocator.Tests.Media;

/// <summary>
/// <see cref="HarmonicDoubleTalk"/> on voiced sounds made here (harmonics of a pitch up to 3.4 kHz, each a little softer): 20 frames of
/// the inbound audio against the bot's audio at the echo's delay.
/// </summary>
public sealed class HarmonicDoubleTalkTests
{
    private const int Frames = 20;
    private const int Frame = HarmonicDoubleTalk.FrameSamples;

    /// <summary>Samples of the bot's audio the check is given: the window, the frames before and after it, the longest lag before that.</summary>
    private static readonly int ReferenceLength = (HarmonicDoubleTalk.TailFrames + Frames + HarmonicDoubleTalk.LeadFrames) * Frame + HarmonicDoubleTalk.MaxLag;

    /// <summary>A voiced sound at <paramref name="hz"/>, <paramref name="length"/> samples, at <paramref name="amplitude"/> (of its first harmonic).</summary>
    private static float[] Voiced(double hz, int length, float amplitude, double phase = 0)
    {
        var x = new float[length];
        for (var h = 1; h * hz < 3400; h++)
        {
            for (var n = 0; n < length; n++)
            {
                x[n] += amplitude / h * MathF.Sin((float)(2 * Math.PI * h * hz * n / 8000 + h * phase));
            }
        }

        return x;
    }

    /// <summary>The inbound window (the frames and the longest lag before them) that the bot's audio (aligned: the same samples) makes alone, plus <paramref name="caller"/>.</summary>
    private static float[] Inbound(float[] reference, float[]? caller = null)
    {
        var inbound = new float[Frames * Frame + HarmonicDoubleTalk.MaxLag];
        var from = HarmonicDoubleTalk.TailFrames * Frame; // the reference's window starts after its tail frames
        for (var n = 0; n < inbound.Length; n++)
        {
            inbound[n] = 0.5f * reference[from + n] + (caller is null ? 0 : caller[n]);
        }

        return inbound;
    }

    [Fact]
    public void TheBotsVoiceAloneIsNotForeign()
    {
        var reference = Voiced(120, ReferenceLength, 0.1f);

        var foreign = new HarmonicDoubleTalk().ForeignFrames(Inbound(reference), reference, Frames, after: true, minEnergy: 0);

        Assert.Equal(0, foreign);
    }

    /// <summary>A caller voiced at 100 Hz over the bot's silence (between its words) in the window's second half: every frame after the first of theirs continues a pitch the bot's audio lacks.</summary>
    [Fact]
    public void ACallerVoicedWhereTheBotIsSilentIsForeign()
    {
        var reference = Voiced(120, ReferenceLength, 0.1f);
        var silentFrom = (HarmonicDoubleTalk.TailFrames + Frames / 2 - 1) * Frame + HarmonicDoubleTalk.MaxLag; // a frame before the caller: its reverberation
        Array.Clear(reference, silentFrom, reference.Length - silentFrom);
        var caller = Voiced(100, Frames * Frame + HarmonicDoubleTalk.MaxLag, 0.1f);
        Array.Clear(caller, 0, Frames / 2 * Frame + HarmonicDoubleTalk.MaxLag);

        var foreign = new HarmonicDoubleTalk().ForeignFrames(Inbound(reference, caller), reference, Frames, after: true, minEnergy: 0);

        Assert.InRange(foreign, Frames / 2 - 2, Frames / 2 - 1);
    }

    /// <summary>
    /// What the test cannot tell: a caller over the bot's voice (12 dB louder, so their period is the frame's) at the bot's pitch, or an
    /// octave above it (the bot's period is a multiple of theirs: its echo, band-limited, may keep only higher harmonics). A voice a fifth
    /// above it repeats at neither: foreign.
    /// </summary>
    [Theory]
    [InlineData(120, false)]
    [InlineData(240, false)]
    [InlineData(180, true)]
    public void ACallerAtTheBotsPitchOrAnOctaveAboveItIsNotToldApart(double callerHz, bool foreign)
    {
        var reference = Voiced(120, ReferenceLength, 0.1f);
        var caller = Voiced(callerHz, Frames * Frame + HarmonicDoubleTalk.MaxLag, 0.2f, phase: 0.3);
        Array.Clear(caller, 0, Frames / 2 * Frame + HarmonicDoubleTalk.MaxLag);

        var frames = new HarmonicDoubleTalk().ForeignFrames(Inbound(reference, caller), reference, Frames, after: true, minEnergy: 0);

        Assert.InRange(frames, foreign ? Frames / 2 - 2 : 0, foreign ? Frames : 0);
    }
}
