namespace AgentLocator.Media;

/// <summary>One prompt, held in memory as 8 kHz mono mu-law, ready for Media Streams <c>media</c> frames.</summary>
public sealed record Prompt(string Key, ReadOnlyMemory<byte> MuLaw)
{
    public TimeSpan Duration => TimeSpan.FromTicks(MuLaw.Length * TimeSpan.TicksPerSecond / 8000);
}

/// <summary>The prompt keys that scripts/generate-prompts.sh produces (assets/tts/prompts.he.txt).</summary>
public static class PromptKeys
{
    public const string Greeting = "greeting";
    public const string Fallback = "fallback";
    public const string NotInService = "not_in_service";
    public const string ThankYou = "thank_you";
    public const string Goodbye = "goodbye";
    public const string AskName = "ask_name";
    public const string AskReason = "ask_reason";
    public const string AskCallbackTime = "ask_callback_time";
    public const string Confirm = "confirm";
    public const string Reprompt = "reprompt";
    public const string IdleGoodbye = "idle_goodbye";
    public const string DidntHear = "didnt_hear";
    public const string VoicemailTransfer = "voicemail_transfer";

    public static IReadOnlyList<string> All { get; } =
    [
        Greeting, Fallback, NotInService, ThankYou, Goodbye, AskName, AskReason,
        AskCallbackTime, Confirm, Reprompt, IdleGoodbye, DidntHear, VoicemailTransfer,
    ];
}

/// <summary>Where <see cref="PromptLibrary"/> loads from (configuration section <c>Prompts</c>).</summary>
public sealed class PromptLibraryOptions
{
    public const string SectionName = "Prompts";

    /// <summary>A directory with <c>&lt;key&gt;_&lt;language&gt;.ulaw</c> (raw mu-law) or <c>.wav</c> (8 kHz mono PCM16 or mu-law) files.</summary>
    public string Directory { get; set; } = Path.Combine("assets", "tts");

    public string Language { get; set; } = "he";
}

/// <summary>
/// All prompts of one language, loaded once into memory. A <c>.ulaw</c> file wins over a
/// <c>.wav</c> of the same key. Immutable and thread-safe after loading.
/// </summary>
public sealed class PromptLibrary
{
    private readonly Dictionary<string, Prompt> _prompts;

    private PromptLibrary(Dictionary<string, Prompt> prompts) => _prompts = prompts;

    public IReadOnlyCollection<string> Keys => _prompts.Keys;

    public int Count => _prompts.Count;

    public Prompt this[string key] => _prompts.TryGetValue(key, out var prompt)
        ? prompt
        : throw new KeyNotFoundException($"No prompt '{key}'. Loaded: {string.Join(", ", _prompts.Keys.Order(StringComparer.Ordinal))}.");

    public static PromptLibrary Load(PromptLibraryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Load(options.Directory, options.Language);
    }

    public static PromptLibrary Load(string directory, string language = "he")
    {
        if (!System.IO.Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"The prompt directory '{Path.GetFullPath(directory)}' does not exist (set {PromptLibraryOptions.SectionName}:Directory).");
        }

        var suffix = "_" + language;
        var prompts = new Dictionary<string, Prompt>(StringComparer.Ordinal);
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, $"*{suffix}.wav"))
        {
            var key = KeyOf(path, suffix);
            prompts[key] = new Prompt(key, WavFile.Read(path).ToMuLaw());
        }

        foreach (var path in System.IO.Directory.EnumerateFiles(directory, $"*{suffix}.ulaw"))
        {
            var key = KeyOf(path, suffix);
            prompts[key] = new Prompt(key, File.ReadAllBytes(path));
        }

        return new PromptLibrary(prompts);
    }

    public bool TryGet(string key, out Prompt prompt) => _prompts.TryGetValue(key, out prompt!);

    private static string KeyOf(string path, string suffix)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        return name[..^suffix.Length];
    }
}
