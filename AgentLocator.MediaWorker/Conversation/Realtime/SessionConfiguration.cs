using AgentLocator.Data.Calls;
using OpenAI.Realtime;

#pragma warning disable OPENAI002 // OpenAI.Realtime is experimental in the 2.x SDK.

namespace AgentLocator.MediaWorker.Conversation.Realtime;

/// <summary>
/// The <c>session.update</c> a call's Realtime session starts with: G.711 mu-law (<c>audio/pcmu</c>) in and out, so
/// Twilio's frames go to the provider and its audio comes back to Twilio untouched; the provider's turn detection
/// answers the caller (<c>create_response</c>) but never cuts its own reply off (<c>interrupt_response</c> off: the
/// pipeline's barge-in detector, which knows the bot's echo, decides that); the caller's turns transcribed in Hebrew;
/// the receptionist's instructions and tools.
/// </summary>
internal static class SessionConfiguration
{
    /// <summary>What the receptionist is told when the caller has gone quiet.</summary>
    public const string IdlePrompt = "המתקשר שותק כבר כמה שניות. שאלי בקצרה ובנימוס אם הוא עדיין על הקו.";

    public static RealtimeConversationSessionOptions For(ReceptionistProfile profile, string voice, RealtimeOptions options, DateTimeOffset now)
    {
        var session = new RealtimeConversationSessionOptions
        {
            Instructions = ReceptionistInstructions.For(profile, now),
            AudioOptions = new RealtimeConversationSessionAudioOptions
            {
                InputAudioOptions = new RealtimeConversationSessionInputAudioOptions
                {
                    AudioFormat = new RealtimePcmuAudioFormat(),
                    AudioTranscriptionOptions = new RealtimeAudioTranscriptionOptions
                    {
                        Model = options.InputTranscriptionModel,
                        Language = options.Language,
                    },
                    TurnDetection = TurnDetection(options),
                },
                OutputAudioOptions = new RealtimeConversationSessionOutputAudioOptions
                {
                    AudioFormat = new RealtimePcmuAudioFormat(),
                    Voice = new RealtimeVoice(voice),
                },
            },
            ToolChoice = new RealtimeToolChoice(RealtimeDefaultToolChoice.Auto),
        };
        session.OutputModalities.Add(RealtimeOutputModality.Audio);
        foreach (var (name, description, parameters) in ReceptionistTools.Definitions)
        {
            session.Tools.Add(new RealtimeFunctionTool(name) { FunctionDescription = description, FunctionParameters = BinaryData.FromString(parameters) });
        }

        return session;
    }

    private static RealtimeTurnDetection TurnDetection(RealtimeOptions options) => options.TurnDetection == RealtimeOptions.SemanticVad
        ? new RealtimeSemanticVadTurnDetection
        {
            EagernessLevel = new RealtimeSemanticVadEagernessLevel(options.SemanticEagerness),
            CreateResponseEnabled = true,
            InterruptResponseEnabled = false,
        }
        : new RealtimeServerVadTurnDetection
        {
            DetectionThreshold = options.VadThreshold,
            PrefixPadding = options.VadPrefixPadding,
            SilenceDuration = options.VadSilence,
            CreateResponseEnabled = true,
            InterruptResponseEnabled = false,
        };
}
