using AgentLocator.Media;

namespace AgentLocator.MediaWorker.Conversation;

/// <summary>
/// The default receptionist, with no network and no API key: it takes a lead in Hebrew with the
/// pre-rendered prompts. The greeting was played by TwiML, so it asks for the caller's name, the
/// reason for the call and a good time to call back, then confirms and says goodbye. Each answer's
/// audio is kept as an utterance of the call (slot name / reason / callback_time); the files are
/// written in the background so the next question goes out at once, and all of them are durable
/// before the conversation is reported completed. Created with slots already answered (the AI
/// receptionist took them before it failed), it asks only for the rest.
/// </summary>
public sealed partial class IntakeConversationEngine(ConversationContext call, PromptLibrary prompts, UtteranceStore utterances,
    ILogger<IntakeConversationEngine> logger, IReadOnlyCollection<string>? answeredSlots = null) : IConversationEngine
{
    /// <summary>The slots asked in order, each with its question prompt.</summary>
    public static readonly IReadOnlyList<(string Slot, string Prompt)> Questions =
    [
        ("name", PromptKeys.AskName),
        ("reason", PromptKeys.AskReason),
        ("callback_time", PromptKeys.AskCallbackTime),
    ];

    /// <summary>A caller who heard less than this of a question has not been asked it yet: the answer is kept as "other" and the question repeated.</summary>
    public static readonly TimeSpan MinimumQuestionHeard = TimeSpan.FromMilliseconds(400);

    private readonly List<Task> _saves = [];
    private readonly IReadOnlyCollection<string> _answeredBefore = answeredSlots ?? [];
    private int _question = -1;
    private int _sequence;

    public Task<ConversationReply> StartAsync(CancellationToken cancellationToken)
    {
        NextQuestion();
        if (_question < Questions.Count)
        {
            return Task.FromResult(Reply(Questions[_question].Prompt));
        }

        // Everything was already taken: only the goodbye is left.
        return Task.FromResult(new ConversationReply([Segment(PromptKeys.Confirm), Segment(PromptKeys.Goodbye)], CallEnd.Completed, "intake_complete"));
    }

    /// <summary>Moves to the next question whose slot was not answered before this engine took over.</summary>
    private void NextQuestion()
    {
        do
        {
            _question++;
        }
        while (_question < Questions.Count && _answeredBefore.Contains(Questions[_question].Slot));
    }

    public async Task<ConversationReply> OnCallerTurnAsync(CallerTurn turn, CancellationToken cancellationToken)
    {
        if (_question >= Questions.Count)
        {
            return ConversationReply.Silence;
        }

        var heardQuestion = turn.LastReply is not { } last || !last.Interrupted || last.Heard >= MinimumQuestionHeard;
        var slot = heardQuestion ? Questions[_question].Slot : "other";
        var sequence = ++_sequence;
        _saves.Add(SaveAsync(sequence, slot, turn));
        if (!heardQuestion)
        {
            return Reply(Questions[_question].Prompt);
        }

        NextQuestion();
        if (_question < Questions.Count)
        {
            return Reply(Questions[_question].Prompt);
        }

        // Every answer must be durable before the pipeline marks the conversation completed.
        await Task.WhenAll(_saves).WaitAsync(cancellationToken);
        return new ConversationReply([Segment(PromptKeys.Confirm), Segment(PromptKeys.Goodbye)], CallEnd.Completed, "intake_complete");
    }

    public async Task<ConversationReply> OnIdleAsync(int idleCount, ReplyHeard? lastReply, CancellationToken cancellationToken)
    {
        if (idleCount < 2 && _question < Questions.Count)
        {
            return new ConversationReply([Segment(PromptKeys.Reprompt), Segment(Questions[_question].Prompt)]);
        }

        await Task.WhenAll(_saves).WaitAsync(cancellationToken);
        // Answers already given still make a lead; a caller who never answered is simply hung up on.
        var leftALead = _sequence > 0 || _answeredBefore.Count > 0;
        return new ConversationReply([Segment(PromptKeys.IdleGoodbye)], leftALead ? CallEnd.Completed : CallEnd.HangUp, "idle");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Task.WhenAll(_saves);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Already logged by SaveAsync.
        }
    }

    private async Task SaveAsync(int sequence, string slot, CallerTurn turn)
    {
        try
        {
            // The pipeline's token ends with the socket; a caller's answer is kept even when they hang up now.
            var saved = await utterances.SaveAsync(call, sequence, slot, turn.MuLaw, turn.SpeechDuration, CancellationToken.None);
            LogUtteranceSaved(logger, call.CallSid, sequence, slot, saved.AudioPath);
        }
        catch (Exception ex)
        {
            LogUtteranceFailed(logger, call.CallSid, sequence, slot, ex);
            throw;
        }
    }

    private ConversationReply Reply(string key) => new([Segment(key)]);

    private ReplySegment Segment(string key) => new(key, prompts[key].MuLaw);

    [LoggerMessage(EventId = 4210, EventName = "UTTERANCE_SAVED", Level = LogLevel.Information,
        Message = "UTTERANCE_SAVED {CallSid} #{Sequence} slot={Slot} {Path}")]
    private static partial void LogUtteranceSaved(ILogger logger, string callSid, int sequence, string slot, string path);

    [LoggerMessage(EventId = 4211, EventName = "UTTERANCE_FAILED", Level = LogLevel.Error,
        Message = "UTTERANCE_FAILED {CallSid} #{Sequence} slot={Slot}")]
    private static partial void LogUtteranceFailed(ILogger logger, string callSid, int sequence, string slot, Exception exception);
}

/// <summary>Creates an <see cref="IntakeConversationEngine"/> per call.</summary>
public sealed class IntakeConversationEngineFactory(PromptLibrary prompts, UtteranceStore utterances, ILoggerFactory loggers) : IConversationEngineFactory
{
    public IConversationEngine Create(ConversationContext context) => Create(context, null);

    /// <summary>An intake that asks only for the slots not in <paramref name="answeredSlots"/> (name, reason, callback_time).</summary>
    public IntakeConversationEngine Create(ConversationContext context, IReadOnlyCollection<string>? answeredSlots) =>
        new(context, prompts, utterances, loggers.CreateLogger<IntakeConversationEngine>(), answeredSlots);
}
