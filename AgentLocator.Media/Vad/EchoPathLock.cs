namespace AgentLocator.Media;

/// <summary>
/// Decides which echo delay <see cref="EchoCanceller"/> cancels at, from the delay estimates its searches make.
/// One estimate can be wrong: speech has a rhythm (syllables every ~200 ms), so the line can correlate with the
/// bot's audio at a second delay almost as well as at the true one, and a playback that fell behind moves the
/// true delay. So an estimate is a vote only when it is clear (the waveforms correlate at
/// ≥ <see cref="EchoCanceller.LockCorrelation"/> there, and the best other delay correlates at least
/// <see cref="PeakMargin"/> less), and a delay is adopted, or changed, only when <see cref="VotesToLock"/>
/// independent votes (their windows <see cref="MinSpacing"/> apart, within the last <see cref="Memory"/>) agree
/// within <see cref="Tolerance"/>. Times and delays are in samples (8 kHz). Not thread-safe.
/// </summary>
public sealed class EchoPathLock
{
    /// <summary>Votes that agree within this are the same delay: 2 ms.</summary>
    public const int Tolerance = 16;

    public const int VotesToLock = 2;

    /// <summary>Votes count as independent when their windows do not overlap: 300 ms, the waveform window a search correlates.</summary>
    public const int MinSpacing = 2400;

    /// <summary>Votes older than 4 s are forgotten (the path may have moved since).</summary>
    public const long Memory = 4 * 8000;

    /// <summary>How much better the peak must correlate than the best other delay.</summary>
    public const double PeakMargin = 0.2;

    private readonly List<(long At, int Delay)> _votes = [];

    /// <summary>The delay adopted (null until enough votes agree).</summary>
    public int? Delay { get; private set; }

    /// <summary>How many times a delay was adopted (the first lock and each change).</summary>
    public int Changes { get; private set; }

    /// <summary>Votes counted so far (clear estimates).</summary>
    public int Votes { get; private set; }

    /// <summary>
    /// One estimate, made at sample <paramref name="at"/>: the best delay and its waveform correlation, and the
    /// correlation of the best other delay (0 when none). Returns whether <see cref="Delay"/> changed.
    /// </summary>
    public bool Offer(long at, int delay, double correlation, double runnerUp)
    {
        if (correlation < EchoCanceller.LockCorrelation || correlation - runnerUp < PeakMargin)
        {
            return false;
        }

        Votes++;
        _votes.RemoveAll(v => at - v.At > Memory);
        _votes.Add((at, delay));

        // Newest first: the votes that agree with this one, each a window apart from the last counted.
        var agreeing = 0;
        var last = long.MaxValue;
        for (var i = _votes.Count - 1; i >= 0 && agreeing < VotesToLock; i--)
        {
            var (voteAt, voteDelay) = _votes[i];
            if (Math.Abs(voteDelay - delay) <= Tolerance && last - voteAt >= MinSpacing)
            {
                agreeing++;
                last = voteAt;
            }
        }

        if (agreeing < VotesToLock || (Delay is { } current && Math.Abs(current - delay) <= Tolerance))
        {
            return false;
        }

        Delay = delay;
        Changes++;
        return true;
    }

    /// <summary>Forgets the votes and the delay (a new line).</summary>
    public void Reset()
    {
        _votes.Clear();
        Delay = null;
    }
}
