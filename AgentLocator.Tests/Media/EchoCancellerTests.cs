using AgentLocator.Media;
using AgentLocator.Testing.Audio;
using AgentLocator.Tests.MediaWorker;
using AgentLocator.Tests.RealTime;

namespace AgentLocator.Tests.Media;

/// <summary>
/// The echo canceller frame by frame, as a call runs it: the reference is the bot's prompt as scheduled, the
/// line carries it back 6 dB down after a delay the canceller is not told, mu-law encoded as Twilio sends it.
/// </summary>
public sealed class EchoCancellerTests
{
    private static byte[] Question => PipelineAssertions.Prompts[PromptKeys.AskName].MuLaw.ToArray();

    private sealed record Line(byte[] Inbound, byte[] Residual, EchoCanceller Canceller);

    /// <summary>The question's echo (<paramref name="echoGainDb"/>, <paramref name="delaySamples"/> late) plus the caller's audio from <paramref name="callerAt"/>.</summary>
    private static Line Run(double echoGainDb, int delaySamples, byte[]? caller = null, int callerAt = 0)
    {
        var question = MuLaw.Decode(Question);
        var length = (question.Length + delaySamples + 8 * 1500) / 160 * 160;
        var line = new short[length];
        var gain = Math.Pow(10, echoGainDb / 20);
        for (var i = 0; i < question.Length; i++)
        {
            line[i + delaySamples] = (short)Math.Round(question[i] * gain);
        }

        if (caller is not null)
        {
            var callerPcm = MuLaw.Decode(caller);
            for (var i = 0; i < callerPcm.Length && callerAt + i < length; i++)
            {
                line[callerAt + i] = (short)Math.Clamp(line[callerAt + i] + callerPcm[i], short.MinValue, short.MaxValue);
            }
        }

        var inbound = MuLaw.Encode(line);
        var canceller = new EchoCanceller();
        var residual = new byte[length];
        var bot = Question;
        for (var o = 0; o < length; o += 160)
        {
            var reference = o < bot.Length ? bot.AsSpan(o, Math.Min(160, bot.Length - o)) : [];
            canceller.Process(inbound.AsSpan(o, 160), reference, residual.AsSpan(o, 160));
        }

        return new Line(inbound, residual, canceller);
    }

    private static double Level(byte[] muLaw, int from, int to) => NoiseSignals.RmsDbfs(MuLaw.Decode(muLaw.AsSpan(from, to - from)));

    [Theory]
    [InlineData(60 * 8)]
    [InlineData(180 * 8 + 3)]
    [InlineData(320 * 8)]
    [InlineData(5)]
    public void ASpeakerphonesEchoIsFoundAndRemovedByAtLeast25Db(int delaySamples)
    {
        var run = Run(-6, delaySamples);

        Assert.True(run.Canceller.IsLocked, "no echo path found");
        Assert.Equal(delaySamples, run.Canceller.DelaySamples);
        // From 300 ms after the echo began to its end.
        var from = delaySamples + 8 * 300;
        var to = delaySamples + Question.Length;
        var echo = Level(run.Inbound, from, to);
        var residual = Level(run.Residual, from, to);
        Assert.True(echo - residual >= 25, $"echo {echo:F1} dBFS, residual {residual:F1} dBFS");
    }

    [Theory]
    [InlineData(60)]
    [InlineData(320)]
    public void ACallerAtTheEchosLevelIsKeptWhileTheEchoUnderItIsRemoved(int delayMs)
    {
        var answer = RealTimeLineScenarios.AnswerAtEchoLevel;
        var callerAt = 8 * 500;
        var run = Run(-6, 8 * delayMs, answer, callerAt);

        var voiceFrom = callerAt + RealTimeScenarios.VoiceStart(answer);
        var voiceTo = callerAt + RealTimeScenarios.VoiceEnd(answer);
        var caller = NoiseSignals.RmsDbfs(MuLaw.Decode(answer.AsSpan(voiceFrom - callerAt, voiceTo - voiceFrom)));
        var heard = Level(run.Residual, voiceFrom, voiceTo);
        Assert.InRange(heard - caller, -1.5, 1.5);
        // The caller did not pull the canceller off the echo path.
        Assert.Equal(8 * delayMs, run.Canceller.DelaySamples);
        Assert.Equal(1, run.Canceller.Locks);
    }

    [Fact]
    public void WithoutAnEchoTheCallersFramesPassUnchanged()
    {
        var answer = RealTimeScenarios.Audio("caller_name_he.wav");
        var canceller = new EchoCanceller();
        var line = Signals.Concat(Signals.Silence(300), answer, Signals.Silence(300));
        var question = Question;
        var residual = new byte[160];
        for (var o = 0; o + 160 <= line.Length; o += 160)
        {
            var bot = o < question.Length ? question.AsSpan(o, Math.Min(160, question.Length - o)) : [];
            canceller.Process(line.AsSpan(o, 160), bot, residual);
            Assert.Equal(line.AsSpan(o, 160).ToArray(), residual);
        }

        Assert.False(canceller.IsLocked);
        Assert.False(canceller.ExplainsRecentAudioAsEcho());
    }

    /// <summary>
    /// The adaptive filter is for a room's echo and carries about 125 KiB: a line with no echo never makes it, though the bot
    /// talks for three replies and the caller answers between them and talks over the second.
    /// </summary>
    [Fact]
    public void ALineWithoutAnEchoNeverMakesTheAdaptiveFilter()
    {
        var question = Question;
        var answer = MuLaw.Decode(RealTimeScenarios.Audio("caller_name_he.wav"));
        var spacing = (question.Length + 8 * 1500 + answer.Length) / 160 * 160;
        var noise = NoiseSignals.White(3 * spacing, -65, seed: 7);
        var line = new short[3 * spacing];
        for (var n = 0; n < line.Length; n++)
        {
            var at = n % spacing;
            var answerAt = n < spacing || n >= 2 * spacing ? at - question.Length - 8 * 300 : at - 8 * 1000; // over the second reply
            var caller = answerAt >= 0 && answerAt < answer.Length ? answer[answerAt] : 0;
            line[n] = (short)Math.Clamp(noise[n] + caller, short.MinValue, short.MaxValue);
        }

        var inbound = MuLaw.Encode(line);
        var canceller = new EchoCanceller();
        var residual = new byte[160];
        for (var o = 0; o + 160 <= inbound.Length; o += 160)
        {
            var at = o % spacing;
            var bot = at < question.Length ? question.AsSpan(at, Math.Min(160, question.Length - at)) : [];
            canceller.Process(inbound.AsSpan(o, 160), bot, residual);
        }

        Assert.False(canceller.IsLocked);
        Assert.Null(canceller.Adaptive);
    }

    [Theory]
    [InlineData(60 * 8)]
    [InlineData(320 * 8)]
    public void APlainEchoTheFilterLocksOntoNeverMakesTheAdaptiveFilter(int delaySamples)
    {
        var run = Run(-6, delaySamples);

        Assert.True(run.Canceller.IsLocked, "no echo path found");
        Assert.Null(run.Canceller.Adaptive);
    }

    [Fact]
    public void TheEchoOnAPathNotLockedOntoYetIsRecognisedBeforeABargeInFires()
    {
        // The echo moves from 60 to 250 ms between two replies: right after the move the old path explains nothing.
        var run = Run(-6, 60 * 8);
        Assert.Equal(60 * 8, run.Canceller.DelaySamples);
        var question = MuLaw.Decode(Question);
        var echo = new short[8 * 250 + 8 * 800];
        for (var i = 0; i < 8 * 800; i++)
        {
            echo[8 * 250 + i] = (short)(question[8 * 300 + i] / 2);
        }

        var inbound = MuLaw.Encode(echo);
        var residual = new byte[160];
        // The check runs 200 ms after the echo came back on its new path (the soonest a barge-in on it could fire).
        for (var o = 0; o + 160 <= 8 * (250 + 200); o += 160)
        {
            var at = 8 * 300 + o;
            run.Canceller.Process(inbound.AsSpan(o, 160), Question.AsSpan(at, 160), residual);
        }

        Assert.Equal(60 * 8, run.Canceller.DelaySamples);
        Assert.True(run.Canceller.ExplainsRecentAudioAsEcho(), $"locks {run.Canceller.Locks} delay {run.Canceller.DelaySamples} corr {run.Canceller.LockedCorrelation} last {run.Canceller.LastSearch}");
        Assert.InRange(run.Canceller.LastSearch.DelaySamples, 250 * 8 - EchoPathLock.Tolerance, 250 * 8 + EchoPathLock.Tolerance);
    }

    /// <summary>
    /// The question plays; the line carries its echo (<paramref name="echoGainDb"/>, null: none) 180 ms late and the caller's answer
    /// (<paramref name="callerDb"/> relative to the fixture) from 300 ms. Calls <paramref name="onFrame"/> after each frame with its start (ms).
    /// </summary>
    private static EchoCanceller RunWithCaller(double? echoGainDb, double callerDb, Action<EchoCanceller, int> onFrame)
    {
        var question = MuLaw.Decode(Question);
        var caller = MuLaw.Decode(RealTimeScenarios.Quieter(RealTimeScenarios.Audio("caller_name_he.wav"), -callerDb));
        var length = (question.Length + 8 * 1500) / 160 * 160;
        var line = new double[length];
        var echoGain = echoGainDb is { } db ? Math.Pow(10, db / 20) : 0;
        for (var i = 0; i < question.Length && i + 8 * 180 < length; i++)
        {
            line[i + 8 * 180] += question[i] * echoGain;
        }

        for (var i = 0; i < caller.Length && 8 * 300 + i < length; i++)
        {
            line[8 * 300 + i] += caller[i];
        }

        var inbound = MuLaw.Encode(line.Select(v => (short)Math.Clamp(Math.Round(v), short.MinValue, short.MaxValue)).ToArray());
        var canceller = new EchoCanceller();
        var residual = new byte[160];
        for (var o = 0; o + 160 <= length; o += 160)
        {
            var reference = o < Question.Length ? Question.AsSpan(o, Math.Min(160, Question.Length - o)) : [];
            canceller.Process(inbound.AsSpan(o, 160), reference, residual);
            onFrame(canceller, o / 8);
        }

        return canceller;
    }

    [Fact]
    public void ACallerOverTheEchoOfTheLockedPathIsNotTakenForTheEcho()
    {
        // A caller well under the echo talks over it once the path is locked: the echo dominates the last 400 ms, which
        // correlate with the bot's audio at the locked delay; the caller is what was left after it came out.
        var explainedAsEcho = new List<int>();
        var checks = 0;
        RunWithCaller(echoGainDb: -6, callerDb: -20, (canceller, at) =>
        {
            if (at >= 700 && at <= 1400 && at % 100 == 0 && canceller.IsLocked && canceller.LastFrameCancelled)
            {
                checks++;
                if (canceller.ExplainsRecentAudioAsEcho())
                {
                    explainedAsEcho.Add(at);
                }
            }
        });

        Assert.True(checks >= 5, $"only {checks} checks ran on a locked path");
        Assert.Empty(explainedAsEcho);
    }

    /// <summary>
    /// The reference moves <paramref name="movedMs"/> later at <paramref name="moveAtMs"/> (the playback tracker slipped the reply), and the canceller is told
    /// (<see cref="EchoCanceller.ReferenceMoved"/>). <paramref name="earlyAnchor"/>: the whole reply played that much later than
    /// referenced from its start (its start mark came back before its frames reached the line), so the path locked before the
    /// move is off by it afterwards; else the reply played as referenced until a gap of that length 100 ms before the move
    /// (frames that reached the line late), so the path locked before it holds. Returns the residual's level under the echo's
    /// from <paramref name="echoMs"/> + 100 ms after the move for 900 ms, and the canceller.
    /// </summary>
    private static (double CancelledDb, EchoCanceller Canceller, int LockedBefore) RunWithReferenceMove(int echoMs, int movedMs, bool earlyAnchor,
        bool tell = true, int moveAtMs = 2000)
    {
        var audio = MuLaw.Decode([.. PipelineAssertions.Prompts[PromptKeys.AskName].MuLaw.Span, .. PipelineAssertions.Prompts[PromptKeys.AskReason].MuLaw.Span]);
        var moved = movedMs * 8;
        var delay = echoMs * 8;
        var moveAt = moveAtMs * 8;
        var gapAt = earlyAnchor ? 0 : moveAt - 100 * 8;
        var length = (audio.Length + delay + moved + 8 * 500) / 160 * 160;
        short At(int i) => i >= 0 && i < audio.Length ? audio[i] : (short)0;

        // What the line played (the whole reply late, or a gap in it), and what the schedule says it played.
        var played = new short[length];
        var reference = new short[length];
        for (var t = 0; t < length; t++)
        {
            played[t] = t < gapAt ? At(t) : t < gapAt + moved ? (short)0 : At(t - moved);
            reference[t] = t < moveAt ? At(t) : At(t - moved);
        }

        var line = new short[length];
        for (var t = delay; t < length; t++)
        {
            line[t] = (short)Math.Round(played[t - delay] * 0.5);
        }

        var inbound = MuLaw.Encode(line);
        var bot = MuLaw.Encode(reference);
        var canceller = new EchoCanceller();
        var residual = new byte[length];
        var lockedBefore = -1;
        for (var o = 0; o < length; o += 160)
        {
            if (o == moveAt)
            {
                lockedBefore = canceller.IsLocked ? canceller.DelaySamples : -1;
                if (tell)
                {
                    canceller.ReferenceMoved(moved);
                }
            }

            canceller.Process(inbound.AsSpan(o, 160), bot.AsSpan(o, 160), residual.AsSpan(o, 160));
        }

        var from = moveAt + delay + 8 * 100;
        var to = from + 8 * 900;
        return (Level(inbound, from, to) - Level(residual, from, to), canceller, lockedBefore);
    }

    [Theory]
    [InlineData(180, 100)]
    [InlineData(320, 60)]
    public void APathLockedOnAReplyAnchoredEarlyIsCorrectedWhenTheReplyIsMovedToWhereItPlays(int echoMs, int movedMs)
    {
        var run = RunWithReferenceMove(echoMs, movedMs, earlyAnchor: true);

        Assert.Equal((echoMs + movedMs) * 8, run.LockedBefore); // locked on the early reference: off by the move
        Assert.True(run.CancelledDb >= 20, $"after the move the echo is taken out by only {run.CancelledDb:F1} dB");
        Assert.True(run.Canceller.IsLocked);
        Assert.Equal(echoMs * 8, run.Canceller.DelaySamples);

        var untold = RunWithReferenceMove(echoMs, movedMs, earlyAnchor: true, tell: false);
        Assert.True(untold.CancelledDb < run.CancelledDb - 6,
            $"untold, the echo is taken out by {untold.CancelledDb:F1} dB, told {run.CancelledDb:F1} dB: the test does not show the move");
    }

    [Theory]
    [InlineData(180, 100)]
    [InlineData(320, 60)]
    public void APathLockedBeforeAGapInsideTheReplyHoldsWhenTheReplyIsMovedAfterIt(int echoMs, int movedMs)
    {
        var run = RunWithReferenceMove(echoMs, movedMs, earlyAnchor: false);

        Assert.Equal(echoMs * 8, run.LockedBefore);
        Assert.True(run.CancelledDb >= 20, $"after the move the echo is taken out by only {run.CancelledDb:F1} dB");
        Assert.True(run.Canceller.IsLocked);
        Assert.Equal(echoMs * 8, run.Canceller.DelaySamples);
    }

    /// <summary>
    /// The first chunk's mark moves the reply before its echo has even come back (a 200 ms chunk, an echo 320 ms late): the path is
    /// found afterwards, on the echo of the reference from before the move, and must not be kept once the echo of what was
    /// referenced since comes back sooner.
    /// </summary>
    [Theory]
    [InlineData(180, 100)]
    [InlineData(320, 60)]
    public void APathFoundAfterTheMoveOnTheEchoOfTheEarlyReferenceIsCorrectedToo(int echoMs, int movedMs)
    {
        var moveAtMs = 200 + movedMs;
        var run = RunWithReferenceMove(echoMs, movedMs, earlyAnchor: true, moveAtMs: moveAtMs);

        Assert.Equal(-1, run.LockedBefore);
        Assert.True(run.CancelledDb >= 20, $"after the move the echo is taken out by only {run.CancelledDb:F1} dB");
        Assert.True(run.Canceller.IsLocked);
        Assert.Equal(echoMs * 8, run.Canceller.DelaySamples);

        var untold = RunWithReferenceMove(echoMs, movedMs, earlyAnchor: true, tell: false, moveAtMs: moveAtMs);
        Assert.True(untold.CancelledDb < run.CancelledDb - 6,
            $"untold, the echo is taken out by {untold.CancelledDb:F1} dB, told {run.CancelledDb:F1} dB: the test does not show the move");
    }
}
