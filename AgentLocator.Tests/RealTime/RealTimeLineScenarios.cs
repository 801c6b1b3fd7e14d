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

    /// <summary>
    /// The speakerphone lines whose downlink media comes late (<see cref="LineConditions.DownlinkDelay"/>): each reply's start mark
    /// is echoed at once, its frames play this long after (echo delay, downlink delay; ms).
    /// </summary>
    public static readonly (int EchoMs, int DownlinkMs)[] LateDownlinks = [(180, 100), (320, 60), (180, 60), (320, 100)];

    /// <summary>The late-downlink lines a caller at the echo's level talks over the first question on.</summary>
    public static readonly (int EchoMs, int DownlinkMs)[] LateDownlinkBargeIns = [(180, 100), (320, 60)];

    public static string LateDownlinkBargeIn(int delayMs, int downlinkMs) => $"line:late-downlink-barge-in:{delayMs}:{downlinkMs}";

    public static string LateDownlinkEchoOnly(int delayMs, int downlinkMs) => $"line:late-downlink-echo-only:{delayMs}:{downlinkMs}";

    /// <summary>A speakerphone (<see cref="Speakerphone"/>) whose reply audio reaches the line <paramref name="downlinkMs"/> after its start mark is echoed.</summary>
    public static LineConditions SpeakerphoneWithLateDownlink(int delayMs, int downlinkMs) => new()
    {
        EchoGainDb = -6,
        EchoDelay = TimeSpan.FromMilliseconds(delayMs),
        DownlinkDelay = TimeSpan.FromMilliseconds(downlinkMs),
    };

    /// <summary>The room echo's delay in the real-time calls on a speakerphone in a room.</summary>
    public const int RoomEchoDelayMs = 180;

    public const string RoomBargeIn = "line:room-barge-in";

    public const string RoomEchoOnly = "line:room-echo-only";

    /// <summary>
    /// A speakerphone in a room (<see cref="EchoPathModel.Room"/>, seed 1: RT60 210 ms, soft clip k = 2), its echo 6 dB down,
    /// <see cref="RoomEchoDelayMs"/> late: an echo whose waveform correlates only 0.3–0.5 with the bot's audio.
    /// </summary>
    public static LineConditions SpeakerphoneInARoom()
    {
        var room = EchoPathModel.Room(1, rt60Ms: null, clipDrive: 2);
        room.Calibrate(MuLaw.Decode([.. Prompts[PromptKeys.AskName].MuLaw.Span, .. Prompts[PromptKeys.AskReason].MuLaw.Span]));
        return new() { EchoGainDb = -6, EchoDelay = TimeSpan.FromMilliseconds(RoomEchoDelayMs), EchoPath = room };
    }

    /// <summary>How far into the third reply the room-echo caller starts talking over it (bytes of it played).</summary>
    public const int RoomBargeInAtBytes = 600 * 8;

    /// <summary>The bot's voice fed back 6 dB down, <paramref name="delayMs"/> after it played, as a speakerphone does.</summary>
    public static LineConditions Speakerphone(int delayMs) => new() { EchoGainDb = -6, EchoDelay = TimeSpan.FromMilliseconds(delayMs) };

    /// <summary>The caller's answer at the level of the bot's echo: the question's active level − 6 dB.</summary>
    public static byte[] AnswerAtEchoLevel => AtEchoLevel("caller_name_he.wav");

    /// <summary>A caller's clip at the level of the bot's echo: the first question's active level − 6 dB.</summary>
    public static byte[] AtEchoLevel(string clip)
    {
        var question = MuLaw.Decode(Prompts[PromptKeys.AskName].MuLaw.Span);
        var answer = MuLaw.Decode(Audio(clip));
        var gainDb = NoiseSignals.ActiveLevelDbfs(question) - 6 - NoiseSignals.ActiveLevelDbfs(answer);
        return Quieter(Audio(clip), -gainDb);
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

            foreach (var (delay, downlink) in LateDownlinks)
            {
                yield return (LateDownlinkEchoOnly(delay, downlink), SpeakerphoneWithLateDownlink(delay, downlink), FullIntakeOnSpeakerphoneAsync);
            }

            foreach (var (delay, downlink) in LateDownlinkBargeIns)
            {
                yield return (LateDownlinkBargeIn(delay, downlink), SpeakerphoneWithLateDownlink(delay, downlink), BargeInAtEchoLevelAsync);
            }

            yield return (RoomBargeIn, SpeakerphoneInARoom(), BargeInOverTheThirdReplyAsync);
            yield return (RoomEchoOnly, SpeakerphoneInARoom(), FullIntakeOnSpeakerphoneAsync);
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

    /// <summary>
    /// The caller answers the first two questions after each ends; <see cref="RoomBargeInAtBytes"/> into the third reply they talk
    /// over it at the echo's level (the echo path learned on the first two replies' echo, about 2.7 s of it: a first question
    /// alone, 1.2 s, is too little for the adaptive filter to converge on), then wait for the next reply.
    /// </summary>
    private static async Task BargeInOverTheThirdReplyAsync(CallSimulator sim)
    {
        Assert.True(await sim.WaitForBotAudioAsync(RealTimeCallsFixture.Patience), "the first question never came");
        await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(600));
        await sim.SilenceAsync(TimeSpan.FromMilliseconds(700));
        await sim.SayAsync(Audio("caller_name_he.wav"));
        Assert.True(await sim.WaitForTurnAsync(1, RealTimeCallsFixture.Patience), "turn 1 was never answered");
        await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(600));
        var twoRepliesBytes = sim.BotBytesPlayed; // nothing more plays until the third reply
        await sim.SilenceAsync(TimeSpan.FromMilliseconds(700));
        await sim.SayAsync(Audio("caller_reason_he.wav"));
        await sim.SayWhenBotPlayedAsync(twoRepliesBytes + RoomBargeInAtBytes, AnswerAtEchoLevel);
        Assert.True(await sim.WaitForTurnAsync(3, RealTimeCallsFixture.Patience), "turn 3 was never answered");
        await sim.Closed.WaitAsync(RealTimeCallsFixture.Patience); // the confirmation and goodbye play, then the bot hangs up
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
