namespace AgentLocator.MediaWorker.Conversation;

/// <summary>
/// The seam between the media pipeline and whatever decides what the receptionist says.
/// The pipeline (<see cref="MediaStreams.MediaStreamSession"/>) owns the telephone side: framing,
/// VAD, end of turn, pacing, marks, barge-in, idle timers, hang-up and voicemail. An engine sees
/// only whole caller turns (8 kHz mu-law audio of one utterance plus what the caller really heard
/// of the previous reply) and answers with audio to play and what to do next.
/// <para>
/// The default <see cref="IntakeConversationEngine"/> plays pre-rendered Hebrew prompts and needs
/// no network. An LLM + STT/TTS engine, or a speech-to-speech provider such as OpenAI Realtime
/// (mu-law 8 kHz in and out, so no transcoding), plugs in by registering another
/// <see cref="IConversationEngineFactory"/>: it sends <see cref="CallerTurn.MuLaw"/> as the input
/// audio, returns the provider's audio as <see cref="ReplySegment"/>s, and uses
/// <see cref="ReplyHeard"/> to truncate its own conversation item to what the caller heard.
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

/// <summary>Creates the engine of one call.</summary>
public interface IConversationEngineFactory
{
    IConversationEngine Create(ConversationContext context);
}

/// <summary>Who the call is, as the pipeline knows it once <c>start</c> was verified.</summary>
public sealed record ConversationContext(string CallSid, string StreamSid, Guid CallId, Guid BusinessId, Guid? CustomerId, bool IsTest);

/// <summary>One caller utterance: its mu-law audio (8 kHz mono), its speech length, and what the caller had heard of the last reply.</summary>
public sealed record CallerTurn(int Number, ReadOnlyMemory<byte> MuLaw, TimeSpan SpeechDuration, ReplyHeard? LastReply);

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
