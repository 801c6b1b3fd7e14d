namespace AgentLocator.Media;

/// <summary>The prompt keys that scripts/generate-prompts.sh produces (assets/tts/prompts.he.txt).</summary>
public static class PromptKeys
{
    public const string Greeting = "greeting";
    public const string Fallback = "fallback";
    public const string NotInService = "not_in_service";
    public const string ThankYou = "thank_you";
    public const string Goodbye = "goodbye";
    public const string AskName = "ask_name";
    public const string AskReason = "ask_reason";
    public const string AskCallbackTime = "ask_callback_time";
    public const string Confirm = "confirm";
    public const string Reprompt = "reprompt";
    public const string IdleGoodbye = "idle_goodbye";
    public const string DidntHear = "didnt_hear";
    public const string VoicemailTransfer = "voicemail_transfer";

    public static IReadOnlyList<string> All { get; } =
    [
        Greeting, Fallback, NotInService, ThankYou, Goodbye, AskName, AskReason,
        AskCallbackTime, Confirm, Reprompt, IdleGoodbye, DidntHear, VoicemailTransfer,
    ];
}
