using AgentLocator.Media;
using AgentLocator.Tests.RealTime;

namespace AgentLocator.Tests.Media;

/// <summary>
/// Barge-in on a speakerphone frame by frame through <see cref="BargeInListener"/> (echo canceller + detector), on
/// lines whose echo path is hard to lock onto: playback that falls behind mid-reply (the echo's delay jumps from
/// 340 to 527 ms), and bot audio with a rhythm that correlates as well at a wrong delay as at the true one.
/// </summary>
public sealed class BargeInListenerTests
{
    private const int EchoDelay = 340 * 8;
    private const int Stall = 187 * 8;
    private const double EchoGain = 0.5; // −6 dB

    private static byte[] Prompt(string key) => RealTimeScenarios.Prompts[key].MuLaw.ToArray();

    /// <summary>Three of the receptionist's questions back to back, as one reply (4-5 s).</summary>
    private static byte[] Reply => [.. Prompt(PromptKeys.AskName), .. Prompt(PromptKeys.AskReason), .. Prompt(PromptKeys.AskCallbackTime)];

    private sealed record Result(List<int> BargeIns, List<int> LockedDelays, BargeInListener Listener);

    /// <summary>
    /// The line: the reply's echo <see cref="EchoDelay"/> late; from <paramref name="stallAt"/> on (line sample), playback stalls
    /// for <see cref="Stall"/> and resumes that much later; plus <paramref name="caller"/> from <paramref name="callerAt"/>.
    /// Returns where the barge-in fired (end of the frame; the run stops there) and each (re)locked delay.
    /// </summary>
    private static Result Run(byte[] bot, int stallAt = int.MaxValue, byte[]? caller = null, int callerAt = 0)
    {
        var reference = MuLaw.Decode(bot);
        var length = (reference.Length + EchoDelay + Stall + 8 * 1000) / 160 * 160;
        var line = new double[length];
        for (var n = 0; n < length; n++)
        {
            var source = n < stallAt ? n - EchoDelay : n < stallAt + Stall ? -1 : n - EchoDelay - Stall;
            line[n] = source >= 0 && source < reference.Length ? reference[source] * EchoGain : 0;
        }

        if (caller is not null)
        {
            var voice = MuLaw.Decode(caller);
            for (var i = 0; i < voice.Length && callerAt + i < length; i++)
            {
                line[callerAt + i] += voice[i];
            }
        }

        var inbound = MuLaw.Encode(line.Select(s => (short)Math.Clamp(Math.Round(s), short.MinValue, short.MaxValue)).ToArray());
        var listener = new BargeInListener();
        var result = new Result([], [], listener);
        var locks = 0;
        for (var o = 0; o + 160 <= length; o += 160)
        {
            var scheduled = o < bot.Length ? bot.AsSpan(o, Math.Min(160, bot.Length - o)) : [];
            listener.Process(inbound.AsSpan(o, 160), scheduled, playing: true, TimeSpan.FromTicks(o * TimeSpan.TicksPerSecond / 8000), -65, out var bargeIn);
            if (bargeIn)
            {
                result.BargeIns.Add(o + 160);
                break; // the reply is cleared: nothing more to interrupt
            }

            if (listener.Echo.Locks != locks)
            {
                locks = listener.Echo.Locks;
                result.LockedDelays.Add(listener.Echo.DelaySamples);
            }
        }

        return result;
    }

    [Fact]
    public void PlaybackFallingBehindMidReplyMovesTheLockWithoutInterruptingTheBot()
    {
        var run = Run(Reply, stallAt: 8 * 2000);

        Assert.Empty(run.BargeIns);
        Assert.Equal(2, run.LockedDelays.Count);
        Assert.InRange(run.LockedDelays[0], EchoDelay - EchoPathLock.Tolerance, EchoDelay + EchoPathLock.Tolerance);
        Assert.InRange(run.LockedDelays[1], EchoDelay + Stall - EchoPathLock.Tolerance, EchoDelay + Stall + EchoPathLock.Tolerance);
    }

    [Fact]
    public void ACallerAtTheEchosLevelRightAfterThePathMovedInterruptsWithin400Ms()
    {
        var answer = RealTimeLineScenarios.AnswerAtEchoLevel;
        var stallAt = 8 * 2000;
        var callerAt = stallAt + Stall + 8 * 300; // 300 ms after the echo resumed on its new path
        var run = Run(Reply, stallAt, answer, callerAt);

        var onset = callerAt + RealTimeScenarios.VoiceStart(answer);
        var fired = Assert.Single(run.BargeIns);
        Assert.InRange((fired - onset) / 8, 1, 400);
    }

    [Fact]
    public void ACallerAtTheEchosLevelBeforeAnyPathIsLockedInterruptsWithin400Ms()
    {
        var answer = RealTimeLineScenarios.AnswerAtEchoLevel;
        var callerAt = EchoDelay + 8 * 300; // 300 ms into the first echo: one estimate at most, nothing locked yet
        var run = Run(Reply, caller: answer, callerAt: callerAt);

        var onset = callerAt + RealTimeScenarios.VoiceStart(answer);
        var fired = Assert.Single(run.BargeIns);
        Assert.InRange((fired - onset) / 8, 1, 400);
    }

    [Fact]
    public void BotAudioWithARhythmIsNeverLockedAtTheWrongDelay()
    {
        // The first 1.1 s of the reply repeat one 187 ms syllable: the echo correlates as well at 527 ms as at 340 ms.
        var syllable = Prompt(PromptKeys.AskName).AsSpan(8 * 200, Stall).ToArray();
        byte[] bot = [.. Enumerable.Repeat(syllable, 6).SelectMany(s => s), .. Reply];
        var run = Run(bot);

        Assert.Empty(run.BargeIns);
        Assert.NotEmpty(run.LockedDelays);
        Assert.All(run.LockedDelays, d => Assert.InRange(d, EchoDelay - EchoPathLock.Tolerance, EchoDelay + EchoPathLock.Tolerance));
    }
}
