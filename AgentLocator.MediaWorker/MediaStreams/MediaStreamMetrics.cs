using System.Diagnostics.Metrics;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// The live call pipeline's metrics, on the MediaWorker's meter (<c>AgentLocator.MediaWorker</c>):
/// calls whose loop failed (by loop and reason, each one sent to voicemail), caller speech that was
/// not taken as a turn, and bot frames that went out late.
/// </summary>
public sealed class MediaStreamMetrics
{
    public const string MeterName = "AgentLocator.MediaWorker";
    public const string CallFailuresName = "agentlocator.media.call_failures";
    public const string SpeechIgnoredName = "agentlocator.media.speech_ignored";
    public const string LateFramesName = "agentlocator.media.late_frames";

    private readonly Counter<long> _callFailures;
    private readonly Counter<long> _speechIgnored;
    private readonly Counter<long> _lateFrames;

    public MediaStreamMetrics(IMeterFactory meters)
    {
        Meter = meters.Create(MeterName);
        _callFailures = Meter.CreateCounter<long>(CallFailuresName, unit: "{call}",
            description: "Live calls whose send loop, receive loop or engine failed; each was sent to voicemail");
        _speechIgnored = Meter.CreateCounter<long>(SpeechIgnoredName, unit: "{utterance}",
            description: "Caller speech that began under a reply and stopped with it (echo or back-channel), not taken as a turn");
        _lateFrames = Meter.CreateCounter<long>(LateFramesName, unit: "{frame}",
            description: "Bot frames released after their time on the line had passed (the caller heard a gap), counted when the call ends");
    }

    public Meter Meter { get; }

    internal void CallFailed(CallLoop loop, string reason) =>
        _callFailures.Add(1, new KeyValuePair<string, object?>("loop", loop.Name()), new KeyValuePair<string, object?>("reason", reason));

    internal void SpeechIgnored() => _speechIgnored.Add(1);

    internal void LateFrames(long frames)
    {
        if (frames > 0)
        {
            _lateFrames.Add(frames);
        }
    }
}
