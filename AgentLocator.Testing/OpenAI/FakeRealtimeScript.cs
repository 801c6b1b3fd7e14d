namespace AgentLocator.Testing.OpenAI;

/// <summary>
/// What a <see cref="FakeRealtimeServer"/> session says, turn by turn. The n-th caller turn the fake's own voice
/// detector commits is answered by <see cref="Turns"/>[n]: the provider's transcription of the caller's words, then
/// its reply (audio, transcript, tool calls, or a scripted failure). A reply with tool calls is followed, once the
/// client has sent the tool results and <c>response.create</c>, by <see cref="FakeReply.Then"/>.
/// </summary>
public sealed record FakeRealtimeScript(IReadOnlyList<FakeTurn> Turns)
{
    /// <summary>The reply to a <c>response.create</c> the script did not expect (e.g. the client's idle prompt).</summary>
    public FakeReply? Unprompted { get; init; }

    public static FakeRealtimeScript Empty { get; } = new([]);
}

/// <summary>One caller turn: what the provider transcribes the caller as having said, and its reply.</summary>
public sealed record FakeTurn(string CallerTranscript, FakeReply Reply);

/// <summary>
/// A reply: mu-law audio (sent as <c>response.output_audio.delta</c>s faster than real time), its transcript (sent as
/// <c>response.output_audio_transcript.delta</c>s), tool calls (<c>response.function_call_arguments.done</c>), or a
/// failure instead of all of it.
/// </summary>
public sealed record FakeReply(byte[] Audio, string Transcript)
{
    public IReadOnlyList<FakeToolCall> ToolCalls { get; init; } = [];

    /// <summary>The reply after the client answered the tool calls (<c>conversation.item.create</c> + <c>response.create</c>).</summary>
    public FakeReply? Then { get; init; }

    public FakeFailure Failure { get; init; }

    /// <summary>For <see cref="FakeFailure.DropMidReply"/>: how many audio deltas go out before the socket drops.</summary>
    public int DeltasBeforeDrop { get; init; } = 2;

    public static FakeReply Fail(FakeFailure failure) => new([], "") { Failure = failure };

    public static FakeReply ToolsOnly(params FakeToolCall[] calls) => new([], "") { ToolCalls = calls };
}

public sealed record FakeToolCall(string Name, string Arguments);

/// <summary>How a scripted reply fails.</summary>
public enum FakeFailure
{
    None = 0,

    /// <summary>An <c>error</c> event (server_error) instead of a response.</summary>
    ErrorEvent,

    /// <summary>The TCP connection is reset before the response (no close frame).</summary>
    DropSocket,

    /// <summary>The connection is reset after <see cref="FakeReply.DeltasBeforeDrop"/> audio deltas.</summary>
    DropMidReply,

    /// <summary>Nothing at all: the turn is committed and transcribed, and no response ever comes.</summary>
    Silent,

    /// <summary>A response that ends with status <c>failed</c>.</summary>
    FailedResponse,
}

/// <summary>How the fake answers the WebSocket upgrade.</summary>
public enum FakeConnectBehavior
{
    /// <summary>Accepts (with the right key) and speaks the protocol.</summary>
    Accept = 0,

    /// <summary>Answers 401 with OpenAI's error body, whatever the key.</summary>
    Unauthorized,

    /// <summary>Takes the request and never answers it (a provider that hangs).</summary>
    Hang,
}
