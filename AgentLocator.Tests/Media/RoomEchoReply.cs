using AgentLocator.Media;
using AgentLocator.Tests.RealTime;

namespace AgentLocator.Tests.Media;

/// <summary>What the room-echo tests play: the bot's reply and the speakerphone's echo level.</summary>
internal static class RoomEchoReply
{
    /// <summary>The speakerphone's echo, −6 dB.</summary>
    public const double EchoGain = 0.5;

    /// <summary>Three of the receptionist's questions back to back, as one reply (4-5 s), mu-law.</summary>
    public static byte[] Reply =>
        [.. Prompt(PromptKeys.AskName), .. Prompt(PromptKeys.AskReason), .. Prompt(PromptKeys.AskCallbackTime)];

    private static byte[] Prompt(string key) => RealTimeScenarios.Prompts[key].MuLaw.ToArray();
}
