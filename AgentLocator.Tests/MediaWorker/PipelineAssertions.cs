using AgentLocator.Media;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.Media;

namespace AgentLocator.Tests.MediaWorker;

/// <summary>
/// Waits on what a simulated caller heard, by the marks the pipeline names <c>r{reply}.{chunk}</c> (10 frames a chunk); each
/// reply also opens with a start mark <c>s{reply}</c>, before its first frame.
/// </summary>
internal static class PipelineAssertions
{
    public const int ChunkBytes = 10 * 160;

    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    public static PromptLibrary Prompts { get; } = PromptLibrary.Load(TestAudio.PromptsDirectory, "he");

    public static int Chunks(params string[] promptKeys)
    {
        var frames = (promptKeys.Sum(k => Prompts[k].MuLaw.Length) + 159) / 160;
        return (frames + 9) / 10;
    }

    /// <summary>The name of the mark after the last chunk of reply <paramref name="replyId"/> made of these prompts.</summary>
    public static string FinalMark(int replyId, params string[] promptKeys) => $"r{replyId}.{Chunks(promptKeys) - 1}";

    /// <summary>Waits until reply <paramref name="replyId"/> has fully played at the simulated caller's end.</summary>
    public static async Task PlayedAsync(CallSimulator sim, int replyId, params string[] promptKeys)
    {
        var mark = FinalMark(replyId, promptKeys);
        Assert.True(await sim.WaitForMarkEchoAsync(mark, Patience),
            $"reply {replyId} ({string.Join('+', promptKeys)}) did not finish playing: marks echoed {string.Join(' ', sim.EchoedMarks)}");
    }

    /// <summary>
    /// Once the intake's first question has played: the caller answers its three questions in Hebrew, each after the
    /// one before has played, hears the confirmation and goodbye, and the MediaWorker closes the stream.
    /// </summary>
    public static async Task AnswersTheIntakeAsync(CallSimulator sim)
    {
        await sim.SayAsync(TestAudio.Fixture("caller_name_he.wav"));
        await PlayedAsync(sim, 2, PromptKeys.AskReason);
        await sim.SayAsync(TestAudio.Fixture("caller_reason_he.wav"));
        await PlayedAsync(sim, 3, PromptKeys.AskCallbackTime);
        await sim.SayAsync(TestAudio.Fixture("caller_callback_time_he.wav"));
        await PlayedAsync(sim, 4, PromptKeys.Confirm, PromptKeys.Goodbye);
        await ClosedByServerAsync(sim);
    }

    public static IReadOnlyList<string> MarksOf(CallSimulator sim, int replyId) =>
        sim.Received.Where(m => m.Kind == BotMessageKind.Mark && m.MarkName!.StartsWith($"r{replyId}.", StringComparison.Ordinal))
            .Select(m => m.MarkName!).ToList();

    public static async Task ClosedByServerAsync(CallSimulator sim)
    {
        await sim.Closed.WaitAsync(Patience);
        Assert.NotNull(sim.CloseStatus);
    }
}
