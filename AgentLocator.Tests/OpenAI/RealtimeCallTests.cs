using AgentLocator.Data.Calls;
using AgentLocator.Media;
using AgentLocator.MediaWorker.Conversation.Realtime;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Testing.OpenAI;
using AgentLocator.Tests.Infrastructure;
using static AgentLocator.Tests.OpenAI.RealtimeCallsFixture;

namespace AgentLocator.Tests.OpenAI;

/// <summary>The scenarios of <see cref="RealtimeCallTests"/>, all started at once when the fixture starts (about 40 s of wall time together).</summary>
public sealed class RealtimeScenariosFixture : RealtimeCallsFixture
{
    private readonly Dictionary<string, Task<RealtimeCall>> _scenarios = [];

    public static readonly byte[] ToneReply = FakeRealtimeSession.Tone(1200);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _scenarios["conversation"] = RunAsync(ConversationScript(), ConversationAsync);
        _scenarios["barge-in"] = RunAsync(BargeInScript(), BargeInAsync);
        foreach (var failure in new[] { FakeFailure.ErrorEvent, FakeFailure.DropSocket, FakeFailure.DropMidReply, FakeFailure.Silent })
        {
            _scenarios[failure.ToString()] = RunAsync(FailureScript(failure), FailureAsync);
        }
    }

    public Task<RealtimeCall> CallAsync(string name) => _scenarios[name].WaitAsync(Patience * 2);

    private async Task<RealtimeCall> RunAsync(FakeRealtimeScript script, Func<CallSimulator, Task> play)
    {
        var call = await StartCallAsync(script);
        try
        {
            await play(call.Sim);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"the call of {call.Business} failed at line time {call.Sim.LineTime.TotalSeconds:0.00} s; " +
                $"turns {string.Join(", ", call.Sim.Turns.Select(t => $"{t.Latency.TotalMilliseconds:0} ms"))}", ex);
        }

        return call;
    }

    /// <summary>Four Hebrew turns: the reason, the name (save_lead), the callback time (save_lead), goodbye (end_call).</summary>
    public static FakeRealtimeScript ConversationScript() => new(
    [
        new FakeTurn("שלום, אני רוצה לקבוע תור לתספורת", new FakeReply(Prompt(PromptKeys.AskName), "בשמחה. איך קוראים לך?")),
        new FakeTurn("דנה לוי", FakeReply.ToolsOnly(new FakeToolCall("save_lead", """{"name":"דנה לוי","reason":"תור לתספורת"}""")) with
        {
            Then = new FakeReply(Prompt(PromptKeys.AskCallbackTime), "תודה דנה. מתי נוח שנחזור אלייך?"),
        }),
        new FakeTurn("מחר בבוקר", FakeReply.ToolsOnly(new FakeToolCall("save_lead", """{"callback_time":"מחר בבוקר"}""")) with
        {
            Then = new FakeReply(Prompt(PromptKeys.Confirm), "רשמתי. נחזור אלייך מחר בבוקר. יש עוד משהו?"),
        }),
        new FakeTurn("לא, זה הכל, תודה", new FakeReply(Prompt(PromptKeys.Goodbye), "תודה שפנית אלינו, להתראות.")
        {
            ToolCalls = [new FakeToolCall("end_call", """{"summary":"דנה לוי ביקשה תור לתספורת; לחזור אליה מחר בבוקר."}""")],
        }),
    ]);

    private static async Task ConversationAsync(CallSimulator sim)
    {
        await sim.SilenceAsync(TimeSpan.FromSeconds(1));
        foreach (var fixture in new[] { "caller_reason_he.wav", "caller_name_he.wav", "caller_callback_time_he.wav" })
        {
            await AnswerAsync(sim, Caller(fixture));
        }

        await sim.SayAsync(Caller("caller_yes_he.wav"));
        await sim.Closed.WaitAsync(Patience);
    }

    /// <summary>A long reply the caller talks over 1.5 s into it; then a short one to their turn.</summary>
    public static FakeRealtimeScript BargeInScript() => new(
    [
        new FakeTurn("שלום", new FakeReply(Prompt(PromptKeys.AskReason, PromptKeys.AskName, PromptKeys.AskCallbackTime, PromptKeys.Confirm), "תשובה ארוכה")),
        new FakeTurn("יש לי בעיה דחופה", new FakeReply(Prompt(PromptKeys.AskName), "הבנתי. איך קוראים לך?")),
    ]);

    private static async Task BargeInAsync(CallSimulator sim)
    {
        await sim.SilenceAsync(TimeSpan.FromSeconds(1));
        await sim.SayAsync(Caller("caller_yes_he.wav"));
        Assert.True(await sim.WaitForBotAudioAsync(Patience), "the first reply never came");
        await sim.UntilBotPlayedAsync(12_000);
        // Louder than the bot (today's barge-in detector asks that of a caller; its sensitivity is the detector's own issue).
        await sim.SayAsync(Louder(Caller("caller_problem_4s_he.wav"), 8));
        Assert.True(await sim.WaitForBotAudioAsync(Patience), "the caller's turn after barging in got no reply");
        await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(300));
        await sim.HangUpAsync();
    }

    /// <summary>The reason is taken (save_lead) and answered; the provider fails on the caller's next turn.</summary>
    public static FakeRealtimeScript FailureScript(FakeFailure failure) => new(
    [
        new FakeTurn("אני צריכה תור לתספורת", FakeReply.ToolsOnly(new FakeToolCall("save_lead", """{"reason":"תור לתספורת"}""")) with
        {
            Then = new FakeReply(ToneReply, "איך קוראים לך?"),
        }),
        new FakeTurn("דנה לוי", failure == FakeFailure.DropMidReply
            ? new FakeReply(FakeRealtimeSession.Tone(3000), "תודה דנה") { Failure = failure, DeltasBeforeDrop = 3 }
            : FakeReply.Fail(failure)),
    ]);

    private static async Task FailureAsync(CallSimulator sim)
    {
        await sim.SilenceAsync(TimeSpan.FromSeconds(1));
        await AnswerAsync(sim, Caller("caller_reason_he.wav"));
        await AnswerAsync(sim, Caller("caller_name_he.wav"));
        await sim.HangUpAsync();
    }

    private static byte[] Louder(byte[] muLaw, double db)
    {
        var gain = Math.Pow(10, db / 20);
        return MuLaw.Encode(MuLaw.Decode(muLaw).Select(s => (short)Math.Clamp(Math.Round(s * gain), short.MinValue, short.MaxValue)).ToArray());
    }

    /// <summary>Says <paramref name="muLaw"/>, waits for the bot's answer and for it to finish.</summary>
    private static async Task AnswerAsync(CallSimulator sim, byte[] muLaw)
    {
        var turns = sim.Turns.Count;
        await sim.SayAsync(muLaw);
        Assert.True(await sim.WaitForTurnAsync(turns + 1, Patience), $"turn {turns + 1} got no reply");
        await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(400));
    }
}

/// <summary>
/// Whole calls with the AI receptionist at real speed through the real <c>/ws/twilio-media</c> endpoint, the call
/// simulator behaving as Twilio does, the provider a fake of OpenAI's Realtime API.
/// </summary>
public sealed class RealtimeCallTests(RealtimeScenariosFixture fixture) : IClassFixture<RealtimeScenariosFixture>
{
    /// <summary>The provider's reply, the tool round trip and a loaded machine all fit well inside this.</summary>
    private static readonly TimeSpan TurnLatency = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task AFourTurnHebrewConversationSavesTheLeadKeepsTheTranscriptCompletesQueuesTheNotificationAndHangsUp()
    {
        var call = await fixture.CallAsync("conversation");
        var sim = call.Sim;

        Assert.Empty(sim.ProtocolViolations);
        Assert.Equal(4, sim.Turns.Count); // the fourth turn's answer is the goodbye, then the hang-up
        Assert.All(sim.Turns, t => Assert.True(t.Latency < TurnLatency, $"turn {t.Turn} was answered after {t.Latency.TotalMilliseconds:0} ms"));
        // The provider's audio went to the line byte for byte: the four replies, nothing else, and every mark came back.
        Assert.Equal(Prompt(PromptKeys.AskName, PromptKeys.AskCallbackTime, PromptKeys.Confirm, PromptKeys.Goodbye), sim.BotAudio);
        Assert.Equal(sim.Received.Where(m => m.Kind == BotMessageKind.Mark).Select(m => m.MarkName!), sim.EchoedMarks);
        Assert.DoesNotContain(sim.Received, m => m.Kind == BotMessageKind.Clear);

        Assert.Equal("דנה לוי", await fixture.ScalarAsync<string>("SELECT name FROM customers WHERE id = $1", call.CustomerId));
        Assert.Equal(call.From, await fixture.ScalarAsync<string>("SELECT phone FROM customers WHERE id = $1", call.CustomerId));
        Assert.Equal(("דנה לוי", "תור לתספורת", "מחר בבוקר"), (
            await fixture.ScalarAsync<string>("SELECT lead_name FROM calls WHERE id = $1", call.CallId),
            await fixture.ScalarAsync<string>("SELECT lead_reason FROM calls WHERE id = $1", call.CallId),
            await fixture.ScalarAsync<string>("SELECT lead_callback_time FROM calls WHERE id = $1", call.CallId)));
        Assert.Equal("דנה לוי ביקשה תור לתספורת; לחזור אליה מחר בבוקר.", await fixture.ScalarAsync<string>("SELECT summary FROM calls WHERE id = $1", call.CallId));
        Assert.True(await fixture.ScalarAsync<bool>("SELECT conversation_completed FROM calls WHERE id = $1", call.CallId));
        Assert.False(await fixture.ScalarAsync<bool>("SELECT fallback_used FROM calls WHERE id = $1", call.CallId));
        Assert.Equal("realtime", await fixture.ScalarAsync<string>("SELECT engine FROM calls WHERE id = $1", call.CallId));

        // The transcript, turn by turn: the caller's words as the provider transcribed them, the receptionist's replies.
        Assert.True(await Sql.EventuallyAsync(async () => await fixture.ScalarAsync<long>(
            "SELECT count(*) FROM transcript_turns WHERE call_id = $1", call.CallId) == 8, Patience), "the transcript does not have 8 turns");
        var transcript = new List<string>();
        for (var sequence = 1; sequence <= 8; sequence++)
        {
            transcript.Add(await fixture.ScalarAsync<string>("SELECT speaker || ': ' || text FROM transcript_turns WHERE call_id = $1 AND sequence = $2",
                call.CallId, sequence) ?? $"(no turn {sequence})");
        }

        Assert.Equal(
        [
            "caller: שלום, אני רוצה לקבוע תור לתספורת", "assistant: בשמחה. איך קוראים לך?",
            "caller: דנה לוי", "assistant: תודה דנה. מתי נוח שנחזור אלייך?",
            "caller: מחר בבוקר", "assistant: רשמתי. נחזור אלייך מחר בבוקר. יש עוד משהו?",
            "caller: לא, זה הכל, תודה", "assistant: תודה שפנית אלינו, להתראות.",
        ], transcript);

        // The notification job, and the goodbye followed by a REST hang-up.
        Assert.Equal(1, await Sql.CountAsync(fixture.ConnectionString, "SELECT count(*) FROM jobs WHERE dedup_key = $1", LeadNotificationJob.DedupKey(call.CallId)));
        Assert.Contains(fixture.Twilio.GetCall(call.CallSid)!.Updates, u => u.Contains(new("Status", "completed")));
        var session = fixture.SessionOf(call.Business);
        Assert.Empty(session.ErrorsSent);
        Assert.Equal(2, session.FunctionOutputs.Count);
        Assert.Empty(session.Truncates);
    }

    [Fact]
    public async Task ABargeInClearsTwilioAndTruncatesTheReplyToTheMillisecondsTheEchoedMarksSayWerePlayed()
    {
        var call = await fixture.CallAsync("barge-in");
        var sim = call.Sim;

        Assert.Empty(sim.ProtocolViolations);
        Assert.True(sim.Received.Any(m => m.Kind == BotMessageKind.Clear), "no clear was sent; the call's log:\n"
            + string.Join('\n', fixture.Worker.Logs.Lines.Where(l => l.Contains(call.CallSid, StringComparison.Ordinal))));
        var session = fixture.SessionOf(call.Business);
        var truncate = Assert.Single(session.Truncates);
        Assert.Equal(session.Responses[0].ItemId, truncate.ItemId);
        Assert.Equal(0, truncate.ContentIndex);
        Assert.DoesNotContain("invalid_value", session.ErrorsSent);

        // What Twilio had played when the caller cut in: the marks of the first reply echoed before the clear.
        var chunkMs = new AgentLocator.MediaWorker.MediaStreams.MediaStreamOptions().ChunkFrames * 20;
        var played = sim.MarkEchoes.Where(e => e.Name.StartsWith("r1.", StringComparison.Ordinal) && e.ClearsBefore == 0).ToList();
        var heardByMarks = played.Count * chunkMs;
        // One echo may cross the clear on the wire (sent by Twilio just before it read the clear): then the app had one chunk fewer.
        Assert.True(truncate.AudioEndMs == heardByMarks || truncate.AudioEndMs == heardByMarks - chunkMs,
            $"truncated at {truncate.AudioEndMs} ms; the marks echoed before the clear account for {heardByMarks} ms");
        Assert.InRange(truncate.AudioEndMs, 1000, truncate.SentMs);

        // The caller's turn after the barge-in was answered; the cut reply is marked in the transcript with what was heard.
        Assert.Equal(2, session.TurnsCommitted);
        Assert.True(await Sql.EventuallyAsync(async () => await fixture.ScalarAsync<int?>(
            "SELECT heard_ms FROM transcript_turns WHERE call_id = $1 AND item_id = $2 AND interrupted", call.CallId, truncate.ItemId) == truncate.AudioEndMs,
            Patience), "the interrupted reply's transcript is not marked with what was heard");
    }

    [Theory]
    [InlineData(FakeFailure.ErrorEvent, EngineFailures.ProviderError)]
    [InlineData(FakeFailure.DropSocket, EngineFailures.ConnectionLost)]
    [InlineData(FakeFailure.DropMidReply, EngineFailures.ConnectionLost)]
    [InlineData(FakeFailure.Silent, EngineFailures.NoAudio)]
    public async Task AProviderFailingMidCallHandsTheCallerToTheIntakeFromWhereItStandsWithoutDeadAir(FakeFailure failure, string reason)
    {
        var call = await fixture.CallAsync(failure.ToString());
        var sim = call.Sim;

        Assert.Empty(sim.ProtocolViolations);
        Assert.Equal(2, sim.Turns.Count);
        // The caller heard the intake's question soon after their last word: at once on an error or a dropped socket,
        // after the no-reply guard (2 s from the last word) when the provider went silent.
        var limit = failure == FakeFailure.Silent ? TimeSpan.FromSeconds(2.5) : TimeSpan.FromSeconds(2);
        Assert.True(sim.Turns[1].Latency < limit, $"the fallback was heard {sim.Turns[1].Latency.TotalMilliseconds:0} ms after the caller's last word");
        // The reason was taken before the failure: the intake asks the name (not saved yet), never the reason again.
        var heard = sim.BotAudio;
        var askName = Prompts[PromptKeys.AskName].MuLaw.ToArray();
        Assert.Equal(askName, heard[^askName.Length..]);

        Assert.True(await Sql.EventuallyAsync(async () => await fixture.ScalarAsync<string>(
            "SELECT engine_fallback_reason FROM calls WHERE id = $1", call.CallId) == reason, Patience), $"the call's fallback reason is not {reason}");
        Assert.True(fixture.Worker.Logs.Contains($"ENGINE_FALLBACK {call.CallSid} reason={reason} to=intake"), "ENGINE_FALLBACK was not logged");
        Assert.Equal("intake", await fixture.ScalarAsync<string>("SELECT engine FROM calls WHERE id = $1", call.CallId));
        Assert.False(await fixture.ScalarAsync<bool>("SELECT fallback_used FROM calls WHERE id = $1", call.CallId)); // no voicemail: the call went on
    }
}
