using System.Diagnostics;

namespace AgentLocator.MediaWorker.MediaStreams;

/// <summary>A live call whose reply audio the <see cref="PlayoutClock"/> releases.</summary>
internal interface IPlayout
{
    /// <summary>Releases what is due on the call's line by the wall clock (never waits).</summary>
    void ReleaseOnClock();

    /// <summary><see cref="ReleaseOnClock"/> threw: the call must end visibly (logged, counted, the caller sent to voicemail).</summary>
    void PlayoutFailed(Exception exception);
}

/// <summary>
/// One dedicated thread that keeps every live call's reply audio flowing on the wall clock: every 20 ms it asks each call
/// to release what is due on its line as the wall clock estimates it (the last caller frame read plus the time since).
/// The receive loop releases as it reads each of Twilio's frames, which is enough while it keeps up; but its frames wait
/// in the thread pool's queue behind every other call's work, and on a loaded machine that queue backs up: in the
/// media-pipeline benchmark (100 calls on one core with bursts of other work) frames waited there 0.5–0.6 s while a
/// dedicated thread still woke within 40 ms, the worker released reply frames up to 0.67 s after their time on the line,
/// and Twilio's buffer (the playback lead, 600 ms) ran dry inside replies. A thread of its own, asleep between ticks, is
/// run by the OS on time where queued work is not. It only sends (a socket send that cannot complete at once finishes on
/// the pool); a call whose release throws is ended as a failed call, never left mute, and the clock goes on for the others.
/// </summary>
public sealed class PlayoutClock : IDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    private readonly Lock _gate = new();
    private readonly List<IPlayout> _calls = [];
    private readonly List<IPlayout> _tick = [];
    private Thread? _thread;
    private volatile bool _stopped;

    /// <summary>Ticks run so far (for tests: the clock is alive).</summary>
    public long Ticks => Interlocked.Read(ref _ticks);

    private long _ticks;

    /// <summary>Releases <paramref name="call"/>'s audio every tick until the returned handle is disposed; starts the thread on first use.</summary>
    internal IDisposable Add(IPlayout call)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopped, this);
            _calls.Add(call);
            if (_thread is null)
            {
                _thread = new Thread(Run) { IsBackground = true, Name = "playout clock" };
                _thread.Start();
            }
        }

        return new Registration(this, call);
    }

    private void Remove(IPlayout call)
    {
        lock (_gate)
        {
            _calls.Remove(call);
        }
    }

    private void Run()
    {
        var interval = (long)(Interval.TotalSeconds * Stopwatch.Frequency);
        var next = Stopwatch.GetTimestamp();
        while (!_stopped)
        {
            next += interval;
            var now = Stopwatch.GetTimestamp();
            if (next > now)
            {
                Thread.Sleep(Stopwatch.GetElapsedTime(now, next));
            }
            else if (now - next > interval)
            {
                next = now; // held up (the machine, a GC): go on from here, no burst of ticks to catch up
            }

            lock (_gate)
            {
                _tick.Clear();
                _tick.AddRange(_calls);
            }

            foreach (var call in _tick)
            {
                try
                {
                    call.ReleaseOnClock();
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    call.PlayoutFailed(ex);
                }
            }

            Interlocked.Increment(ref _ticks);
        }
    }

    public void Dispose()
    {
        Thread? thread;
        lock (_gate)
        {
            _stopped = true;
            thread = _thread;
        }

        thread?.Join(TimeSpan.FromSeconds(1));
    }

    private sealed class Registration(PlayoutClock clock, IPlayout call) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                clock.Remove(call);
            }
        }
    }
}
