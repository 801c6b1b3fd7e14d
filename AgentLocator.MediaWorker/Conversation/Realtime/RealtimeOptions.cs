using System.ComponentModel.DataAnnotations;

namespace AgentLocator.MediaWorker.Conversation.Realtime;

/// <summary>Tuning of the AI receptionist (configuration section <c>Realtime</c>); the provider itself is <c>ConnectionStrings:openai</c>.</summary>
public sealed class RealtimeOptions : IValidatableObject
{
    public const string Section = "Realtime";
    public const string ServerVad = "server_vad";
    public const string SemanticVad = "semantic_vad";

    /// <summary>
    /// Who decides the caller finished a turn: the provider's <c>server_vad</c> (silence based, the default) or
    /// <c>semantic_vad</c> (judges whether the words sound finished; waits longer for a caller who trails off).
    /// </summary>
    public string TurnDetection { get; set; } = ServerVad;

    /// <summary>server_vad: activation threshold (0–1; higher needs louder speech, better in noise).</summary>
    [Range(0.0, 1.0)]
    public float VadThreshold { get; set; } = 0.5f;

    /// <summary>server_vad: the silence that ends the caller's turn.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:03")]
    public TimeSpan VadSilence { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>server_vad: audio kept from before the detected start of speech.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:02")]
    public TimeSpan VadPrefixPadding { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>semantic_vad: <c>low</c>, <c>medium</c>, <c>high</c> or <c>auto</c> (how soon it answers).</summary>
    public string SemanticEagerness { get; set; } = "auto";

    /// <summary>
    /// Bound on opening the provider's session (the settings read, connect, handshake, configuration), counted on the
    /// line's clock from the stream's start: the caller hears nothing meanwhile. Past it the offline intake answers.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:30")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>
    /// The longest the caller may wait for the bot's first audio after their last word (or after a tool result):
    /// past it the provider counts as failed (<c>no_audio</c>) and the fallback answers at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:00:30")]
    public TimeSpan ReplyTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Bound on reading the business's receptionist settings at the start of a call.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:10")]
    public TimeSpan ProfileTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Bound on a tool's CRM write (save_lead) and on the writes waited for before the goodbye.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:30")]
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Bound on one message to the provider; a stalled provider socket fails the session (<c>send_stalled</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:30")]
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Caller frames (20 ms each) that may wait for the provider's socket; a fuller queue is a stalled provider.</summary>
    [Range(10, 10_000)]
    public int SendQueueFrames { get; set; } = 250;

    /// <summary>The model that transcribes the caller's turns inside the Realtime session.</summary>
    [Required]
    public string InputTranscriptionModel { get; set; } = "gpt-4o-mini-transcribe";

    /// <summary>The model that transcribes voicemails (the audio transcription endpoint).</summary>
    [Required]
    public string VoicemailTranscriptionModel { get; set; } = "gpt-4o-mini-transcribe";

    /// <summary>Whether voicemails are transcribed (when a provider is configured).</summary>
    public bool TranscribeVoicemail { get; set; } = true;

    /// <summary>The callers' language (ISO-639-1), a hint to the transcription.</summary>
    [Required]
    public string Language { get; set; } = "he";

    /// <summary>The voice when neither the business nor the connection string names one.</summary>
    [Required]
    public string DefaultVoice { get; set; } = "marin";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (TurnDetection is not (ServerVad or SemanticVad))
        {
            yield return new ValidationResult($"Realtime:TurnDetection must be {ServerVad} or {SemanticVad}.", [nameof(TurnDetection)]);
        }

        if (SemanticEagerness is not ("low" or "medium" or "high" or "auto"))
        {
            yield return new ValidationResult("Realtime:SemanticEagerness must be low, medium, high or auto.", [nameof(SemanticEagerness)]);
        }
    }
}
