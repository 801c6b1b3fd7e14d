using System.Diagnostics;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>
/// Process-wide counters of the media pipeline: live streams, frames, and a lock-free histogram of
/// per-frame processing time (10 µs buckets up to 10 ms). Read by benchmarks and diagnostics.
/// </summary>
public sealed class MediaStreamStats
{
    private const int BucketMicros = 10;
    private readonly long[] _buckets = new long[1001];
    private long _activeStreams;
    private long _frames;
    private long _maxTicks;

    private readonly System.Collections.Concurrent.ConcurrentQueue<LateRelease> _lateReleases = new();

    /// <summary>
    /// Reply frames the worker wrote after their time on the line had passed on the wall clock: the wall time since the
    /// stream's <c>start</c> beyond the frame's place on the stream clock (a peer whose line keeps real time from its start,
    /// as Twilio's does, played its buffer dry there unless the frame reached it first). The first 10,000.
    /// </summary>
    public IReadOnlyList<LateRelease> LateReleases => [.. _lateReleases];

    /// <summary>A reply frame written <see cref="Late"/> after its due time on the wall clock, at <see cref="At"/> (<see cref="Stopwatch"/> timestamp).</summary>
    public readonly record struct LateRelease(long At, TimeSpan Late);

    private readonly System.Collections.Concurrent.ConcurrentQueue<StreamStartTiming> _starts = new();

    /// <summary>Each stream's start (the first 10,000), phase by phase: where the time between <c>start</c> and its first reply went.</summary>
    public IReadOnlyList<StreamStartTiming> Starts => [.. _starts];

    /// <summary>
    /// One stream's start, on the wall clock from its <c>start</c> message being read (<see cref="At"/>, a <see cref="Stopwatch"/>
    /// timestamp): the session lookup, the call's records (Postgres, the watchdog), the engine's first reply, and that reply scheduled
    /// with its first frames released. Meanwhile Twilio's frames queue unread: the receive loop reads the backlog afterwards.
    /// </summary>
    public readonly record struct StreamStartTiming(long At, TimeSpan Lookup, TimeSpan Records, TimeSpan Engine, TimeSpan FirstRelease)
    {
        public TimeSpan Total => Lookup + Records + Engine + FirstRelease;
    }

    public long ActiveStreams => Interlocked.Read(ref _activeStreams);

    public long Frames => Interlocked.Read(ref _frames);

    public TimeSpan MaxFrameTime => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _maxTicks));

    internal void StreamOpened() => Interlocked.Increment(ref _activeStreams);

    internal void StreamClosed() => Interlocked.Decrement(ref _activeStreams);

    internal void RecordFrame(long elapsedTimestampTicks)
    {
        Interlocked.Increment(ref _frames);
        var micros = elapsedTimestampTicks * 1_000_000 / Stopwatch.Frequency;
        Interlocked.Increment(ref _buckets[Math.Min(micros / BucketMicros, _buckets.Length - 1)]);
        var max = Interlocked.Read(ref _maxTicks);
        while (elapsedTimestampTicks > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxTicks, elapsedTimestampTicks, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    /// <summary>A release whose first frame was due <paramref name="late"/> ago on the wall clock (negative: ahead of the line, as it should be).</summary>
    internal void RecordRelease(TimeSpan late)
    {
        if (late > TimeSpan.Zero && _lateReleases.Count < 10_000)
        {
            _lateReleases.Enqueue(new LateRelease(Stopwatch.GetTimestamp(), late));
        }
    }

    internal void RecordStart(StreamStartTiming timing)
    {
        if (_starts.Count < 10_000)
        {
            _starts.Enqueue(timing);
        }
    }

    public void ClearStarts() => _starts.Clear();

    /// <summary>The per-frame processing time at quantile <paramref name="q"/> (upper bucket bound).</summary>
    public TimeSpan FrameTimeQuantile(double q)
    {
        var counts = _buckets.Select(b => Interlocked.Read(ref b)).ToArray();
        var total = counts.Sum();
        if (total == 0)
        {
            return TimeSpan.Zero;
        }

        var target = (long)Math.Ceiling(total * q);
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= target)
            {
                return TimeSpan.FromMicroseconds((i + 1) * BucketMicros);
            }
        }

        return TimeSpan.FromMicroseconds(counts.Length * BucketMicros);
    }

    public void Reset()
    {
        Array.Clear(_buckets);
        Interlocked.Exchange(ref _frames, 0);
        Interlocked.Exchange(ref _maxTicks, 0);
    }

    public void ClearLateReleases() => _lateReleases.Clear();
}
