using System.ComponentModel.DataAnnotations;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>Tuning of the live call pipeline (configuration section <c>MediaStream</c>).</summary>
public sealed class MediaStreamOptions
{
    public const string Section = "MediaStream";

    /// <summary>Silence after the caller's last voiced frame that ends their turn.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:05")]
    public TimeSpan SilenceWindow { get; set; } = TimeSpan.FromMilliseconds(550);

    /// <summary>Caller silence (nothing playing) before a re-prompt; the second one says goodbye.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:10:00")]
    public TimeSpan IdleReprompt { get; set; } = TimeSpan.FromSeconds(8);

    /// <summary>The longest a live conversation may run (stream time) before it says goodbye and hangs up.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "04:00:00")]
    public TimeSpan MaxCallLength { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Largest WebSocket message accepted from Twilio; a larger one closes the stream.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxMessageBytes { get; set; } = 64 * 1024;

    /// <summary>Capacity of a connection's send queue (media frames, marks, clears); the pipeline never waits on it.</summary>
    [Range(16, 100_000)]
    public int SendQueueFrames { get; set; } = 256;

    /// <summary>How far ahead of the caller's line reply audio is sent (Twilio buffers it); less is dropped faster on barge-in.</summary>
    [Range(typeof(TimeSpan), "00:00:00.020", "00:00:10")]
    public TimeSpan PlaybackLead { get; set; } = TimeSpan.FromMilliseconds(600);

    /// <summary>
    /// Whether the <see cref="PlayoutClock"/> (a dedicated thread) also releases reply audio on the wall clock when the receive
    /// loop falls behind. Off, only the receive loop releases, as each frame is read (for comparing the two: media-pipeline
    /// <c>--playout-clock off</c>).
    /// </summary>
    public bool PlayoutClock { get; set; } = true;

    /// <summary>20 ms frames per reply chunk; each chunk is followed by a <c>mark</c>.</summary>
    [Range(1, 500)]
    public int ChunkFrames { get; set; } = 10;

    /// <summary>Whether <c>*</c> plays the voicemail_transfer prompt before the stream closes.</summary>
    public bool PlayVoicemailTransfer { get; set; } = true;

    /// <summary>Bound on the closing handshake, on draining the send queue at close, and on the REST hang-up or redirect.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Bound on one WebSocket send (a stalled or dead peer). It times a single send only: the queue being
    /// empty for any length of time (the caller talking, a pause) never counts.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// After <c>start</c>, the longest gap between two messages from Twilio. Twilio sends a <c>media</c>
    /// frame every 20 ms for the whole call, silence included, so a longer gap is a dead line.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:05:00")]
    public TimeSpan ReceiveTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Bound on one conversation engine call (start, turn, idle); past it the caller goes to voicemail.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan EngineTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Bound on each Postgres or Redis call the receive loop waits for (stream start, watchdog disarm); past it the call goes on.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan StoreTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Caller speech that began while a reply played (and did not interrupt it) is a turn only when it
    /// goes on at least this long after the reply stopped: an answer that starts as the question trails
    /// off is a turn, the bot's echo or a short back-channel ("mm") is not.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:00:03")]
    public TimeSpan TurnSpeechAfterPlayback { get; set; } = TimeSpan.FromMilliseconds(400);

    /// <summary>A stream that sends no <c>start</c> within this time after connecting is closed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// After its expected end (stream time), a reply whose marks have not all come back counts as
    /// played once this grace has passed, so a lost echo cannot hold a call open.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan MarkEchoGrace { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Caller speech during playback must last this long to interrupt it (barge-in).</summary>
    [Range(typeof(TimeSpan), "00:00:00.040", "00:00:05")]
    public TimeSpan BargeInMinSpeech { get; set; } = TimeSpan.FromMilliseconds(300);
}
