using AgentLocator.Media;
using AgentLocator.Testing.Audio;
using AgentLocator.Tests.RealTime;
using Xunit.Abstractions;

namespace AgentLocator.Tests.Media;

/// <summary>
/// The residual echo suppressor behind the frequency-domain adaptive filter, on a speakerphone in a room
/// (<see cref="EchoPathModel.Room"/>, 6 dB down, mu-law both ways, −65 dBFS line noise): of the echo alone the filter
/// leaves 10–15 dB under the echo, which the suppressor takes down to 23–24 dB under it; of a caller at the echo's level it keeps
/// most of their voice, band by band where the echo left the line clean.
/// </summary>
public sealed class ResidualEchoSuppressorTests(ITestOutputHelper output)
{
    private const double EchoGain = 0.5;

    private static byte[] Prompt(string key) => RealTimeScenarios.Prompts[key].MuLaw.ToArray();

    /// <summary>The receptionist's questions back to back (about 8 s), the bot's audio as scheduled.</summary>
    private static byte[] Speech => [.. Prompt(PromptKeys.AskName), .. Prompt(PromptKeys.AskReason), .. Prompt(PromptKeys.AskCallbackTime),
        .. Prompt(PromptKeys.AskName), .. Prompt(PromptKeys.AskReason)];

    /// <summary>Per 20 ms frame: the line's echo, the caller, the filter's residual and what the suppressor keeps of it (energies).</summary>
    private sealed record Frames(double[] Echo, double[] Caller, double[] Residual, double[] Kept, bool[] Converged);

    /// <summary>The bot's speech with its room echo <paramref name="delay"/> late and a caller from <paramref name="callerAt"/>; the filter started at the delay as the canceller's search estimates it.</summary>
    private static Frames Simulate(int roomSeed, int delay, byte[]? caller = null, int callerAt = 0)
    {
        var reference = MuLaw.Decode(Speech);
        var room = EchoPathModel.Room(roomSeed, rt60Ms: null, clipDrive: 2);
        room.Calibrate(reference);
        var speaker = room.Loudspeaker(reference);
        var length = (reference.Length + delay + room.Tail + 8000) / 160 * 160;
        var noise = NoiseSignals.White(8000, -65, roomSeed);
        var callerPcm = caller is null ? [] : MuLaw.Decode(caller);
        var line = new short[length];
        var echo = new double[length];
        var voice = new double[length];
        for (var n = 0; n < length; n++)
        {
            echo[n] = EchoGain * room.Echo(speaker, n - delay, reference.Length);
            voice[n] = n >= callerAt && n - callerAt < callerPcm.Length ? callerPcm[n - callerAt] : 0;
            line[n] = (short)Math.Clamp(Math.Round(noise[n % noise.Length] + echo[n] + voice[n]), short.MinValue, short.MaxValue);
        }

        var inbound = MuLaw.Decode(MuLaw.Encode(line));
        var bot = new short[length];
        reference.CopyTo(bot, 0);
        bot = MuLaw.Decode(MuLaw.Encode(bot));
        var filter = new PartitionedEchoFilter();
        filter.Start(delay + 24);
        var suppressor = new ResidualEchoSuppressor();
        var (y, r, e) = (new float[160], new float[160], new float[160]);
        var (recentResidual, recentEcho) = (new float[ResidualEchoSuppressor.FftSize], new float[ResidualEchoSuppressor.FftSize]);
        var frames = new Frames(new double[length / 160], new double[length / 160], new double[length / 160], new double[length / 160], new bool[length / 160]);
        for (var f = 0; f < length / 160; f++)
        {
            for (var i = 0; i < 160; i++)
            {
                y[i] = inbound[f * 160 + i] / 32768f;
                r[i] = bot[f * 160 + i] / 32768f;
                frames.Echo[f] += echo[f * 160 + i] * echo[f * 160 + i] / (32768.0 * 32768.0);
                frames.Caller[f] += voice[f * 160 + i] * voice[f * 160 + i] / (32768.0 * 32768.0);
            }

            filter.Process(y, r, e);
            frames.Residual[f] = filter.ResidualEnergy;
            frames.Converged[f] = filter.Converged;
            if (filter.Converged)
            {
                filter.Recent(recentResidual, recentEcho);
                suppressor.Process(recentResidual, recentEcho, learn: filter.Aligned && filter.ResidualEnergy <= ResidualEchoSuppressor.LearnShare * filter.EchoEnergy);
            }

            frames.Kept[f] = filter.Converged ? suppressor.Gain * suppressor.Gain * filter.ResidualEnergy : filter.ResidualEnergy;
        }

        return frames;
    }

    private static double Db(double energy) => 10 * Math.Log10(energy + 1e-12);

    /// <summary>The frames from <paramref name="from"/> on (samples) where <paramref name="where"/> holds.</summary>
    private static int[] FramesWhere(Frames frames, int from, Func<int, bool> where) =>
        Enumerable.Range(from / 160, frames.Echo.Length - from / 160).Where(where).ToArray();

    [Theory]
    [InlineData(1, 1600)]
    [InlineData(2, 2560)]
    [InlineData(3, 960)]
    [InlineData(4, 3600)]
    public void OfTheRoomsEchoAloneItKeeps20DbUnderTheEchoWhereTheFilterLeaves10To15(int roomSeed, int delay)
    {
        var run = Simulate(roomSeed, delay);

        // The frames with a clear echo (above −45 dBFS) from 3 s on.
        var echoFrames = FramesWhere(run, delay + 3 * 8000, f => run.Converged[f] && run.Echo[f] > 160 * 3.16e-5);
        var echo = echoFrames.Sum(f => run.Echo[f]);
        var left = Db(echoFrames.Sum(f => run.Residual[f])) - Db(echo);
        var kept = Db(echoFrames.Sum(f => run.Kept[f])) - Db(echo);
        output.WriteLine($"{echoFrames.Length} frames of echo: the filter leaves {left:F1} dB, the suppressor keeps {kept:F1} dB of the echo");
        Assert.True(echoFrames.Length > 100, $"{echoFrames.Length} frames with echo once the filter converged");
        Assert.True(kept <= -20 && kept <= left - 8, $"kept {kept:F1} dB of the echo; the filter left {left:F1} dB");
    }

    [Theory]
    [InlineData(1, 1600)]
    [InlineData(3, 960)]
    public void OfACallerAtTheEchosLevelItKeepsMostOfTheirVoice(int roomSeed, int delay)
    {
        var answer = RealTimeLineScenarios.AnswerAtEchoLevel;
        var callerAt = delay + 4 * 8000;
        var run = Simulate(roomSeed, delay, answer, callerAt);

        // The caller's voiced frames (above −45 dBFS) over the echo: what the suppressor keeps against their own level.
        var voiced = FramesWhere(run, callerAt, f => run.Caller[f] > 160 * 3.16e-5 && run.Echo[f] > 160 * 3.16e-5).ToArray();
        var said = Db(voiced.Sum(f => run.Caller[f]));
        var kept = Db(voiced.Sum(f => run.Kept[f]));
        var heardFrames = voiced.Count(f => run.Kept[f] >= run.Caller[f] / 4);
        output.WriteLine($"{voiced.Length} frames of the caller over the echo: caller {said - Db(160):F1} dBFS, kept {kept - Db(160):F1} dBFS; {heardFrames} frames kept within 6 dB of the caller");
        Assert.True(voiced.Length > 20, $"{voiced.Length} frames of the caller over the echo");
        Assert.InRange(kept - said, -4, 3);
        Assert.True(heardFrames >= 0.6 * voiced.Length, $"{heardFrames} of {voiced.Length} frames kept within 6 dB of the caller");
    }

    [Fact]
    public void NothingIsAllocatedPerFrame()
    {
        var suppressor = new ResidualEchoSuppressor();
        var residual = new float[ResidualEchoSuppressor.FftSize];
        var echo = new float[ResidualEchoSuppressor.FftSize];
        var random = new Random(1);
        for (var i = 0; i < echo.Length; i++)
        {
            echo[i] = (float)(random.NextDouble() - 0.5) * 0.2f;
            residual[i] = (float)(random.NextDouble() - 0.5) * 0.05f;
        }

        for (var frame = 0; frame < 50; frame++)
        {
            suppressor.Process(residual, echo, learn: frame % 2 == 0);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var frame = 0; frame < 500; frame++)
        {
            suppressor.Process(residual, echo, learn: frame % 2 == 0);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }
}
