using AgentLocator.Media;
using AgentLocator.Testing.Audio;
using AgentLocator.Tests.RealTime;

namespace AgentLocator.Tests.Media;

/// <summary>
/// The bot's silences on a line whose plain echo path is locked and verified (<see cref="EchoCanceller"/>): once nothing of the
/// bot's is within reach of an echo, no echo is due, and the line is judged as over a cancelled echo, not by the level rule. Both
/// sides: a caller at the echo's level who begins in a long pause of a reply interrupts within 400 ms; the echo alone never
/// interrupts across long pauses and the silence between replies, also when the next reply's echo comes back 40 ms earlier or later
/// than the last one's (Twilio's jitter buffer).
/// </summary>
public sealed class EchoPathAcrossSilenceTests
{
    private const int Frame = 160;
    private const double NoiseFloor = -65;

    private static byte[] AskName => RealTimeScenarios.Prompts[PromptKeys.AskName].MuLaw.ToArray();

    /// <summary>The first question, <paramref name="pauseMs"/> of the bot's silence, then the whole reply, as one reply.</summary>
    private static byte[] ReplyWithPause(int pauseMs) => [.. AskName, .. Enumerable.Repeat(MuLaw.Encode((short)0), 8 * pauseMs), .. RoomEchoReply.Reply];

    /// <summary>A reply the session scheduled at line sample <paramref name="Start"/>, whose echo comes back <paramref name="EchoDelay"/> samples later.</summary>
    private sealed record Scheduled(int Start, byte[] Audio, int EchoDelay)
    {
        public int End => Start + Audio.Length;
    }

    [Theory]
    [InlineData(60)]
    [InlineData(180)]
    public void ACallerWhoBeginsInALongPauseOfAReplyInterruptsWithin400Ms(int echoDelayMs)
    {
        // The caller begins 500 ms into a 1.2 s pause of the reply: 640 ms on, nothing of the bot's is within reach of an echo.
        var reply = new Scheduled(8 * 200, ReplyWithPause(1200), 8 * echoDelayMs);
        var answer = RealTimeLineScenarios.AnswerAtEchoLevel;
        var callerAt = reply.Start + AskName.Length + 8 * 500 - RealTimeScenarios.VoiceStart(answer);
        var run = Run([reply], answer, callerAt);

        var fired = Assert.Single(run.BargeIns);
        Assert.InRange((fired - (callerAt + RealTimeScenarios.VoiceStart(answer))) / 8, 1, 400);
    }

    [Theory]
    [InlineData(60, 0)]
    [InlineData(60, 40)]
    [InlineData(120, -40)]
    [InlineData(250, 40)]
    [InlineData(450, 0)]
    [InlineData(450, 40)]
    [InlineData(450, -40)]
    public void TheEchoAloneNeverInterruptsAcrossTheBotsSilences(int echoDelayMs, int nextShiftMs)
    {
        // A reply with a long pause in it, 1.5 s of silence, a reply whose echo comes back nextShiftMs later than the first one's,
        // 1 s of silence, and one more reply on that path.
        var first = new Scheduled(8 * 200, ReplyWithPause(1200), 8 * echoDelayMs);
        var next = new Scheduled(first.End + 8 * 1500, RoomEchoReply.Reply, 8 * (echoDelayMs + nextShiftMs));
        var last = new Scheduled(next.End + 8 * 1000, ReplyWithPause(900), next.EchoDelay);
        var run = Run([first, next, last]);

        Assert.Empty(run.BargeIns);
        Assert.True(run.Listener.Echo.IsLocked, "the echo path was never locked: the test proves nothing");
    }

    private sealed record Result(List<int> BargeIns, BargeInListener Listener);

    /// <summary>
    /// The line: each reply's echo <see cref="Scheduled.EchoDelay"/> after it was scheduled, 6 dB down, over −65 dBFS of white noise, with
    /// <paramref name="caller"/> from <paramref name="callerAt"/> (line samples). A reply plays (barge-in armed) from its start until
    /// half its echo delay after its end, as its marks come back. The speech detector is taken to hear speech in every frame with the
    /// caller's voice or the echo in it (as Silero does). Returns where barge-ins fired (end of the frame; the reply is cut there).
    /// </summary>
    private static Result Run(IReadOnlyList<Scheduled> replies, byte[]? caller = null, int callerAt = 0)
    {
        var length = (replies.Max(r => r.End + r.EchoDelay) + 8 * 1000) / Frame * Frame;
        var noise = NoiseSignals.White(length, NoiseFloor, seed: 11);
        var line = new double[length];
        var voiced = new bool[length / Frame];
        var cutAt = replies.Select(r => r.End).ToArray();
        var listener = new BargeInListener();
        var result = new Result([], listener);
        var current = -1;
        var inbound = new byte[Frame];
        for (var o = 0; o + Frame <= length; o += Frame)
        {
            // The line up to the end of this frame: the echo of what each reply played (up to a barge-in), the caller, the noise.
            for (var n = o; n < o + Frame; n++)
            {
                var sample = (double)noise[n];
                for (var r = 0; r < replies.Count; r++)
                {
                    var source = n - replies[r].Start - replies[r].EchoDelay;
                    if (source >= 0 && replies[r].Start + source < cutAt[r])
                    {
                        var echo = MuLaw.Decode(replies[r].Audio[source]) * RoomEchoReply.EchoGain;
                        sample += echo;
                        voiced[n / Frame] |= Math.Abs(echo) > 100;
                    }
                }

                if (caller is not null && n >= callerAt && n - callerAt < caller.Length)
                {
                    var voice = MuLaw.Decode(caller[n - callerAt]);
                    sample += voice;
                    voiced[n / Frame] |= Math.Abs(voice) > 100;
                }

                inbound[n - o] = MuLaw.Encode((short)Math.Clamp(Math.Round(sample), short.MinValue, short.MaxValue));
            }

            var playing = -1;
            for (var r = 0; r < replies.Count; r++)
            {
                if (o >= replies[r].Start && o < cutAt[r] + replies[r].EchoDelay / 2 + Frame)
                {
                    playing = r;
                }
            }

            if (playing >= 0 && playing != current)
            {
                current = playing;
                listener.Reset(); // the session arms barge-in as it schedules a reply
            }

            var at = o - (playing >= 0 ? replies[playing].Start : 0);
            ReadOnlySpan<byte> scheduled = playing >= 0 && o < cutAt[playing] ? replies[playing].Audio.AsSpan(at, Math.Min(Frame, replies[playing].Audio.Length - at)) : [];
            var speechHeard = o >= Frame && voiced[o / Frame - 1];
            listener.Process(inbound, scheduled, playing >= 0, TimeSpan.FromTicks(o * TimeSpan.TicksPerSecond / 8000), NoiseFloor, out var bargeIn, speechHeard);
            if (bargeIn)
            {
                result.BargeIns.Add(o + Frame);
                cutAt[playing] = o + Frame; // the clear: the line plays no more of it
                if (caller is not null)
                {
                    break; // the caller interrupted: nothing more to measure
                }
            }
        }

        return result;
    }
}
