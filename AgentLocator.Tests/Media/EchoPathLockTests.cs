using AgentLocator.Media;

namespace AgentLocator.Tests.Media;

/// <summary>
/// The echo path lock on its own: delay estimates as the canceller's searches make them (sample times and
/// delays at 8 kHz), right ones at 340 ms, a wrong peak at 527 ms (a syllable's rhythm away).
/// </summary>
public sealed class EchoPathLockTests
{
    private const int TrueDelay = 340 * 8;
    private const int WrongDelay = 527 * 8;
    private const int Window = EchoPathLock.MinSpacing;

    [Fact]
    public void OneEstimateIsNotEnoughToLock()
    {
        var path = new EchoPathLock();

        Assert.False(path.Offer(at: 8000, TrueDelay, correlation: 0.98, runnerUp: 0.2));
        Assert.Null(path.Delay);
    }

    [Fact]
    public void TwoIndependentEstimatesThatAgreeLockTheDelay()
    {
        var path = new EchoPathLock();
        path.Offer(8000, TrueDelay, 0.97, 0.3);

        Assert.True(path.Offer(8000 + Window, TrueDelay + 5, 0.95, 0.4));
        Assert.Equal(TrueDelay + 5, path.Delay);
        Assert.Equal(1, path.Changes);
    }

    [Fact]
    public void EstimatesFromOverlappingWindowsAreOneVote()
    {
        var path = new EchoPathLock();
        for (var at = 8000; at < 8000 + Window; at += 800) // a search every 100 ms, all within one 300 ms window of the first
        {
            path.Offer(at, TrueDelay, 0.97, 0.3);
        }

        Assert.Null(path.Delay);
    }

    [Fact]
    public void AnEstimateWhosePeakIsNotClearlyAboveTheRunnerUpIsNoVote()
    {
        var path = new EchoPathLock();
        for (var at = 8000; at < 8 * 8000; at += Window)
        {
            path.Offer(at, WrongDelay, correlation: 0.93, runnerUp: 0.85);
        }

        Assert.Null(path.Delay);
        Assert.Equal(0, path.Votes);
    }

    [Fact]
    public void AnEstimateUnderTheLockCorrelationIsNoVote()
    {
        var path = new EchoPathLock();
        for (var at = 8000; at < 8 * 8000; at += Window)
        {
            path.Offer(at, TrueDelay, correlation: 0.7, runnerUp: 0.1); // a caller talking over the echo
        }

        Assert.Null(path.Delay);
    }

    [Fact]
    public void DisagreeingEstimatesDoNotLock()
    {
        var path = new EchoPathLock();
        path.Offer(8000, TrueDelay, 0.97, 0.3);
        path.Offer(8000 + Window, WrongDelay, 0.96, 0.3);
        path.Offer(8000 + 2 * Window, TrueDelay + 200, 0.95, 0.3);

        Assert.Null(path.Delay);
    }

    [Fact]
    public void AWrongPeakAmongAgreeingEstimatesDoesNotMoveTheLock()
    {
        var path = new EchoPathLock();
        path.Offer(8000, TrueDelay, 0.97, 0.3);
        path.Offer(8000 + Window, TrueDelay, 0.97, 0.3);

        Assert.False(path.Offer(8000 + 2 * Window, WrongDelay, 0.95, 0.5));
        path.Offer(8000 + 3 * Window, TrueDelay, 0.97, 0.3);
        Assert.Equal(TrueDelay, path.Delay);
        Assert.Equal(1, path.Changes);
    }

    [Fact]
    public void APathThatMovesMidCallIsFollowedOnceTwoEstimatesAgreeOnIt()
    {
        var path = new EchoPathLock();
        path.Offer(8000, TrueDelay, 0.97, 0.3);
        path.Offer(8000 + Window, TrueDelay, 0.97, 0.3);

        // Playback fell 187 ms behind: the echo now comes back at 527 ms.
        Assert.False(path.Offer(5 * 8000, WrongDelay, 0.96, 0.3));
        Assert.Equal(TrueDelay, path.Delay);
        Assert.True(path.Offer(5 * 8000 + Window, WrongDelay - 3, 0.96, 0.3));
        Assert.Equal(WrongDelay - 3, path.Delay);
        Assert.Equal(2, path.Changes);
    }

    [Fact]
    public void EstimatesTooFarApartInTimeDoNotAgree()
    {
        var path = new EchoPathLock();
        path.Offer(8000, TrueDelay, 0.97, 0.3);

        Assert.False(path.Offer(8000 + EchoPathLock.Memory + 1, TrueDelay, 0.97, 0.3));
        Assert.Null(path.Delay);
    }
}
