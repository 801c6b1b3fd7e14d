using System.Diagnostics;

namespace AgentLocator.Testing.MediaStreams;

/// <summary>
/// One drift-free 20 ms clock for many simulated calls (as a media server paces each of its streams):
/// every tick, each attached call plays a frame of the bot's audio, sends its caller frame and echoes
/// the marks reached; the next tick starts once all have sent. A benchmark of hundreds of calls uses
/// one of these instead of a timer per call. Records how late each tick started.
/// The clock is a dedicated thread, asleep between ticks, as a media server's own clock is: the app under test
/// shares this process's thread pool, and a clock woken through the pool (a timer's continuation) waited in its queue
/// behind the app's work whenever a burst of call starts backed it up (queues of ~265 items, ~200 ms), then caught
/// up by playing the bot's audio faster than real time, which no real peer does. Its ticks still cost this process's
/// CPU, and a send that cannot complete at once is waited for before the next tick (its completion runs on the pool).
/// </summary>
public sealed class LineClock : IAsyncDisposable
{
    private readonly TimeSpan _interval;
    private readonly Lock _gate = new();
    private readonly List<Line> _lines = [];
    private readonly List<double> _lagsMs = [];
    private readonly List<(long At, double LagMs, double WaitedMs)> _tickLags = [];
    private readonly Thread _thread;
    private volatile bool _stopped;

    public LineClock(double speed = 1.0)
    {
        _interval = TimeSpan.FromTicks((long)(TimeSpan.FromMilliseconds(20).Ticks / speed));
        _thread = new Thread(Run) { IsBackground = true, Name = "line clock" };
        _thread.Start();
    }

    /// <summary>How late each tick started (ms), since the last <see cref="ResetLags"/>.</summary>
    public IReadOnlyList<double> LagsMs
    {
        get { lock (_gate) { return [.. _lagsMs]; } }
    }

    /// <summary>
    /// Every tick since the clock started: when it ran (<see cref="Stopwatch"/> timestamp), how late (ms), and how long it waited for
    /// sends that did not complete at once (ms: their completion runs on the thread pool, so a backed-up pool holds the line up there);
    /// not cleared by <see cref="ResetLags"/>.
    /// </summary>
    public IReadOnlyList<(long At, double LagMs, double WaitedMs)> TickLags
    {
        get { lock (_gate) { return [.. _tickLags]; } }
    }

    public void ResetLags()
    {
        lock (_gate)
        {
            _lagsMs.Clear();
        }
    }

    /// <summary>Ticks <paramref name="call"/> from the next tick on; the task completes when its line ends.</summary>
    internal Task Attach(CallSimulator call)
    {
        var line = new Line(call);
        lock (_gate)
        {
            _lines.Add(line);
        }

        return line.Ended.Task;
    }

    public ValueTask DisposeAsync()
    {
        _stopped = true;
        _thread.Join(TimeSpan.FromSeconds(5)); // the tick under way finishes; a send that hangs is the lines' to end
        lock (_gate)
        {
            foreach (var line in _lines)
            {
                line.Ended.TrySetResult();
            }
        }

        return ValueTask.CompletedTask;
    }

    private void Run()
    {
        var clock = Stopwatch.StartNew();
        var pending = new List<(Line Line, Task<bool> Tick)>();
        var lines = new List<Line>();
        for (long tick = 0; !_stopped; tick++)
        {
            var due = _interval * tick;
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                Thread.Sleep(wait);
            }

            lines.Clear();
            var ranAt = Stopwatch.GetTimestamp();
            var lag = clock.Elapsed - due;
            lock (_gate)
            {
                _lagsMs.Add(Math.Max(0, lag.TotalMilliseconds));
                lines.AddRange(_lines);
            }

            pending.Clear();
            foreach (var line in lines)
            {
                var step = line.Call.SharedTickAsync(lag);
                if (step.IsCompletedSuccessfully)
                {
                    if (!step.Result)
                    {
                        End(line);
                    }
                }
                else
                {
                    pending.Add((line, step.AsTask()));
                }
            }

            var waitFrom = Stopwatch.GetTimestamp();
            foreach (var (line, step) in pending)
            {
                // Blocks this thread, not the pool: the step's rest runs on the pool once its send completes.
                if (!step.GetAwaiter().GetResult())
                {
                    End(line);
                }
            }

            var waited = pending.Count > 0 ? Stopwatch.GetElapsedTime(waitFrom).TotalMilliseconds : 0;
            lock (_gate)
            {
                _tickLags.Add((ranAt, Math.Max(0, lag.TotalMilliseconds), waited));
            }
        }
    }

    private void End(Line line)
    {
        lock (_gate)
        {
            _lines.Remove(line);
        }

        line.Ended.TrySetResult();
    }

    private sealed class Line(CallSimulator call)
    {
        public CallSimulator Call => call;

        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
