using AgentLocator.Media;
using AgentLocator.Testing.Audio;
using AgentLocator.Testing.MediaStreams;
using static AgentLocator.Tests.RealTime.RealTimeScenarios;

namespace AgentLocator.Tests.RealTime;

/// <summary>
/// Callers on a speakerphone (<see cref="LineConditions"/>, simulated by the <see cref="CallSimulator"/>):
/// the bot's voice as it played comes back 6 dB down, 60, 180 or 320 ms later, in the caller's frames.
/// The worker is never told the delay. They run in <see cref="RealTimeCallsFixture"/> beside the clean-line calls.
/// </summary>
public static class RealTimeLineScenarios
{
    /// <summary>The echo delays tried (a handset's is tens of ms; a speakerphone's with a long line, hundreds).</summary>
    public static readonly int[] EchoDelaysMs = [60, 180, 320];

    /// <summary>How far into the first question the echo-barge-in caller starts talking (bytes of the question played).</summary>
    public const int BargeInAtBytes = 500 * 8;

    public static string EchoBargeIn(int delayMs) => $"line:echo-barge-in:{delayMs}";

    public static string EchoOnly(int delayMs) => $"line:echo-only:{delayMs}";

    /// <summary>The bot's voice fed back 6 dB down, <paramref name="delayMs"/> after it played, as a speakerphone does.</summary>
    public static LineConditions Speakerphone(int delayMs) => new() { EchoGainDb = -6, EchoDelay = TimeSpan.FromMilliseconds(delayMs) };

    /// <summary>The caller's answer at the level of the bot's echo: the question's active level − 6 dB.</summary>
    public static byte[] AnswerAtEchoLevel
    {
        get
        {
            var question = MuLaw.Decode(Prompts[PromptKeys.AskName].MuLaw.Span);
            var answer = MuLaw.Decode(Audio("caller_name_he.wav"));
            var gainDb = NoiseSignals.ActiveLevelDbfs(question) - 6 - NoiseSignals.ActiveLevelDbfs(answer);
            return Quieter(Audio("caller_name_he.wav"), -gainDb);
        }
    }

    public static IEnumerable<(string Name, LineConditions Line, Func<CallSimulator, Task> Script)> All
    {
        get
        {
            foreach (var delay in EchoDelaysMs)
            {
                yield return (EchoBargeIn(delay), Speakerphone(delay), BargeInAtEchoLevelAsync);
                yield return (EchoOnly(delay), Speakerphone(delay), FullIntakeOnSpeakerphoneAsync);
            }
        }
    }

    /// <summary>
    /// Half a second into the first question (1.2 s long) the caller talks over it at the level of the echo, then waits
    /// for the reply. Their voice begins 0.8 s in, leaving the question's last 0.4 s to interrupt it in.
    /// </summary>
    private static async Task BargeInAtEchoLevelAsync(CallSimulator sim)
    {
        Assert.True(await sim.WaitForBotAudioAsync(RealTimeCallsFixture.Patience), "the first question never came");
        await sim.SayWhenBotPlayedAsync(BargeInAtBytes, AnswerAtEchoLevel);
        Assert.True(await sim.WaitForTurnAsync(1, RealTimeCallsFixture.Patience), "turn 1 was never answered");
        await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(600));
        await sim.HangUpAsync();
    }

    /// <summary>The whole intake on a speakerphone: the caller waits for each question to end; only the bot's echo is on the line while it speaks.</summary>
    private static async Task FullIntakeOnSpeakerphoneAsync(CallSimulator sim)
    {
        Assert.True(await sim.WaitForBotAudioAsync(RealTimeCallsFixture.Patience), "the first question never came");
        await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(600));
        foreach (var (answer, turn) in new[] { ("caller_name_he.wav", 1), ("caller_reason_he.wav", 2), ("caller_callback_time_he.wav", 3) })
        {
            await sim.SilenceAsync(TimeSpan.FromMilliseconds(700));
            await sim.SayAsync(Audio(answer));
            Assert.True(await sim.WaitForTurnAsync(turn, RealTimeCallsFixture.Patience), $"turn {turn} was never answered");
            if (turn < 3)
            {
                await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(600));
            }
        }

        await sim.Closed.WaitAsync(RealTimeCallsFixture.Patience); // the confirmation and goodbye play, then the bot hangs up
    }
}
