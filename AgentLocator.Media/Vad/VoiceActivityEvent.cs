namespace AgentLocator.Media;

public enum VoiceActivityEventKind
{
    None = 0,

    /// <summary>Speech began at <see cref="VoiceActivityEvent.At"/> (the onset, reported once enough voice has followed).</summary>
    SpeechStarted,

    /// <summary>The turn ended: <see cref="VoiceActivityEvent.At"/> is the end of the last voiced frame, <see cref="VoiceActivityEvent.Duration"/> the speech length.</summary>
    SpeechEnded,
}

/// <summary>What a frame changed. Times are stream times (frame timestamps), never the wall clock.</summary>
public readonly record struct VoiceActivityEvent(VoiceActivityEventKind Kind, TimeSpan At, TimeSpan Duration)
{
    public static VoiceActivityEvent None => default;

    public bool IsNone => Kind == VoiceActivityEventKind.None;
}
