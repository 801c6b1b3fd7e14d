using System.Globalization;

namespace AgentLocator.Testing.Audio;

/// <summary>
/// How the bot's audio comes back on the line in the barge-in benchmark (barge-in-eval) and the barge-in tests, before the line's delay,
/// gain and noise. <c>direct</c>: a plain copy. <c>room</c>: a speakerphone in a room, built deterministically
/// from the seed: the loudspeaker (telephone band-pass, two 2nd-order high-passes at 300 Hz and a 2nd-order
/// low-pass at 3400 Hz, with a +6 dB resonance at 900–1800 Hz), a soft clip (<c>tanh(k·x)/k</c> on full scale,
/// k = <c>--echo-clip</c>, 0 for none), then a room impulse response: the direct path, 6 early reflections at
/// 2–20 ms (gain ±0.2–0.5), and a diffuse tail of a reflection every 0.5–2 ms of random sign, starting at 0.25
/// and decaying 60 dB over the RT60 (<c>--rt60</c> ms, drawn from 200–300 ms when not given). The result is
/// scaled so its active level is the plain copy's, so <c>--echo-db</c> means the same on both paths.
/// </summary>
public sealed class EchoPathModel
{
    private const int SampleRate = 8000;

    private readonly (int Delay, double Gain)[] taps;
    private readonly Biquad[] loudspeaker;
    private readonly double clip;

    private EchoPathModel(string name, (int, double)[] taps, Biquad[] loudspeaker, double clip, string description)
    {
        Name = name;
        this.taps = taps;
        this.loudspeaker = loudspeaker;
        this.clip = clip;
        Description = description;
    }

    public string Name { get; }

    public string Description { get; }

    /// <summary>Multiplies the echo so its active level matches the plain copy's (set by <see cref="Calibrate"/>).</summary>
    public double Normalization { get; private set; } = 1;

    /// <summary>How far the echo outlasts the audio played, in samples.</summary>
    public int Tail => taps[^1].Delay;

    public static EchoPathModel Direct() => new("direct", [(0, 1.0)], [], 0, "direct: a delayed, scaled copy of the bot's audio");

    public static EchoPathModel Room(int seed, double? rt60Ms, double clipDrive)
    {
        var random = new Random(seed + 2000); // its own draws, so the trials' draws stay as they were
        var drawnRt60 = 200 + random.NextDouble() * 100; // drawn either way, so --rt60 leaves the other draws as they were
        var rt60 = rt60Ms ?? drawnRt60;
        var resonance = 900 + random.NextDouble() * 900;
        var taps = new List<(int, double)> { (0, 1.0) };
        for (var i = 0; i < 6; i++)
        {
            var delay = (int)(SampleRate * (0.002 + random.NextDouble() * 0.018));
            taps.Add((delay, (random.Next(2) == 0 ? -1 : 1) * (0.2 + random.NextDouble() * 0.3)));
        }

        var tailEnd = (int)(rt60 / 1000 * SampleRate);
        for (var at = (int)(0.02 * SampleRate); at < tailEnd; at += random.Next(SampleRate / 2000, SampleRate / 500 + 1))
        {
            var decay = Math.Pow(10, -3.0 * at / tailEnd); // -60 dB at the RT60
            taps.Add((at, (random.Next(2) == 0 ? -1 : 1) * 0.25 * decay * (0.5 + random.NextDouble())));
        }

        taps.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        Biquad[] speaker = [Biquad.HighPass(300, 0.707), Biquad.HighPass(300, 0.707), Biquad.LowPass(3400, 0.707), Biquad.Peak(resonance, 1, 6)];
        var description = string.Create(CultureInfo.InvariantCulture,
            $"room: band-pass 300-3400 Hz with +6 dB at {resonance:F0} Hz, soft clip k={clipDrive}, room RT60 {rt60:F0} ms ({taps.Count} taps)");
        return new EchoPathModel("room", [.. taps], speaker, clipDrive, description);
    }

    /// <summary>Sets <see cref="Normalization"/> from the bot's audio: the echo's active level becomes the audio's.</summary>
    public void Calibrate(short[] bot)
    {
        var played = Loudspeaker(bot);
        var echo = new short[bot.Length];
        for (var i = 0; i < echo.Length; i++)
        {
            echo[i] = (short)Math.Clamp(Math.Round(Echo(played, i, played.Length)), short.MinValue, short.MaxValue);
        }

        Normalization = Math.Pow(10, (NoiseSignals.ActiveLevelDbfs(bot) - NoiseSignals.ActiveLevelDbfs(echo)) / 20);

        // How much the echo still looks like the bot's audio: per 300 ms window with the bot talking, the best waveform
        // correlation at 0-10 ms of lag (what a canceller matching the audio against the echo could find at best).
        const int window = 2400, maxLag = 80;
        var best = new List<double>();
        for (var start = maxLag; start + window <= bot.Length; start += window)
        {
            if (NoiseSignals.RmsDbfs(bot.AsSpan(start, window)) < -40)
            {
                continue;
            }

            var peak = 0.0;
            for (var lag = 0; lag <= maxLag; lag++)
            {
                peak = Math.Max(peak, Pearson(bot.AsSpan(start - lag, window), echo.AsSpan(start, window)));
            }

            best.Add(peak);
        }

        best.Sort();
        MedianCorrelation = best.Count == 0 ? double.NaN : best[best.Count / 2];
        LowCorrelation = best.Count == 0 ? double.NaN : best[best.Count / 10];
    }

    /// <summary>The median, over 300 ms windows of the bot talking, of the echo's best waveform correlation with the bot's audio (set by <see cref="Calibrate"/>).</summary>
    public double MedianCorrelation { get; private set; } = double.NaN;

    /// <summary>As <see cref="MedianCorrelation"/>, the 10th percentile.</summary>
    public double LowCorrelation { get; private set; } = double.NaN;

    private static double Pearson(ReadOnlySpan<short> a, ReadOnlySpan<short> b)
    {
        double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sa += a[i];
            sb += b[i];
            saa += (double)a[i] * a[i];
            sbb += (double)b[i] * b[i];
            sab += (double)a[i] * b[i];
        }

        var n = a.Length;
        var cov = sab - sa * sb / n;
        var den = Math.Sqrt((saa - sa * sa / n) * (sbb - sb * sb / n));
        return den <= 0 ? 0 : cov / den;
    }

    /// <summary>What the loudspeaker plays of the audio: band-limited and soft-clipped.</summary>
    public double[] Loudspeaker(short[] audio)
    {
        var state = loudspeaker.Select(b => b.Fresh()).ToArray();
        var output = new double[audio.Length];
        for (var i = 0; i < audio.Length; i++)
        {
            double x = audio[i];
            foreach (var filter in state)
            {
                x = filter.Next(x);
            }

            output[i] = clip > 0 ? Math.Tanh(clip * x / 32768) / clip * 32768 : x;
        }

        return output;
    }

    /// <summary>The echo at <paramref name="position"/> samples after the played audio began, of its first <paramref name="played"/> samples (a clear cuts the rest).</summary>
    public double Echo(double[] speaker, long position, long played)
    {
        if (position < 0 || position >= played + Tail)
        {
            return 0;
        }

        var sum = 0.0;
        foreach (var (delay, gain) in taps)
        {
            var p = position - delay;
            if (p < 0)
            {
                break;
            }

            if (p < played)
            {
                sum += gain * speaker[p];
            }
        }

        return sum * Normalization;
    }

    /// <summary>
    /// The echo of audio played sample by sample, as a phone line carries it (<see cref="LineConditions.EchoPath"/>): each sample
    /// through the loudspeaker and the room, with the room's tail of what played before. One per call; not thread-safe.
    /// </summary>
    public Stream Start() => new(this);

    /// <summary>A running echo: <see cref="Next"/> takes the next sample played (PCM16 scale) and returns the echo heard with it.</summary>
    public sealed class Stream
    {
        private readonly EchoPathModel _model;
        private readonly Biquad[] _speaker;
        private readonly double[] _played;
        private long _position;

        internal Stream(EchoPathModel model)
        {
            _model = model;
            _speaker = model.loudspeaker.Select(b => b.Fresh()).ToArray();
            _played = new double[model.Tail + 1];
        }

        public double Next(double sample)
        {
            foreach (var filter in _speaker)
            {
                sample = filter.Next(sample);
            }

            _played[_position % _played.Length] = _model.clip > 0 ? Math.Tanh(_model.clip * sample / 32768) / _model.clip * 32768 : sample;
            var sum = 0.0;
            foreach (var (delay, gain) in _model.taps)
            {
                if (delay > _position)
                {
                    break;
                }

                sum += gain * _played[(_position - delay) % _played.Length];
            }

            _position++;
            return sum * _model.Normalization;
        }
    }

    /// <summary>A 2nd-order IIR section (RBJ audio EQ cookbook).</summary>
    private sealed class Biquad(double b0, double b1, double b2, double a1, double a2)
    {
        private double x1, x2, y1, y2;

        public static Biquad HighPass(double f0, double q)
        {
            var (cos, alpha) = Angle(f0, q);
            return Normalize((1 + cos) / 2, -(1 + cos), (1 + cos) / 2, 1 + alpha, -2 * cos, 1 - alpha);
        }

        public static Biquad LowPass(double f0, double q)
        {
            var (cos, alpha) = Angle(f0, q);
            return Normalize((1 - cos) / 2, 1 - cos, (1 - cos) / 2, 1 + alpha, -2 * cos, 1 - alpha);
        }

        public static Biquad Peak(double f0, double q, double gainDb)
        {
            var (cos, alpha) = Angle(f0, q);
            var a = Math.Pow(10, gainDb / 40);
            return Normalize(1 + alpha * a, -2 * cos, 1 - alpha * a, 1 + alpha / a, -2 * cos, 1 - alpha / a);
        }

        public Biquad Fresh() => new(b0, b1, b2, a1, a2);

        public double Next(double x)
        {
            var y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
            (x2, x1, y2, y1) = (x1, x, y1, y);
            return y;
        }

        private static (double Cos, double Alpha) Angle(double f0, double q)
        {
            var w0 = 2 * Math.PI * f0 / SampleRate;
            return (Math.Cos(w0), Math.Sin(w0) / (2 * q));
        }

        private static Biquad Normalize(double b0, double b1, double b2, double a0, double a1, double a2) =>
            new(b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0);
    }
}
