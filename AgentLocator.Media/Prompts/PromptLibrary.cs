namespace AgentLocator.Media;

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
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, $"*{suffix}.ulaw"))
        {
            var key = KeyOf(path, suffix);
            prompts[key] = new Prompt(key, File.ReadAllBytes(path));
        }

        // A WAV counts only where no .ulaw exists: a studio source (any rate) beside its generated .ulaw is not read.
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, $"*{suffix}.wav"))
        {
            var key = KeyOf(path, suffix);
            if (!prompts.ContainsKey(key))
            {
                prompts[key] = new Prompt(key, WavFile.Read(path).ToMuLaw());
            }
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
