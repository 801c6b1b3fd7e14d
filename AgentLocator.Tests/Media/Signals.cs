using AgentLocator.Media;

namespace AgentLocator.Tests.Media;

/// <summary>Synthetic 8 kHz test signals, as PCM16 or mu-law.</summary>
internal static class Signals
{
    public const int SampleRate = 8000;

    public static short[] TonePcm(double hz, double rmsDbfs, int milliseconds)
    {
        var amplitude = 32768 * Math.Pow(10, rmsDbfs / 20) * Math.Sqrt(2);
        var samples = new short[SampleRate * milliseconds / 1000];
        for (var i = 0; i < samples.Length; i++)
        {
            samples[i] = (short)Math.Clamp(Math.Round(amplitude * Math.Sin(2 * Math.PI * hz * i / SampleRate)), short.MinValue, short.MaxValue);
        }

        return samples;
    }

    /// <summary>Gaussian white noise at an RMS level, reproducible by seed.</summary>
    public static short[] NoisePcm(double rmsDbfs, int milliseconds, int seed)
    {
        var random = new Random(seed);
        var sigma = 32768 * Math.Pow(10, rmsDbfs / 20);
        var samples = new short[SampleRate * milliseconds / 1000];
        for (var i = 0; i < samples.Length; i++)
        {
            var gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            samples[i] = (short)Math.Clamp(Math.Round(sigma * gaussian), short.MinValue, short.MaxValue);
        }

        return samples;
    }

    public static byte[] Tone(double hz, double rmsDbfs, int milliseconds) => MuLaw.Encode(TonePcm(hz, rmsDbfs, milliseconds));

    public static byte[] Noise(double rmsDbfs, int milliseconds, int seed) => MuLaw.Encode(NoisePcm(rmsDbfs, milliseconds, seed));

    public static byte[] Silence(int milliseconds) => Enumerable.Repeat(MuLaw.Silence, SampleRate * milliseconds / 1000).ToArray();

    /// <summary>Adds two PCM signals sample by sample (the shorter is zero-extended), with clipping.</summary>
    public static short[] Mix(short[] a, short[] b)
    {
        var mixed = new short[Math.Max(a.Length, b.Length)];
        for (var i = 0; i < mixed.Length; i++)
        {
            var sum = (i < a.Length ? a[i] : 0) + (i < b.Length ? b[i] : 0);
            mixed[i] = (short)Math.Clamp(sum, short.MinValue, short.MaxValue);
        }

        return mixed;
    }

    /// <summary>The signal preceded by <paramref name="milliseconds"/> of zeros.</summary>
    public static short[] Delay(short[] pcm, int milliseconds) => new short[SampleRate * milliseconds / 1000].Concat(pcm).ToArray();

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}

internal static class TestAudio
{
    public static string FixturesDirectory => Path.Combine(AppContext.BaseDirectory, "Fixtures", "audio");

    public static string Fixture(string name) => Path.Combine(FixturesDirectory, name);

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "AgentLocator.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new DirectoryNotFoundException("AgentLocator.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static string PromptsDirectory => Path.Combine(RepositoryRoot, "assets", "tts");
}
