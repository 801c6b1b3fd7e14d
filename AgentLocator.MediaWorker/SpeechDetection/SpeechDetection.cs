using AgentLocator.Media;

namespace AgentLocator.MediaWorker.SpeechDetection;

/// <summary>
/// The caller's speech detector, as turn taking uses it: one per call, fed every inbound frame in
/// stream time, reporting where speech starts and where the turn ends (after the silence window).
/// The seam for swapping detectors: register another <see cref="ISpeechDetectorFactory"/>. Disposed
/// with the call.
/// </summary>
public interface ISpeechDetector : IDisposable
{
    /// <summary>True between <c>SpeechStarted</c> and <c>SpeechEnded</c>.</summary>
    bool IsSpeaking { get; }

    /// <summary>Whether the last frame processed was voice.</summary>
    bool LastFrameVoiced { get; }

    /// <summary>The onset of the current (or last) speech.</summary>
    TimeSpan SpeechStartedAt { get; }

    /// <summary>The line's noise floor, for the barge-in threshold.</summary>
    double NoiseFloorDbfs { get; }

    /// <summary>Processes one 8 kHz mu-law frame that starts at <paramref name="timestamp"/> (stream time).</summary>
    VoiceActivityEvent Process(ReadOnlySpan<byte> muLaw, TimeSpan timestamp);
}

/// <summary>Creates each call's <see cref="ISpeechDetector"/>.</summary>
public interface ISpeechDetectorFactory
{
    /// <summary>What runs, for the start-up log line and the metrics (<c>silero</c>, <c>energy</c>).</summary>
    string Name => GetType().Name;

    /// <param name="endOfTurnSilence">Silence after the last voiced frame that ends the caller's turn (<c>MediaStream:SilenceWindow</c>).</param>
    ISpeechDetector Create(TimeSpan endOfTurnSilence);
}

/// <summary>The energy detector (<see cref="VoiceActivityDetector"/>): adaptive noise floor, no model. The fallback when the Silero model is absent.</summary>
public sealed class EnergySpeechDetectorFactory : ISpeechDetectorFactory
{
    public string Name => "energy";

    public ISpeechDetector Create(TimeSpan endOfTurnSilence) =>
        new EnergySpeechDetector(new VoiceActivityDetector(new VoiceActivityOptions { EndOfTurnSilence = endOfTurnSilence }));

    private sealed class EnergySpeechDetector(VoiceActivityDetector vad) : ISpeechDetector
    {
        public bool IsSpeaking => vad.IsSpeaking;

        public bool LastFrameVoiced => vad.LastFrameVoiced;

        public TimeSpan SpeechStartedAt => vad.SpeechStartedAt;

        public double NoiseFloorDbfs => vad.NoiseFloorDbfs;

        public VoiceActivityEvent Process(ReadOnlySpan<byte> muLaw, TimeSpan timestamp) => vad.Process(muLaw, timestamp);

        public void Dispose()
        {
        }
    }
}
