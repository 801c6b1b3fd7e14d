using AgentLocator.Media;

namespace AgentLocator.Tests.Media;

public class VoiceActivityDetectorTests
{
    private static readonly TimeSpan Frame = TimeSpan.FromMilliseconds(20);

    /// <summary>Feeds mu-law audio in 20 ms frames with frame timestamps; returns every event.</summary>
    private static List<VoiceActivityEvent> Run(VoiceActivityDetector vad, byte[] audio, long startMs = 0)
    {
        var events = new List<VoiceActivityEvent>();
        for (var offset = 0; offset + 160 <= audio.Length; offset += 160)
        {
            var e = vad.Process(audio.AsSpan(offset, 160), TimeSpan.FromMilliseconds(startMs + offset / 8));
            if (!e.IsNone)
            {
                events.Add(e);
            }
        }

        return events;
    }

    [Fact]
    public void AToneAfterSilenceStartsSpeechAtItsOnsetAndEndsAfterTheSilenceWindow()
    {
        var vad = new VoiceActivityDetector();
        var audio = Signals.Concat(Signals.Silence(1000), Signals.Tone(300, -20, 1000), Signals.Silence(1000));
        var events = Run(vad, audio);

        Assert.Equal(2, events.Count);
        Assert.Equal(VoiceActivityEventKind.SpeechStarted, events[0].Kind);
        Assert.Equal(TimeSpan.FromMilliseconds(1000), events[0].At);
        Assert.Equal(VoiceActivityEventKind.SpeechEnded, events[1].Kind);
        Assert.Equal(TimeSpan.FromMilliseconds(2000), events[1].At);
        Assert.Equal(TimeSpan.FromMilliseconds(1000), events[1].Duration);
        Assert.False(vad.IsSpeaking);
    }

    [Fact]
    public void SpeechStartIsReportedOnlyAfterTheConfiguredVoicedDuration()
    {
        var vad = new VoiceActivityDetector(new VoiceActivityOptions { SpeechStartDuration = TimeSpan.FromMilliseconds(200) });
        var audio = Signals.Concat(Signals.Silence(400), Signals.Tone(300, -20, 600));
        var reportedAt = TimeSpan.MinValue;
        for (var offset = 0; offset < audio.Length; offset += 160)
        {
            var ts = TimeSpan.FromMilliseconds(offset / 8);
            if (vad.Process(audio.AsSpan(offset, 160), ts).Kind == VoiceActivityEventKind.SpeechStarted)
            {
                reportedAt = ts;
            }
        }

        // Frames 400..580 ms are the first 200 ms of voice: the frame starting at 580 ms completes them.
        Assert.Equal(TimeSpan.FromMilliseconds(580), reportedAt);
    }

    [Theory]
    [InlineData(550, 500, false)]
    [InlineData(550, 600, true)]
    [InlineData(1000, 900, false)]
    [InlineData(1000, 1100, true)]
    public void EndOfTurnWaitsForTheConfiguredSilence(int endOfTurnMs, int gapMs, bool endsInTheGap)
    {
        var vad = new VoiceActivityDetector(new VoiceActivityOptions { EndOfTurnSilence = TimeSpan.FromMilliseconds(endOfTurnMs) });
        var audio = Signals.Concat(Signals.Silence(200), Signals.Tone(300, -20, 500), Signals.Silence(gapMs), Signals.Tone(300, -20, 500), Signals.Silence(1200));
        var ended = Run(vad, audio).Where(e => e.Kind == VoiceActivityEventKind.SpeechEnded).ToList();
        Assert.Equal(endsInTheGap ? 2 : 1, ended.Count);
        Assert.Equal(TimeSpan.FromMilliseconds(700), ended[0].At - (endsInTheGap ? TimeSpan.Zero : TimeSpan.FromMilliseconds(gapMs + 500)));
    }

    [Fact]
    public void ShortClicksDoNotStartSpeech()
    {
        var vad = new VoiceActivityDetector();
        var parts = new List<byte[]> { Signals.Silence(500) };
        for (var i = 0; i < 10; i++)
        {
            parts.Add(Signals.Tone(1000, -10, 60));
            parts.Add(Signals.Silence(400));
        }

        Assert.Empty(Run(vad, Signals.Concat([.. parts])));
    }

    [Theory]
    [InlineData(-70)]
    [InlineData(-55)]
    [InlineData(-40)]
    [InlineData(-30)]
    public void SteadyLineNoiseAloneNeverStartsSpeech(double noiseDbfs)
    {
        var vad = new VoiceActivityDetector();
        Assert.Empty(Run(vad, Signals.Noise(noiseDbfs, 10_000, seed: 7)));
        Assert.InRange(vad.NoiseFloorDbfs, noiseDbfs - 3, noiseDbfs + 3);
    }

    [Theory]
    [InlineData(-60, -25)]
    [InlineData(-45, -25)]
    [InlineData(-35, -15)]
    public void SpeechWellAboveTheNoiseIsDetectedAndEnds(double noiseDbfs, double toneDbfs)
    {
        var vad = new VoiceActivityDetector();
        var noise = Signals.NoisePcm(noiseDbfs, 4000, seed: 3);
        var voice = Signals.Delay(Signals.TonePcm(250, toneDbfs, 1200), 1500);
        var events = Run(vad, MuLaw.Encode(Signals.Mix(noise, voice)));
        Assert.Equal([VoiceActivityEventKind.SpeechStarted, VoiceActivityEventKind.SpeechEnded], events.Select(e => e.Kind));
        Assert.InRange(events[0].At.TotalMilliseconds, 1480, 1520);
        Assert.InRange(events[1].Duration.TotalMilliseconds, 1160, 1240);
    }

    [Fact]
    public void AToneJustAboveTheNoiseIsNotSpeech()
    {
        var vad = new VoiceActivityDetector();
        var noise = Signals.NoisePcm(-40, 4000, seed: 5);
        var tone = Signals.Delay(Signals.TonePcm(250, -38, 1500), 1500);
        Assert.Empty(Run(vad, MuLaw.Encode(Signals.Mix(noise, tone))));
    }

    [Fact]
    public void ANoiseStepIsLearnedSoTheTurnStillEnds()
    {
        var vad = new VoiceActivityDetector();
        var audio = Signals.Concat(Signals.Noise(-65, 1000, 1), Signals.Noise(-30, 20_000, 2));
        var events = Run(vad, audio);
        Assert.Equal(VoiceActivityEventKind.SpeechEnded, events[^1].Kind);
        Assert.False(vad.IsSpeaking);
    }

    [Fact]
    public void TimingFollowsFrameTimestampsNotCallOrder()
    {
        var vad = new VoiceActivityDetector();
        var tone = Signals.Tone(300, -20, 20);
        var silence = Signals.Silence(20);
        vad.Process(silence, TimeSpan.FromSeconds(10));
        for (var i = 0; i < 15; i++)
        {
            vad.Process(tone, TimeSpan.FromSeconds(10) + Frame * (i + 1));
        }

        // A gap in the timestamps (lost frames) counts as elapsed time: one silent frame 2 s later ends the turn.
        var e = vad.Process(silence, TimeSpan.FromSeconds(13));
        Assert.Equal(VoiceActivityEventKind.SpeechEnded, e.Kind);
        Assert.Equal(TimeSpan.FromSeconds(10) + Frame * 16, e.At);
    }

    [Theory]
    [InlineData("caller_name_he.wav")]
    [InlineData("caller_reason_he.wav")]
    [InlineData("caller_callback_time_he.wav")]
    [InlineData("caller_yes_he.wav")]
    public void EachHebrewCallerUtteranceIsExactlyOneTurn(string fixture)
    {
        var utterance = WavFile.Read(TestAudio.Fixture(fixture)).ToMuLaw();
        var vad = new VoiceActivityDetector();
        var audio = Signals.Concat(Signals.Noise(-60, 1000, 11), utterance, Signals.Silence(1000));
        var events = Run(vad, audio);

        Assert.Equal([VoiceActivityEventKind.SpeechStarted, VoiceActivityEventKind.SpeechEnded], events.Select(e => e.Kind));
        var speechMs = (utterance.Length / 8) - 600; // the fixtures carry 300 ms of silence at each end
        Assert.InRange(events[0].At.TotalMilliseconds, 1000 + 300 - 60, 1000 + 300 + 120);
        Assert.InRange(events[1].Duration.TotalMilliseconds, speechMs * 0.7, speechMs + 100);
    }

    [Fact]
    public void ProcessingAFrameDoesNotAllocate()
    {
        var vad = new VoiceActivityDetector();
        var audio = Signals.Concat(Signals.Tone(300, -20, 500), Signals.Silence(1000));
        Run(vad, audio);
        var pcm = new short[160];
        var before = GC.GetAllocatedBytesForCurrentThread();
        var events = 0;
        for (var round = 0; round < 20; round++)
        {
            for (var offset = 0; offset + 160 <= audio.Length; offset += 160)
            {
                var ts = TimeSpan.FromMilliseconds((round * audio.Length + offset) / 8);
                MuLaw.Decode(audio.AsSpan(offset, 160), pcm);
                events += vad.Process(pcm, ts).IsNone ? 0 : 1;
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(40, events);
    }

    [Fact]
    public void InvalidOptionsAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new VoiceActivityDetector(new VoiceActivityOptions { EndOfTurnSilence = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new VoiceActivityDetector(new VoiceActivityOptions { SampleRate = 0 }));
    }
}
