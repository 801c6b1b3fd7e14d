using System.Security.Cryptography;

namespace AgentLocator.Testing.MediaStreams;

/// <summary>How <see cref="CallSimulator"/> plays Twilio's side of a call.</summary>
public sealed class CallSimulatorOptions
{
    public string AccountSid { get; set; } = NewSid("AC");

    public string CallSid { get; set; } = NewSid("CA");

    public string StreamSid { get; set; } = NewSid("MZ");

    /// <summary>Sent in <c>start.customParameters</c> (the TwiML <c>&lt;Parameter&gt;</c>s).</summary>
    public Dictionary<string, string> CustomParameters { get; set; } = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Tracks { get; set; } = ["inbound"];

    /// <summary>1 = real time (one frame per 20 ms); 4 = four times faster. Stream timestamps stay in line time.</summary>
    public double Speed { get; set; } = 1.0;

    /// <summary>
    /// A clock shared by many calls (one timer ticks every line, as a benchmark of hundreds of calls
    /// needs); null gives the call a clock of its own, paced by <see cref="Speed"/>.
    /// </summary>
    public LineClock? Clock { get; set; }

    /// <summary>
    /// How long after <c>start</c> the line's first frame goes out (stream time 0), its own clock: a media server whose
    /// audio begins late, or a loaded peer, so the line runs this far behind the wall clock the app sees from
    /// <c>start</c> on. The bot's audio that arrives meanwhile plays from stream time 0. Not with a shared <see cref="Clock"/>.
    /// </summary>
    public TimeSpan LineStartDelay { get; set; }

    /// <summary>What the line adds to the caller's audio (the bot's echo, noise); null: a clean line.</summary>
    public Audio.LineConditions? Line { get; set; }

    /// <summary>Bytes per <c>media</c> frame: 160 = 20 ms of 8 kHz mu-law.</summary>
    public int FrameBytes { get; set; } = 160;

    /// <summary>A frame louder than this is "voiced" (caller) or "audible" (bot) for the latency measurement.</summary>
    public double VoicedThresholdDbfs { get; set; } = -45;

    /// <summary>Largest bot message accepted (app → Twilio media may hold seconds of audio).</summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Keep every message the bot sent (<see cref="CallSimulator.Received"/>); off for long or many calls, where only the counters are kept.</summary>
    public bool RecordMessages { get; set; } = true;

    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan FrameDuration => TimeSpan.FromTicks(FrameBytes * TimeSpan.TicksPerSecond / 8000);

    internal TimeSpan FrameInterval => TimeSpan.FromTicks((long)(FrameDuration.Ticks / Speed));

    internal void Validate()
    {
        if (Speed <= 0 || double.IsInfinity(Speed) || double.IsNaN(Speed))
        {
            throw new ArgumentOutOfRangeException(nameof(Speed), Speed, "Speed must be a positive, finite factor.");
        }

        if (LineStartDelay < TimeSpan.Zero || LineStartDelay > TimeSpan.Zero && Clock is not null)
        {
            throw new ArgumentOutOfRangeException(nameof(LineStartDelay), LineStartDelay, "A line start delay is zero or more, and only for a call with its own clock.");
        }

        if (FrameBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(FrameBytes), FrameBytes, "Frames must hold at least one byte.");
        }
    }

    private static string NewSid(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
