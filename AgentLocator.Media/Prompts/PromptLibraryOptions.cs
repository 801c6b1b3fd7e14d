namespace AgentLocator.Media;

/// <summary>Where <see cref="PromptLibrary"/> loads from (configuration section <c>Prompts</c>).</summary>
public sealed class PromptLibraryOptions
{
    public const string SectionName = "Prompts";

    /// <summary>A directory with <c>&lt;key&gt;_&lt;language&gt;.ulaw</c> (raw mu-law) or <c>.wav</c> (8 kHz mono PCM16 or mu-law) files.</summary>
    public string Directory { get; set; } = Path.Combine("assets", "tts");

    public string Language { get; set; } = "he";
}
