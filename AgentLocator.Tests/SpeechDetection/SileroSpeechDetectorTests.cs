using AgentLocator.Media;
using AgentLocator.MediaWorker.SpeechDetection;
using AgentLocator.Tests.Media;
using AgentLocator.Tests.RealTime;

namespace AgentLocator.Tests.SpeechDetection;

/// <summary>The Silero detector on the model the build restores (assets/vad), one 20 ms frame at a time as a call feeds it.</summary>
public sealed class SileroSpeechDetectorTests : IClassFixture<SileroModelFixture>
{
    private static readonly TimeSpan SilenceWindow = TimeSpan.FromMilliseconds(550);
    private readonly SileroModelFixture _model;

    public SileroSpeechDetectorTests(SileroModelFixture model) => _model = model;

    internal static List<VoiceActivityEvent> Run(ISpeechDetector detector, byte[] audio)
    {
        var events = new List<VoiceActivityEvent>();
        for (var offset = 0; offset + 160 <= audio.Length; offset += 160)
        {
            var e = detector.Process(audio.AsSpan(offset, 160), TimeSpan.FromMilliseconds(offset / 8));
            if (!e.IsNone)
            {
                events.Add(e);
            }
        }

        return events;
    }

    [Theory]
    [InlineData("caller_name_he.wav")]
    [InlineData("caller_problem_4s_he.wav")]
    public void AHebrewAnswerIsOneTurnFromItsFirstToItsLastVoicedFrame(string fixture)
    {
        var answer = RealTimeScenarios.Audio(fixture);
        var audio = Signals.Concat(Signals.Silence(1000), answer, Signals.Silence(1500));
        using var detector = _model.Factory.Create(SilenceWindow);

        var events = Run(detector, audio);

        Assert.Equal([VoiceActivityEventKind.SpeechStarted, VoiceActivityEventKind.SpeechEnded], events.Select(e => e.Kind));
        var voiceStart = 1000 + RealTimeScenarios.VoiceStart(answer) / 8.0;
        var voiceEnd = 1000 + RealTimeScenarios.VoiceEnd(answer) / 8.0;
        Assert.InRange(events[0].At.TotalMilliseconds, voiceStart - 40, voiceStart + 100);
        Assert.InRange(events[1].At.TotalMilliseconds, voiceEnd - 100, voiceEnd + 40);
    }

    [Fact]
    public void ALoudToneOrHissIsNotSpeechThoughTheEnergyDetectorTakesIt()
    {
        var tone = Signals.Concat(Signals.Silence(500), Signals.Tone(440, -20, 2000), Signals.Silence(1000));
        var hiss = Signals.Concat(Signals.Silence(500), Signals.Noise(-25, 2000, seed: 7), Signals.Silence(1000));
        foreach (var audio in new[] { tone, hiss })
        {
            using var silero = _model.Factory.Create(SilenceWindow);
            using var energy = new EnergySpeechDetectorFactory().Create(SilenceWindow);
            Assert.Empty(Run(silero, audio));
            Assert.Contains(Run(energy, audio), e => e.Kind == VoiceActivityEventKind.SpeechStarted);
        }
    }

    [Fact]
    public void LineSilenceIsNeverRunThroughTheModel()
    {
        using var detector = (SileroSpeechDetector)_model.Factory.Create(SilenceWindow);
        var quietLine = MuLaw.Encode(Signals.NoisePcm(-70, 10_000, seed: 3));

        Assert.Empty(Run(detector, Signals.Concat(Signals.Silence(10_000), quietLine)));
        Assert.Equal(0, detector.Windows.Run);
        Assert.Equal(20_000 * 8 / SileroVadModel.WindowSamples, detector.Windows.Gated);
    }

    [Fact]
    public void CallsSharingTheModelKeepTheirOwnState()
    {
        var answer = Signals.Concat(Signals.Silence(500), RealTimeScenarios.Audio("caller_name_he.wav"), Signals.Silence(1000));
        using var alone = _model.Factory.Create(SilenceWindow);
        var expected = Run(alone, answer);

        var results = new List<VoiceActivityEvent>[8];
        Parallel.For(0, results.Length, i =>
        {
            using var detector = _model.Factory.Create(SilenceWindow);
            results[i] = Run(detector, answer);
        });

        Assert.All(results, r => Assert.Equal(expected, r));
    }

    [Fact]
    public void AFileThatIsNotTheModelFailsWithItsPath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"not-a-model-{Guid.NewGuid():N}.onnx");
        File.WriteAllText(path, "not onnx");
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => SileroVadModel.Load(path));
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>The model the build copied beside the tests (from the MediaWorker's output), loaded once for the class.</summary>
public sealed class SileroModelFixture : IDisposable
{
    public SileroModelFixture()
    {
        var path = new SpeechDetectionOptions().ModelPath;
        Assert.True(File.Exists(path), $"the build did not copy the Silero model to {path} (assets/vad, RestoreSileroVadModel)");
        Model = SileroVadModel.Load(path);
        Factory = new SileroSpeechDetectorFactory(Model, new SpeechDetectionOptions());
    }

    public SileroVadModel Model { get; }

    public SileroSpeechDetectorFactory Factory { get; }

    public void Dispose() => Factory.Dispose();
}
