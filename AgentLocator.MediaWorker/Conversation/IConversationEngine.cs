namespace AgentLocator.MediaWorker.Conversation;

/// <summary>
/// The seam between the media pipeline and whatever decides what the receptionist says.
/// The pipeline (<see cref="MediaStreams.MediaStreamSession"/>) owns the telephone side: framing,
/// VAD, end of turn, pacing, marks, barge-in, idle timers, hang-up and voicemail. An engine sees
/// only whole caller turns (8 kHz mu-law audio of one utterance plus what the caller really heard
/// of the previous reply) and answers with audio to play and what to do next.
/// <para>
/// The default <see cref="IntakeConversationEngine"/> plays pre-rendered Hebrew prompts and needs
/// no network. A turn-based LLM + STT/TTS engine plugs in by registering another
/// <see cref="IConversationEngineFactory"/>: it transcribes <see cref="CallerTurn.MuLaw"/>, returns
/// its audio as <see cref="ReplySegment"/>s, and uses <see cref="ReplyHeard"/> to know what the
/// caller heard. A speech-to-speech provider implements <see cref="IStreamingConversationEngine"/>
/// as well (the Realtime engine does).
/// </para>
/// One instance per call; the pipeline never calls it concurrently.
/// </summary>
public interface IConversationEngine : IAsyncDisposable
{
    /// <summary>The stream started (the greeting was already played by TwiML): the first reply.</summary>
    Task<ConversationReply> StartAsync(CancellationToken cancellationToken);

    /// <summary>The caller finished a turn.</summary>
    Task<ConversationReply> OnCallerTurnAsync(CallerTurn turn, CancellationToken cancellationToken);

    /// <summary>The caller has been silent for the idle window <paramref name="idleCount"/> times in a row.</summary>
    Task<ConversationReply> OnIdleAsync(int idleCount, ReplyHeard? lastReply, CancellationToken cancellationToken);
}

/// <summary>
/// An engine that listens to the caller all the time and speaks when it decides: a speech-to-speech
/// provider such as OpenAI Realtime, whose own turn detection answers the caller. The pipeline still
/// owns the telephone side and calls the turn-based members as for any engine (the engine uses a turn's
/// end to arm its own no-reply guard and answers <see cref="ConversationReply.Silence"/>), and besides:
/// <list type="bullet">
/// <item>every caller frame goes to <see cref="OnCallerAudio"/> (from the receive loop; never waits);</item>
/// <item>reply audio comes back through <see cref="IConversationOutput"/>, from the engine's own thread, as it arrives;</item>
/// <item>a reply the caller talks over is cut off by the pipeline's barge-in detector (its echo reference makes it
/// the guard against the bot's own voice), which tells the engine what was heard (<see cref="OnReplyInterrupted"/>).</item>
/// </list>
/// When the provider fails the engine hands the call to a turn-based fallback (the offline intake, from where the
/// conversation stands): <see cref="IsStreaming"/> turns false and the turn-based members drive the fallback.
/// </summary>
public interface IStreamingConversationEngine : IConversationEngine
{
    /// <summary>True while the engine streams; false before it connected, when it is off for the business, and once it handed over.</summary>
    bool IsStreaming { get; }

    /// <summary>Connects the engine to the call's playback; called once, before <see cref="IConversationEngine.StartAsync"/>.</summary>
    void Attach(IConversationOutput output);

    /// <summary>One caller frame (8 kHz mu-law) at stream time <paramref name="at"/>; <paramref name="callerSpeaking"/> is the local detector's view.</summary>
    void OnCallerAudio(ReadOnlySpan<byte> muLaw, TimeSpan at, bool callerSpeaking);

    /// <summary>The caller talked over a streamed reply and Twilio's buffer was cleared: what they heard of it, from the echoed marks.</summary>
    void OnReplyInterrupted(ReplyHeard heard);
}

/// <summary>
/// What a streaming engine drives on its call, from its own thread. Thread-safe; never waits on the network.
/// </summary>
public interface IConversationOutput
{
    /// <summary>Where the line is now, on the stream clock.</summary>
    TimeSpan Now { get; }

    /// <summary>
    /// Plays reply audio (8 kHz mu-law) as it arrives: appended to the reply <paramref name="replyKey"/> (a provider's
    /// item id), which starts playing at once, after whatever already plays. Audio of a reply that was cut off is dropped.
    /// </summary>
    void Play(string replyKey, ReadOnlySpan<byte> muLaw);

    /// <summary>The reply's audio is complete (its last marks can go out).</summary>
    void EndReply(string replyKey);

    /// <summary>
    /// Asks the receive loop to run <paramref name="next"/> at its next message (within a frame, 20 ms) and play its reply,
    /// bounded and failure-checked like any engine call: how an engine acts on the call on its own (a tool ends it, the
    /// provider failed and the fallback takes over). A reply with no audio and an end waits for what still plays.
    /// </summary>
    void Post(string stage, Func<CancellationToken, Task<ConversationReply>> next);

    /// <summary>
    /// The engine's own turn detection took a caller's turn, whose speech ended at <paramref name="speechEndedAt"/> (stream time):
    /// the call's trace gets a <c>turn</c> span from then until the first audio of the next reply goes to Twilio, as the
    /// pipeline's turns have (the pipeline opens none of its own while the engine streams).
    /// </summary>
    void TurnTaken(TimeSpan speechEndedAt, TimeSpan speechDuration, string engine);

    /// <summary>The engine handed the call to its fallback (it logs and counts that itself): shown on the call's trace.</summary>
    void HandedOver(string reason, string fallback);
}

/// <summary>Creates the engine of one call.</summary>
public interface IConversationEngineFactory
{
    IConversationEngine Create(ConversationContext context);
}

/// <summary>Who the call is, as the pipeline knows it once <c>start</c> was verified.</summary>
public sealed record ConversationContext(string CallSid, string StreamSid, Guid CallId, Guid BusinessId, Guid? CustomerId, bool IsTest);

/// <summary>
/// One caller utterance: its mu-law audio (8 kHz mono), its speech length, what the caller had heard of the last
/// reply, and when (stream time) their speech ended, when the pipeline knows it.
/// </summary>
public sealed record CallerTurn(int Number, ReadOnlyMemory<byte> MuLaw, TimeSpan SpeechDuration, ReplyHeard? LastReply, TimeSpan? SpeechEndedAt = null);

/// <summary>A piece of reply audio (8 kHz mono mu-law) with a label (a prompt key, or a provider's item id).</summary>
public sealed record ReplySegment(string Label, ReadOnlyMemory<byte> MuLaw)
{
    public TimeSpan Duration => TimeSpan.FromTicks(MuLaw.Length * TimeSpan.TicksPerSecond / 8000);
}

/// <summary>How much of a reply the caller really heard, from the marks Twilio echoed.</summary>
public sealed record ReplyHeard(int ReplyId, IReadOnlyList<SegmentHeard> Segments, TimeSpan Heard, TimeSpan Duration, bool Interrupted)
{
    public bool Complete => !Interrupted && Heard >= Duration;
}

public sealed record SegmentHeard(string Label, TimeSpan Heard, TimeSpan Duration);

/// <summary>What happens after a reply has played.</summary>
public enum CallEnd
{
    /// <summary>The conversation goes on: listen for the next turn.</summary>
    None = 0,

    /// <summary>The conversation reached its goodbye: mark it completed, queue the lead notification, hang up.</summary>
    Completed,

    /// <summary>Hang up without a completed conversation (e.g. the caller never answered).</summary>
    HangUp,

    /// <summary>Send the caller to voicemail (close the stream; <c>/webhook/stream_ended</c> answers the recording TwiML).</summary>
    Voicemail,
}

/// <summary>The engine's answer: audio to play (possibly none) and what to do after it.</summary>
public sealed record ConversationReply(IReadOnlyList<ReplySegment> Segments, CallEnd End = CallEnd.None, string? Reason = null)
{
    public static ConversationReply Silence { get; } = new([]);
}
