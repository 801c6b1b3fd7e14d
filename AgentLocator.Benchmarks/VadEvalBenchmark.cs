using System.Diagnostics;
using System.Globalization;
using AgentLocator.Media;
using AgentLocator.MediaWorker.SpeechDetection;
using AgentLocator.Testing.Audio;

namespace AgentLocator.Benchmarks;

/// <summary>
/// Frame-level precision, recall and F1 of the two speech detectors (Silero VAD, energy) on a labelled set
/// made here: Hebrew sentences spoken by espeak-ng (<c>-v he</c>), resampled to 8 kHz by sox, strung
/// together with pauses, and mixed with white, pink and babble noise (six talkers of other sentences) at
/// 20, 10 and 5 dB SNR (speech active level over noise RMS). Each 20 ms frame is labelled from the clean
/// signal (voice: within 30 dB of the loudest frame and above -50 dBFS); each detector sees the noisy
/// mu-law frames one by one, as a call feeds it, and its per-frame decision is scored. Exit code 1 when
/// Silero's F1 at 5 dB (all three noises together) is not above the energy detector's.
/// <code>dotnet run -c Release --project AgentLocator.Benchmarks -- vad-eval [--seed 1] [--model path]</code>
/// Needs espeak-ng and sox on the PATH (.ci/run installs them).
/// </summary>
public sealed class VadEvalBenchmark : IBenchmark
{
    private const int Frame = 160;

    /// <summary>What the callers say (the labelled speech).</summary>
    internal static readonly string[] Sentences =
    [
        "שלום, קוראים לי דנה כהן ואני מתקשרת לגבי התור שלי",
        "אני צריך אינסטלטור דחוף, יש נזילה גדולה במטבח",
        "אפשר לחזור אליי מחר בבוקר אחרי תשע",
        "המספר שלי הוא אפס חמש שתיים, שלוש ארבע חמש, שש שבע שמונה",
        "רציתי לברר כמה עולה תיקון של מזגן בדירה של שלושה חדרים",
        "הגעתי אליכם דרך חבר שהמליץ עליכם מאוד",
        "אני גר ברחוב הרצל שתים עשרה בתל אביב, קומה שלישית",
        "לא, תודה, זה הכל בינתיים",
        "אני פנוי רק בשעות אחר הצהריים, בסביבות ארבע",
        "היה לי קצר בחשמל אתמול בלילה וכל הבית נכבה",
        "כן, בדיוק, אני רוצה לקבוע פגישה לשבוע הבא",
        "תגידו לו בבקשה שיחזור אליי, זה חשוב",
    ];

    /// <summary>Other voices for the babble (never the labelled speech).</summary>
    internal static readonly string[] BabbleSentences =
    [
        "מה שלומך היום, הכל בסדר בעבודה",
        "ראיתי את המשחק אתמול, היה ממש מותח עד הסוף",
        "צריך לקנות לחם וחלב בדרך הביתה",
        "הרכבת איחרה שוב בעשרים דקות",
        "בוא נלך לאכול משהו בצהריים",
        "הילדים חוזרים מבית הספר בשתיים",
        "מזג האוויר השבוע יהיה חם ויבש",
        "שמעתי שפתחו מסעדה חדשה במרכז העיר",
    ];

    private static readonly int[] Snrs = [20, 10, 5];

    public string Name => "vad-eval";

    public string Description => "frame precision/recall/F1 of Silero vs energy VAD on espeak-ng Hebrew + white/pink/babble noise at 20/10/5 dB SNR";

    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var options = BenchmarkArgs.Parse(args);
        var seed = int.Parse(options.Get("seed", "1"), CultureInfo.InvariantCulture);
        var modelPath = options.Get("model", new SpeechDetectionOptions().ModelPath);
        if (!File.Exists(modelPath))
        {
            Console.Error.WriteLine($"no Silero model at {modelPath} (build the MediaWorker: it restores assets/vad) or pass --model");
            return 2;
        }

        var work = Directory.CreateTempSubdirectory("agentlocator-vad-eval-");
        try
        {
            var random = new Random(seed);
            var speech = new List<short[]>();
            foreach (var sentence in Sentences)
            {
                speech.Add(await SpeakAsync(sentence, work.FullName, cancellationToken));
            }

            var babbleVoices = new List<short[]>();
            foreach (var sentence in BabbleSentences)
            {
                babbleVoices.Add(await SpeakAsync(sentence, work.FullName, cancellationToken));
            }

            var (clean, labels) = BuildLabelledSpeech(speech, random);
            var active = NoiseSignals.ActiveLevelDbfs(clean);
            var noises = new (string Name, short[] Noise)[]
            {
                ("white", NoiseSignals.White(clean.Length, -30, seed)),
                ("pink", NoiseSignals.Pink(clean.Length, -30, seed + 1)),
                ("babble", NoiseSignals.Babble(babbleVoices, talkers: 6, clean.Length, -30, seed + 2)),
            };

            using var model = SileroVadModel.Load(modelPath);
            var silero = new SileroSpeechDetectorFactory(model, new SpeechDetectionOptions());
            var energy = new EnergySpeechDetectorFactory();
            var voiced = labels.Count(l => l);
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Speech detectors, frame level: {Sentences.Length} espeak-ng Hebrew sentences, {labels.Length * 20 / 1000.0:F1} s, {voiced} of {labels.Length} frames voiced, speech active level {active:F1} dBFS; model {modelPath}; load average {LoadAverage()}"));
            Console.WriteLine();
            Console.WriteLine("| noise | SNR (dB) | Silero precision / recall / F1 | energy precision / recall / F1 |");
            Console.WriteLine("|---|---:|---|---|");
            var at5 = new Dictionary<string, Score>();
            var sileroTime = TimeSpan.Zero;
            long sileroFrames = 0;
            var clean8 = MuLaw.Encode(clean);
            foreach (var snr in Snrs)
            {
                foreach (var (name, noise) in noises)
                {
                    var mixed = MuLaw.Encode(NoiseSignals.MixAtSnr(clean, noise, snr));
                    var watch = Stopwatch.StartNew();
                    var s = Score.Of(Run(silero, mixed), labels);
                    sileroTime += watch.Elapsed;
                    sileroFrames += labels.Length;
                    var e = Score.Of(Run(energy, mixed), labels);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {name} | {snr} | {s.Precision:F3} / {s.Recall:F3} / {s.F1:F3} | {e.Precision:F3} / {e.Recall:F3} / {e.F1:F3} |"));
                    if (snr == 5)
                    {
                        at5["silero"] = at5.GetValueOrDefault("silero") + s;
                        at5["energy"] = at5.GetValueOrDefault("energy") + e;
                    }
                }
            }

            var cleanSilero = Score.Of(Run(silero, clean8), labels);
            var cleanEnergy = Score.Of(Run(energy, clean8), labels);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| none (clean) | — | {cleanSilero.Precision:F3} / {cleanSilero.Recall:F3} / {cleanSilero.F1:F3} | {cleanEnergy.Precision:F3} / {cleanEnergy.Recall:F3} / {cleanEnergy.F1:F3} |"));
            Console.WriteLine();
            var (s5, e5) = (at5["silero"], at5["energy"]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"at 5 dB, all noises: Silero F1 {s5.F1:F3}, energy F1 {e5.F1:F3}; Silero {sileroTime.TotalMicroseconds / sileroFrames:F1} µs per 20 ms frame (noise never gated: every window run)"));
            return s5.F1 > e5.F1 ? 0 : 1;
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>The sentences with 0.4–2 s pauses between them (and around them), and each frame's label from the clean signal.</summary>
    private static (short[] Clean, bool[] Labels) BuildLabelledSpeech(List<short[]> speech, Random random)
    {
        var clean = new List<short>();
        foreach (var sentence in speech)
        {
            clean.AddRange(new short[8 * random.Next(400, 2000)]);
            clean.AddRange(sentence);
        }

        clean.AddRange(new short[8 * 1000]);
        var pcm = clean.Take(clean.Count / Frame * Frame).ToArray();
        var levels = new double[pcm.Length / Frame];
        for (var i = 0; i < levels.Length; i++)
        {
            levels[i] = NoiseSignals.RmsDbfs(pcm.AsSpan(i * Frame, Frame));
        }

        var loudest = levels.Max();
        return (pcm, levels.Select(l => l > Math.Max(-50, loudest - 30)).ToArray());
    }

    private static bool[] Run(ISpeechDetectorFactory factory, byte[] muLaw)
    {
        using var detector = factory.Create(TimeSpan.FromMilliseconds(550));
        var decisions = new bool[muLaw.Length / Frame];
        for (var i = 0; i < decisions.Length; i++)
        {
            detector.Process(muLaw.AsSpan(i * Frame, Frame), TimeSpan.FromMilliseconds(i * 20));
            decisions[i] = detector.LastFrameVoiced;
        }

        return decisions;
    }

    /// <summary>espeak-ng's Hebrew voice (<paramref name="voice"/>: more espeak-ng options, e.g. pitch and speed), resampled by sox to 8 kHz mono PCM16.</summary>
    internal static async Task<short[]> SpeakAsync(string text, string directory, CancellationToken cancellationToken, params string[] voice)
    {
        var raw = Path.Combine(directory, Guid.NewGuid().ToString("N") + ".wav");
        var phone = Path.Combine(directory, Guid.NewGuid().ToString("N") + "-8k.wav");
        await RunToolAsync("espeak-ng", ["-v", "he", .. voice, "-w", raw, text], cancellationToken);
        // -R: sox dithers the 16-bit output from a time-seeded generator; repeatable mode seeds it the same every run, so the evals repeat exactly.
        await RunToolAsync("sox", ["-R", raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", phone], cancellationToken);
        return MuLaw.Decode(WavFile.Read(phone).ToMuLaw());
    }

    private static async Task RunToolAsync(string tool, string[] arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        var error = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} failed ({process.ExitCode}): {error}");
        }
    }

    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private readonly record struct Score(long TruePositives, long FalsePositives, long FalseNegatives)
    {
        public double Precision => TruePositives + FalsePositives == 0 ? 0 : (double)TruePositives / (TruePositives + FalsePositives);

        public double Recall => TruePositives + FalseNegatives == 0 ? 0 : (double)TruePositives / (TruePositives + FalseNegatives);

        public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);

        public static Score operator +(Score a, Score b) =>
            new(a.TruePositives + b.TruePositives, a.FalsePositives + b.FalsePositives, a.FalseNegatives + b.FalseNegatives);

        public static Score Of(bool[] predicted, bool[] labels)
        {
            long tp = 0, fp = 0, fn = 0;
            for (var i = 0; i < labels.Length; i++)
            {
                (tp, fp, fn) = (predicted[i], labels[i]) switch
                {
                    (true, true) => (tp + 1, fp, fn),
                    (true, false) => (tp, fp + 1, fn),
                    (false, true) => (tp, fp, fn + 1),
                    _ => (tp, fp, fn),
                };
            }

            return new Score(tp, fp, fn);
        }
    }
}
