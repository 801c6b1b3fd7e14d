using AgentLocator.Media;

namespace AgentLocator.Tests.Media;

public class PromptLibraryTests
{
    [Fact]
    public void EveryPromptKeyHasCommittedMuLawAudioOfAPlausibleLength()
    {
        var library = PromptLibrary.Load(TestAudio.PromptsDirectory);
        Assert.Equal(PromptKeys.All.Order(StringComparer.Ordinal), library.Keys.Order(StringComparer.Ordinal));
        foreach (var key in PromptKeys.All)
        {
            var prompt = library[key];
            Assert.InRange(prompt.Duration.TotalSeconds, 0.7, 8);
            Assert.Equal(new FileInfo(Path.Combine(TestAudio.PromptsDirectory, key + "_he.ulaw")).Length, prompt.MuLaw.Length);
            Assert.True(AudioLevel.MuLawDbfs(prompt.MuLaw.Span) > -30, $"{key} is nearly silent");
        }
    }

    [Fact]
    public void ThePromptTextFileListsEveryKeyAndTheMp3sExist()
    {
        var lines = File.ReadAllLines(Path.Combine(TestAudio.PromptsDirectory, "prompts.he.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('|', 2))
            .ToList();
        Assert.Equal(PromptKeys.All.Order(StringComparer.Ordinal), lines.Select(l => l[0]).Order(StringComparer.Ordinal));
        Assert.All(lines, l => Assert.Matches(@"\p{IsHebrew}", l[1]));
        foreach (var key in PromptKeys.All)
        {
            var mp3 = File.ReadAllBytes(Path.Combine(TestAudio.PromptsDirectory, key + "_he.mp3"));
            Assert.True(mp3.Length > 1000);
            Assert.True(mp3.AsSpan(0, 3).SequenceEqual("ID3"u8) || mp3[0] == 0xFF, $"{key}_he.mp3 is not an MP3");
        }
    }

    [Fact]
    public void AWavRecordingIsLoadedAndAUlawOfTheSameKeyWins()
    {
        var dir = Directory.CreateTempSubdirectory("prompts-").FullName;
        try
        {
            using (var wav = File.Create(Path.Combine(dir, "greeting_he.wav")))
            {
                WavFile.WritePcm16(wav, Signals.TonePcm(300, -12, 1000));
            }

            using (var wav = File.Create(Path.Combine(dir, "goodbye_he.wav")))
            {
                // A 44.1 kHz studio source beside its generated .ulaw is not read at all.
                WavFile.WritePcm16(wav, Signals.TonePcm(300, -12, 1000), sampleRate: 44100);
            }

            File.WriteAllBytes(Path.Combine(dir, "goodbye_he.ulaw"), Signals.Tone(300, -12, 500));
            File.WriteAllBytes(Path.Combine(dir, "goodbye_en.ulaw"), Signals.Tone(300, -12, 250));

            var library = PromptLibrary.Load(new PromptLibraryOptions { Directory = dir, Language = "he" });
            Assert.Equal(2, library.Count);
            Assert.Equal(TimeSpan.FromSeconds(1), library[PromptKeys.Greeting].Duration);
            Assert.Equal(TimeSpan.FromMilliseconds(500), library[PromptKeys.Goodbye].Duration);
            Assert.False(library.TryGet(PromptKeys.Confirm, out _));
            var missing = Assert.Throws<KeyNotFoundException>(() => library[PromptKeys.Confirm]);
            Assert.Contains("goodbye, greeting", missing.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void AMissingDirectoryNamesTheSettingToFix()
    {
        var error = Assert.Throws<DirectoryNotFoundException>(() => PromptLibrary.Load("/nonexistent/prompts"));
        Assert.Contains("Prompts:Directory", error.Message, StringComparison.Ordinal);
    }
}
