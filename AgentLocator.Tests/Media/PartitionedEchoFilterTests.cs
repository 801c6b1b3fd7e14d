using AgentLocator.Media;
using AgentLocator.Testing.Audio;
using AgentLocator.Tests.RealTime;
using Xunit.Abstractions;

namespace AgentLocator.Tests.Media;

/// <summary>
/// The frequency-domain adaptive filter alone, on a speakerphone in a room (<see cref="EchoPathModel.Room"/>: a
/// telephone-band loudspeaker with a resonance, a soft clip, 200–300 ms of reverberation) 6 dB down, mu-law both ways,
/// −65 dBFS line noise: started at the echo's delay as the canceller's search estimates it (to a few ms), it takes the
/// echo out of the waveform, keeps what it learned while a caller talks over the echo, and follows the echo when the
/// next reply comes back at another delay.
/// </summary>
public sealed class PartitionedEchoFilterTests(ITestOutputHelper output)
{
    private const double EchoGain = 0.5;

    private static byte[] Prompt(string key) => RealTimeScenarios.Prompts[key].MuLaw.ToArray();

    /// <summary>The receptionist's questions back to back (about 8 s), the bot's audio as scheduled.</summary>
    private static byte[] Speech => [.. Prompt(PromptKeys.AskName), .. Prompt(PromptKeys.AskReason), .. Prompt(PromptKeys.AskCallbackTime),
        .. Prompt(PromptKeys.AskName), .. Prompt(PromptKeys.AskReason)];

    private sealed record Run(float[] Inbound, float[] Residual, float[] Echo, bool[] Judged, PartitionedEchoFilter Filter);

    /// <summary>
    /// The bot's <paramref name="speech"/> played from sample 0 and again from <paramref name="secondAt"/> (when given), its room
    /// echo <paramref name="delay"/> late (<paramref name="secondDelay"/> for the second), a caller from <paramref name="callerAt"/>;
    /// the filter started at <paramref name="startDelay"/>.
    /// </summary>
    private static Run Simulate(int roomSeed, int delay, int startDelay, byte[]? caller = null, int callerAt = 0, int? secondAt = null, int secondDelay = 0)
    {
        var speech = Speech;
        var reference = MuLaw.Decode(speech);
        var room = EchoPathModel.Room(roomSeed, rt60Ms: null, clipDrive: 2);
        room.Calibrate(reference);
        var speaker = room.Loudspeaker(reference);
        var length = ((secondAt ?? 0) + reference.Length + Math.Max(delay, secondDelay) + room.Tail + 8000) / 160 * 160;
        var noise = NoiseSignals.White(8000, -65, roomSeed);
        var callerPcm = caller is null ? [] : MuLaw.Decode(caller);
        var bot = new short[length];
        var line = new short[length];
        var echo = new float[length];
        for (var n = 0; n < length; n++)
        {
            var e = EchoGain * room.Echo(speaker, n - delay, secondAt is { } s && n >= s + secondDelay ? Math.Min(reference.Length, s) : reference.Length);
            if (secondAt is { } second)
            {
                e += EchoGain * room.Echo(speaker, n - second - secondDelay, reference.Length);
                bot[n] = n < reference.Length && n < second ? reference[n] : n >= second && n - second < reference.Length ? reference[n - second] : (short)0;
            }
            else
            {
                bot[n] = n < reference.Length ? reference[n] : (short)0;
            }

            echo[n] = (float)(e / 32768);
            var sample = noise[n % noise.Length] + e + (n >= callerAt && n - callerAt < callerPcm.Length ? callerPcm[n - callerAt] : 0);
            line[n] = (short)Math.Clamp(Math.Round(sample), short.MinValue, short.MaxValue);
        }

        var inboundMuLaw = MuLaw.Encode(line);
        var botMuLaw = MuLaw.Encode(bot);
        var filter = new PartitionedEchoFilter();
        filter.Start(startDelay);
        var inbound = new float[length];
        var residual = new float[length];
        var judged = new bool[length / 160];
        var r = new float[160];
        for (var o = 0; o + 160 <= length; o += 160)
        {
            for (var i = 0; i < 160; i++)
            {
                inbound[o + i] = MuLaw.Decode(inboundMuLaw[o + i]) / 32768f;
                r[i] = MuLaw.Decode(botMuLaw[o + i]) / 32768f;
            }

            filter.Process(inbound.AsSpan(o, 160), r, residual.AsSpan(o, 160));
            judged[o / 160] = filter.Judges;
        }

        return new Run(inbound, residual, echo, judged, filter);
    }

    private static double Db(ReadOnlySpan<float> x)
    {
        double sum = 0;
        foreach (var v in x)
        {
            sum += v * v;
        }

        return 10 * Math.Log10(sum / x.Length + 1e-12);
    }

    private static double Erle(Run run, int from, int to) => Db(run.Inbound.AsSpan(from, to - from)) - Db(run.Residual.AsSpan(from, to - from));

    private static int SpeechLength => MuLaw.Decode(Speech).Length;

    [Theory]
    [InlineData(1, 1600)]
    [InlineData(2, 2560)]
    [InlineData(3, 960)]
    [InlineData(4, 3600)]
    public void ItTakesAtLeast10DbOutOfARoomsEchoWithinThreeSeconds(int roomSeed, int delay)
    {
        var run = Simulate(roomSeed, delay, startDelay: delay + 24); // the envelope search's estimate, 3 ms off

        var erle = Erle(run, delay + 3 * 8000, delay + SpeechLength);
        output.WriteLine($"ERLE {erle:F1} dB from 3 s on; the filter's typical {run.Filter.TypicalErleDb:F1} dB");
        Assert.True(erle >= 10, $"ERLE {erle:F1} dB");
        Assert.True(run.Filter.Converged);
        var (first, last) = ((delay + 3 * 8000) / 160, (delay + SpeechLength) / 160);
        Assert.True(run.Judged[first..last].Count(j => j) > 0.8 * (last - first),
            "the filter did not judge most frames of the echo once converged");
    }

    [Theory]
    [InlineData(1, 1600)]
    [InlineData(3, 960)]
    public void ACallerTalkingOverTheEchoForThreeSecondsNeitherPullsTheFilterOffTheEchoNorIsTakenOutWithIt(int roomSeed, int delay)
    {
        var caller = Caller(seconds: 3);
        var callerAt = delay + 4 * 8000;
        var quiet = Simulate(roomSeed, delay, startDelay: delay + 24);
        var run = Simulate(roomSeed, delay, startDelay: delay + 24, caller, callerAt);

        // After the caller: the echo is taken out as well as without them.
        var after = Erle(run, callerAt + caller.Length + 1600, delay + SpeechLength);
        var without = Erle(quiet, callerAt + caller.Length + 1600, delay + SpeechLength);
        // During: what is left is the caller (their own level, within 3 dB), not the caller taken out with the echo.
        var callerPcm = MuLaw.Decode(caller).Select(s => s / 32768f).ToArray();
        var heard = Db(run.Residual.AsSpan(callerAt, callerPcm.Length));
        var said = Db(callerPcm);
        output.WriteLine($"ERLE after the caller {after:F1} dB (without a caller {without:F1}); caller {said:F1} dBFS, residual while they talked {heard:F1} dBFS");
        Assert.True(after >= without - 3 && after >= 8, $"ERLE after the caller {after:F1} dB, without one {without:F1} dB");
        Assert.InRange(heard - said, -3, 3);
    }

    [Theory]
    [InlineData(2, 2000, 200)]
    [InlineData(4, 1200, -160)]
    public void WhenTheNextReplysEchoComesBackAtAnotherDelayTheFilterFindsTheShiftAndKeepsWhatItLearned(int roomSeed, int delay, int shift)
    {
        var secondAt = SpeechLength + 8 * 1500;
        var run = Simulate(roomSeed, delay, startDelay: delay + 24, secondAt: secondAt, secondDelay: delay + shift);

        var unmoved = Simulate(roomSeed, delay, startDelay: delay + 24, secondAt: secondAt, secondDelay: delay);

        var secondEcho = secondAt + delay + shift;
        var erle = Erle(run, secondEcho + 8000, secondEcho + 3 * 8000);
        var unmovedErle = Erle(unmoved, secondAt + delay + 8000, secondAt + delay + 3 * 8000);
        output.WriteLine($"shifts {run.Filter.Shifts}, bulk delay {run.Filter.DelaySamples}; second reply's ERLE from 1 s to 3 s in {erle:F1} dB (at the same delay {unmovedErle:F1} dB)");
        Assert.Equal(1, run.Filter.Shifts);
        Assert.Equal(0, unmoved.Filter.Shifts);
        Assert.Equal(delay + 24 + shift - PartitionedEchoFilter.Lead, run.Filter.DelaySamples); // moved by the shift, to the sample
        Assert.True(erle >= unmovedErle - 2, $"ERLE {erle:F1} dB on the second reply, {unmovedErle:F1} dB when it came back at the same delay");
        // It judges again within 500 ms of the second reply's echo.
        var judgedAgain = Array.FindIndex(run.Judged, secondEcho / 160, j => j) * 160 - secondEcho;
        Assert.InRange(judgedAgain, 0, 8 * 500);
    }

    /// <summary>
    /// A pause between two sentences of one reply (300 ms, the bot's audio silent) is not a gap between replies: the echo after it comes
    /// back on the same path, and the filter judges it from its first frames instead of holding off for a shift check (300 ms of
    /// the echo, which a caller who began in the pause spent under the level rule and the spectral check).
    /// </summary>
    [Theory]
    [InlineData(1, 1600)]
    [InlineData(3, 960)]
    public void AfterAPauseBetweenTwoSentencesTheFilterJudgesTheEchoAtOnce(int roomSeed, int delay)
    {
        var secondAt = SpeechLength + 8 * 300;
        var run = Simulate(roomSeed, delay, startDelay: delay + 24, secondAt: secondAt, secondDelay: delay);

        var secondEcho = (secondAt + delay) / 160;
        var judged = run.Judged[(secondEcho + 3)..(secondEcho + 25)].Count(j => j);
        output.WriteLine($"judged {judged} of the 22 frames from 60 to 500 ms into the echo after the pause; shifts {run.Filter.Shifts}");
        Assert.True(judged >= 18, $"the filter judged {judged} of 22 frames after the pause");
        Assert.Equal(0, run.Filter.Shifts);
    }

    /// <summary>
    /// Between two replies (the bot silent for longer than <see cref="PartitionedEchoFilter.GapBlocks"/> blocks beyond the filter's
    /// length), the next echo is checked for a shift before it is judged: its first 300 ms are not.
    /// </summary>
    [Fact]
    public void AfterAGapBetweenRepliesTheNextEchoIsCheckedBeforeItIsJudged()
    {
        const int delay = 1600;
        var secondAt = SpeechLength + 8 * 1200;
        var run = Simulate(1, delay, startDelay: delay + 24, secondAt: secondAt, secondDelay: delay);

        var secondEcho = (secondAt + delay) / 160;
        Assert.DoesNotContain(true, run.Judged[secondEcho..(secondEcho + 14)]);
        Assert.Contains(true, run.Judged[(secondEcho + 15)..(secondEcho + 50)]);
    }

    [Fact]
    public void NothingIsAllocatedPerFrame()
    {
        var filter = new PartitionedEchoFilter();
        filter.Start(800);
        var inbound = new float[160];
        var reference = new float[160];
        var residual = new float[160];
        var random = new Random(1);
        for (var frame = 0; frame < 200; frame++)
        {
            for (var i = 0; i < 160; i++)
            {
                reference[i] = (float)(random.NextDouble() - 0.5) * 0.2f;
                inbound[i] = (float)(random.NextDouble() - 0.5) * 0.1f;
            }

            filter.Process(inbound, reference, residual);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var frame = 0; frame < 500; frame++)
        {
            filter.Process(inbound, reference, residual);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    /// <summary>A caller at the echo's level (the test line's answer at echo level), repeated to <paramref name="seconds"/>.</summary>
    private static byte[] Caller(int seconds)
    {
        var answer = RealTimeLineScenarios.AnswerAtEchoLevel;
        var caller = new byte[seconds * 8000];
        for (var i = 0; i < caller.Length; i++)
        {
            caller[i] = answer[i % answer.Length];
        }

        return caller;
    }
}
