using AgentLocator.Media;
using AgentLocator.Testing.Audio;

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

    /// <summary>
    /// A first sound's 100 ms of voice repeat at its pitch frame after frame, the pitch gliding; a sound held at one period (hum, a note) does not count; a knock, a rustle of the handset or the line's noise at
    /// a voice's level repeat at no period: pink and white noise, 40 draws each, three 100 ms stretches, are never voiced enough for
    /// <see cref="BargeInListener.FirstSoundVoicedFrames"/> (pink noise, low-passed, tracks 1 frame in 3 of the 120 stretches).
    /// </summary>
    [Fact]
    public void AVoiceTracksItsPitchOverAFirstSoundAndNoiseDoesNot()
    {
        const int FirstSound = BargeInListener.FirstSoundFrames;
        var harmonic = new HarmonicDoubleTalk();
        var voice = Gliding(110, 125, FirstSound * Frame + HarmonicDoubleTalk.MaxLag, 0.05f); // 72.7 to 64 samples
        Assert.Equal(FirstSound - 1, harmonic.VoicedFrames(voice, FirstSound, minEnergy: 0));

        // Mains hum, a transformer's buzz, a held note, a phone's ring: one period throughout, no glide.
        foreach (var hz in new[] { 100.0, 110, 120, 147, 220 })
        {
            var held = harmonic.VoicedFrames(Voiced(hz, FirstSound * Frame + HarmonicDoubleTalk.MaxLag, 0.05f), FirstSound, minEnergy: 0);
            Assert.True(held < BargeInListener.FirstSoundVoicedFrames, $"a held {hz} Hz: {held} frames voiced");
        }

        for (var seed = 1; seed <= 40; seed++)
        {
            foreach (var noise in new[] { NoiseSignals.Pink(8 * 400, -35, seed), NoiseSignals.White(8 * 400, -35, seed) })
            {
                var samples = noise.Select(s => s / 32768f).ToArray();
                for (var from = 0; from + FirstSound * Frame + HarmonicDoubleTalk.MaxLag <= samples.Length; from += FirstSound * Frame)
                {
                    var voiced = harmonic.VoicedFrames(samples.AsSpan(from, FirstSound * Frame + HarmonicDoubleTalk.MaxLag), FirstSound, minEnergy: 0);
                    Assert.True(voiced < BargeInListener.FirstSoundVoicedFrames, $"noise seed {seed} at {from}: {voiced} frames voiced");
                }
            }
        }
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

    /// <summary>Samples of the bot's audio the combs are given: the window, the frames before it, the longest lag before that.</summary>
    private static readonly int CombReferenceLength = (HarmonicDoubleTalk.CombTailFrames + Frames) * Frame + HarmonicDoubleTalk.MaxLag;

    /// <summary>A voiced sound gliding from <paramref name="fromHz"/> to <paramref name="toHz"/> over <paramref name="length"/> samples (harmonics up to 3.4 kHz, each a little softer).</summary>
    private static float[] Gliding(double fromHz, double toHz, int length, float amplitude)
    {
        var x = new float[length];
        var phase = 0.0;
        for (var n = 0; n < length; n++)
        {
            var hz = fromHz + (toHz - fromHz) * n / length;
            phase += 2 * Math.PI * hz / 8000;
            for (var h = 1; h * hz < 3400; h++)
            {
                x[n] += amplitude / h * MathF.Sin((float)(h * phase));
            }
        }

        return x;
    }

    /// <summary>
    /// The inbound window with the combs' history (<see cref="HarmonicDoubleTalk.CombHistory"/>) that the bot's audio makes through a
    /// reverberant room (its copies 20, 40 and 60 ms later, each 6 dB softer: the pitch of earlier frames sounds on), plus <paramref name="caller"/>.
    /// </summary>
    private static float[] CombInbound(float[] reference, float[]? caller = null)
    {
        var inbound = new float[Frames * Frame + HarmonicDoubleTalk.CombHistory];
        var from = HarmonicDoubleTalk.CombTailFrames * Frame + HarmonicDoubleTalk.MaxLag - HarmonicDoubleTalk.CombHistory; // inbound[0] is reference[from]
        for (var n = 0; n < inbound.Length; n++)
        {
            var gain = 0.5f;
            for (var echo = 0; echo < 4; echo++, gain /= 2)
            {
                var r = from + n - echo * Frame;
                inbound[n] += r >= 0 && r < reference.Length ? gain * reference[r] : 0;
            }

            inbound[n] += caller?[n] ?? 0;
        }

        return inbound;
    }

    /// <summary>The bot's voice gliding 120 → 140 Hz through the window, alone in a reverberant room: the combs of its periods leave no voice of another's.</summary>
    [Fact]
    public void TheBotsGlidingVoiceInARoomLeavesNoOtherVoiceOnceCombed()
    {
        var reference = Gliding(120, 140, CombReferenceLength, 0.1f);

        var foreign = new HarmonicDoubleTalk().CombForeignFrames(CombInbound(reference), reference, Frames, minEnergy: 0);

        Assert.Equal(0, foreign);
    }

    /// <summary>
    /// A caller at 95 Hz at the echo's level (0.5 dB over it) over the bot's voice at 120–130 Hz in the window's second half, both voiced: the
    /// frames repeat at neither period well enough for the single-voice test (<see cref="HarmonicDoubleTalk.ForeignFrames"/> finds none), but
    /// once the bot's periods are combed out the caller's voice is what is left, and most of its frames continue its pitch from the one before
    /// (6 of 9; 3–9 for callers at 85–150 Hz from 4 dB under the echo to 2 dB over it).
    /// </summary>
    [Fact]
    public void ACallerVoicedOverTheBotsVoiceIsForeignOnceTheBotsPeriodsAreCombedOut()
    {
        var reference = Gliding(120, 130, CombReferenceLength, 0.1f);
        var caller = Voiced(95, Frames * Frame + HarmonicDoubleTalk.CombHistory, 0.05f, phase: 0.3);
        Array.Clear(caller, 0, Frames / 2 * Frame + HarmonicDoubleTalk.CombHistory);
        var inbound = CombInbound(reference, caller);
        var harmonic = new HarmonicDoubleTalk();

        var single = harmonic.ForeignFrames(inbound.AsSpan(HarmonicDoubleTalk.CombHistory - HarmonicDoubleTalk.MaxLag),
            reference.AsSpan((HarmonicDoubleTalk.CombTailFrames - HarmonicDoubleTalk.TailFrames) * Frame), Frames, after: false, minEnergy: 0);
        var combed = harmonic.CombForeignFrames(inbound, reference, Frames, minEnergy: 0);

        Assert.Equal(0, single);
        Assert.InRange(combed, Frames / 2 - 5, Frames / 2 - 1);
    }

    /// <summary>What the combs cannot tell: a caller at the bot's pitch is combed out with its echo.</summary>
    [Fact]
    public void ACallerAtTheBotsPitchIsCombedOutWithTheEcho()
    {
        var reference = Voiced(120, CombReferenceLength, 0.1f);
        var caller = Voiced(120, Frames * Frame + HarmonicDoubleTalk.CombHistory, 0.05f, phase: 0.3);
        Array.Clear(caller, 0, Frames / 2 * Frame + HarmonicDoubleTalk.CombHistory);

        var foreign = new HarmonicDoubleTalk().CombForeignFrames(CombInbound(reference, caller), reference, Frames, minEnergy: 0);

        Assert.Equal(0, foreign);
    }
}
