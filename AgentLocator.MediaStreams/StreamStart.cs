namespace AgentLocator.MediaStreams;

/// <summary>The <c>start</c> message's body: who the call is and how its audio is encoded.</summary>
public sealed class StreamStart
{
    public required string StreamSid { get; init; }

    public required string AccountSid { get; init; }

    public required string CallSid { get; init; }

    /// <summary>For example <c>["inbound"]</c>.</summary>
    public IReadOnlyList<string> Tracks { get; init; } = ["inbound"];

    /// <summary>The <c>&lt;Parameter name value/&gt;</c> pairs of the TwiML <c>&lt;Stream&gt;</c>.</summary>
    public IReadOnlyDictionary<string, string> CustomParameters { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public MediaFormat MediaFormat { get; init; } = MediaFormat.MuLaw8Khz;
}

/// <summary><c>start.mediaFormat</c>; <c>sampleRate</c> and <c>channels</c> are JSON numbers.</summary>
public sealed record MediaFormat(string Encoding, int SampleRate, int Channels)
{
    public const string MuLawEncoding = "audio/x-mulaw";

    /// <summary>What Twilio sends on a phone call: G.711 mu-law, 8 kHz, mono.</summary>
    public static MediaFormat MuLaw8Khz { get; } = new(MuLawEncoding, 8000, 1);

    public bool IsMuLaw8KhzMono => Encoding == MuLawEncoding && SampleRate == 8000 && Channels == 1;
}
