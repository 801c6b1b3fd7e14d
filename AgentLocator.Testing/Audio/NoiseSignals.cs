using AgentLocator.Media;

namespace AgentLocator.Testing.Audio;

/// <summary>
/// Line noise for tests and benchmarks (8 kHz PCM16), reproducible by seed: white, pink (1/f, Paul
/// Kellet's filter), and babble (several talkers at once, each looped from a random offset).
/// </summary>
public static class NoiseSignals
{
    public const int SampleRate = 8000;

    public static short[] White(int samples, double rmsDbfs, int seed)
    {
        var random = new Random(seed);
        var noise = new double[samples];
        for (var i = 0; i < noise.Length; i++)
        {
            noise[i] = Gaussian(random);
        }

        return ToPcm(noise, rmsDbfs);
    }

    public static short[] Pink(int samples, double rmsDbfs, int seed)
    {
        var random = new Random(seed);
        var noise = new double[samples];
        double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
        for (var i = 0; i < noise.Length; i++)
        {
            var white = Gaussian(random);
            b0 = 0.99886 * b0 + white * 0.0555179;
            b1 = 0.99332 * b1 + white * 0.0750759;
            b2 = 0.96900 * b2 + white * 0.1538520;
            b3 = 0.86650 * b3 + white * 0.3104856;
            b4 = 0.55000 * b4 + white * 0.5329522;
            b5 = -0.7616 * b5 - white * 0.0168980;
            noise[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + white * 0.5362;
            b6 = white * 0.115926;
        }

        return ToPcm(noise, rmsDbfs);
    }

    /// <summary><paramref name="talkers"/> voices at once, each a random utterance of <paramref name="speech"/> looped from a random offset, each at the same level.</summary>
    public static short[] Babble(IReadOnlyList<short[]> speech, int talkers, int samples, double rmsDbfs, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfZero(speech.Count);
        var random = new Random(seed);
        var mix = new double[samples];
        for (var t = 0; t < talkers; t++)
        {
            // Each talker strings utterances together with short pauses, starting mid-utterance.
            var position = 0;
            var first = true;
            while (position < samples)
            {
                var utterance = speech[random.Next(speech.Count)];
                var offset = first ? random.Next(utterance.Length) : 0;
                first = false;
                var gain = 1.0 / Math.Max(1, ActiveRms(utterance));
                for (var i = offset; i < utterance.Length && position < samples; i++, position++)
                {
                    mix[position] += utterance[i] * gain;
                }

                position += random.Next(SampleRate / 20, SampleRate / 4);
            }
        }

        return ToPcm(mix, rmsDbfs);
    }

    /// <summary>The RMS of the frames within 40 dB of the loudest (the speech, not the pauses), in dBFS.</summary>
    public static double ActiveLevelDbfs(ReadOnlySpan<short> pcm) => 20 * Math.Log10(Math.Max(ActiveRms(pcm), 1e-9) / 32768);

    /// <summary>
    /// <paramref name="speech"/> with <paramref name="noise"/> (looped) added so that the speech's active level is
    /// <paramref name="snrDb"/> above the noise's RMS; the speech keeps its level.
    /// </summary>
    public static short[] MixAtSnr(ReadOnlySpan<short> speech, ReadOnlySpan<short> noise, double snrDb, int noiseOffset = 0)
    {
        var noiseDbfs = ActiveLevelDbfs(speech) - snrDb;
        var gain = Math.Pow(10, (noiseDbfs - RmsDbfs(noise)) / 20);
        var mixed = new short[speech.Length];
        for (var i = 0; i < mixed.Length; i++)
        {
            var n = noise[(i + noiseOffset) % noise.Length] * gain;
            mixed[i] = (short)Math.Clamp(Math.Round(speech[i] + n), short.MinValue, short.MaxValue);
        }

        return mixed;
    }

    public static double RmsDbfs(ReadOnlySpan<short> pcm)
    {
        double sum = 0;
        foreach (var s in pcm)
        {
            sum += (double)s * s;
        }

        return pcm.IsEmpty || sum == 0 ? AudioLevel.SilenceDbfs : 10 * Math.Log10(sum / pcm.Length / (32768.0 * 32768.0));
    }

    private static double ActiveRms(ReadOnlySpan<short> pcm)
    {
        const int frame = 160;
        var levels = new List<double>();
        for (var offset = 0; offset + frame <= pcm.Length; offset += frame)
        {
            double sum = 0;
            foreach (var s in pcm.Slice(offset, frame))
            {
                sum += (double)s * s;
            }

            levels.Add(sum / frame);
        }

        if (levels.Count == 0)
        {
            return 0;
        }

        var loudest = levels.Max();
        var active = levels.Where(l => l > loudest * 1e-4).ToList();
        return Math.Sqrt(active.Average());
    }

    private static short[] ToPcm(double[] signal, double rmsDbfs)
    {
        var sum = 0.0;
        foreach (var s in signal)
        {
            sum += s * s;
        }

        var rms = Math.Sqrt(sum / Math.Max(1, signal.Length));
        var gain = rms > 0 ? 32768 * Math.Pow(10, rmsDbfs / 20) / rms : 0;
        var pcm = new short[signal.Length];
        for (var i = 0; i < pcm.Length; i++)
        {
            pcm[i] = (short)Math.Clamp(Math.Round(signal[i] * gain), short.MinValue, short.MaxValue);
        }

        return pcm;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
