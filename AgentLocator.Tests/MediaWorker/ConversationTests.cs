using System.Net.WebSockets;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Storage;
using AgentLocator.Media;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Tests.Media;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static AgentLocator.Tests.MediaWorker.PipelineAssertions;

namespace AgentLocator.Tests.MediaWorker;

/// <summary>Whole calls through the MediaWorker's real WebSocket endpoint, driven by the call simulator.</summary>
public sealed class ConversationTests(MediaPipelineFixture fixture) : IClassFixture<MediaPipelineFixture>
{
    private string Db => fixture.ConnectionString;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AScriptedCallKeepsEachAnswerCompletesTheConversationQueuesTheLeadAndHangsUp(bool smokeTestCall)
    {
        var worker = fixture.Worker;
        var options = await fixture.StartCallAsync(speed: 4, isTest: smokeTestCall);
        var callSid = options.CallSid;
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);

        await PlayedAsync(sim, 1, PromptKeys.AskName);
        await AnswersTheIntakeAsync(sim);

        // Every prompt went out whole, as media followed by marks that came back in order (four replies, each opened by its start mark).
        Assert.Empty(sim.ProtocolViolations);
        Assert.DoesNotContain(sim.Received, m => m.Kind == BotMessageKind.Clear);
        var expected = new[] { PromptKeys.AskName, PromptKeys.AskReason, PromptKeys.AskCallbackTime, PromptKeys.Confirm, PromptKeys.Goodbye }
            .Sum(k => Prompts[k].MuLaw.Length);
        Assert.Equal(expected, sim.BotAudio.Length);
        var sentMarks = sim.Received.Where(m => m.Kind == BotMessageKind.Mark).Select(m => m.MarkName!).ToList();
        Assert.Equal(Chunks(PromptKeys.AskName) + Chunks(PromptKeys.AskReason) + Chunks(PromptKeys.AskCallbackTime)
            + Chunks(PromptKeys.Confirm, PromptKeys.Goodbye) + 4, sentMarks.Count);
        Assert.Equal(["s1", "s2", "s3", "s4"], sentMarks.Where(m => m.StartsWith('s')));
        Assert.Equal(sentMarks, sim.EchoedMarks);

        // Each answer is a WAV (8 kHz) and an utterance row of the call, linked to the caller as a lead.
        var storage = worker.Factory.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
        var rows = await UtterancesAsync(callSid);
        Assert.Equal(["name", "reason", "callback_time"], rows.Select(r => r.Slot));
        Assert.Equal([1, 2, 3], rows.Select(r => r.Sequence));
        foreach (var row in rows)
        {
            var wav = WavFile.Read(storage.Resolve(row.Path));
            Assert.Equal((8000, 1), (wav.SampleRate, wav.Channels));
            Assert.InRange(row.DurationMs, 300, 10_000);
            Assert.InRange(wav.Duration.TotalMilliseconds, row.DurationMs, row.DurationMs + 1000);
            Assert.True(row.LinkedToCaller, "the utterance is not linked to the call's customer");
        }

        Assert.True(await Sql.ScalarAsync<bool>(Db, "SELECT conversation_completed FROM calls WHERE call_sid = $1", callSid));
        Assert.True(await Sql.ScalarAsync<bool>(Db, "SELECT stream_started FROM calls WHERE call_sid = $1", callSid));
        // Smoke-test traffic never notifies a business.
        Assert.Equal(smokeTestCall ? 0 : 1, await Sql.CountAsync(Db,
            "SELECT count(*) FROM jobs j JOIN calls c ON j.payload->>'callId' = c.id::text WHERE c.call_sid = $1 AND j.type = $2",
            callSid, LeadNotificationJob.Type));
        Assert.True(await Sql.EventuallyAsync(async () => await Sql.CountAsync(Db,
            "SELECT count(*) FROM calls WHERE call_sid = $1 AND stream_stopped_at IS NOT NULL AND stream_error IS NULL", callSid) == 1, Patience));

        // The goodbye was followed by a REST hang-up.
        Assert.Contains(fixture.Twilio.GetCall(callSid)!.Updates, u => u.Contains(new("Status", "completed")));

        // Turn taking: each reply started within the silence window plus a little (line time).
        Assert.Equal(3, sim.Turns.Count);
        var turns = worker.Spy.TurnsOf(callSid);
        Assert.Equal(3, turns.Count);
        Assert.All(turns, t => Assert.True(t.LastReply is { Complete: true }, "the caller heard each question whole"));

        var logs = worker.Logs;
        Assert.True(logs.Contains($"WS_START {callSid}"));
        Assert.Equal(3, logs.Lines.Count(l => l.Contains($"HEBREW_SPEECH {callSid}", StringComparison.Ordinal)));
        Assert.Equal(3, logs.Lines.Count(l => l.Contains($"PING_PONG_TX {callSid}", StringComparison.Ordinal)));
        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(logs.Contains($"WS_STOP {callSid}")), Patience));
    }

    [Fact]
    public async Task CallerSpeechDuringAPromptClearsItDropsTheRestAndTellsTheEngineWhatWasHeard()
    {
        var worker = fixture.Worker;
        var options = await fixture.StartCallAsync(speed: 2);
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);
        await PlayedAsync(sim, 1, PromptKeys.AskName);
        await sim.SayAsync(TestAudio.Fixture("caller_name_he.wav"));

        // ask_reason (2.8 s) starts; the caller talks over it, loudly (+12 dB), after about half a second.
        var interruption = Louder(WavFile.Read(TestAudio.Fixture("caller_reason_he.wav")).ToPcm16(), gain: 4);
        Assert.True(await sim.WaitForMarkEchoAsync("r2.2", Patience), "ask_reason did not start playing");
        await sim.SayAsync(interruption);
        await PlayedAsync(sim, 3, PromptKeys.AskCallbackTime);

        var clear = Assert.Single(sim.Received, m => m.Kind == BotMessageKind.Clear);
        var reasonMarks = MarksOf(sim, 2);
        Assert.InRange(reasonMarks.Count, 3, Chunks(PromptKeys.AskReason) - 1);
        var botAudioBeforeReply3 = sim.Received.TakeWhile(m => m.MarkName?.StartsWith("r3.", StringComparison.Ordinal) != true)
            .Where(m => m.Kind == BotMessageKind.Media).Sum(m => m.Audio!.Length);
        Assert.True(botAudioBeforeReply3 < Prompts[PromptKeys.AskName].MuLaw.Length + Prompts[PromptKeys.AskReason].MuLaw.Length,
            "the rest of the interrupted prompt was still sent");
        Assert.DoesNotContain(sim.Received.SkipWhile(m => m != clear), m => m.MarkName?.StartsWith("r2.", StringComparison.Ordinal) == true);

        var turns = worker.Spy.TurnsOf(options.CallSid);
        Assert.Equal(2, turns.Count);
        var heard = turns[1].LastReply!;
        Assert.Equal(2, heard.ReplyId);
        Assert.True(heard.Interrupted);
        Assert.InRange(heard.Heard, TimeSpan.FromMilliseconds(400), heard.Duration - TimeSpan.FromMilliseconds(200));
        Assert.Equal(PromptKeys.AskReason, Assert.Single(heard.Segments).Label);
        Assert.True(worker.Logs.Contains($"BARGE_IN {options.CallSid} reply=2"));

        // The answer still counts as the reason (the question was heard), and the call goes on.
        Assert.Equal(["name", "reason"], (await UtterancesAsync(options.CallSid)).Select(r => r.Slot));
        await sim.HangUpAsync();
        Assert.True(await Sql.EventuallyAsync(async () => await Sql.CountAsync(Db,
            "SELECT count(*) FROM calls WHERE call_sid = $1 AND stream_stopped_at IS NOT NULL AND NOT conversation_completed", options.CallSid) == 1, Patience));
    }

    [Fact]
    public async Task TheBotsOwnEchoNeitherInterruptsThePromptNorCountsAsATurn()
    {
        var worker = fixture.Worker;
        var options = await fixture.StartCallAsync(speed: 4);
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);
        await PlayedAsync(sim, 1, PromptKeys.AskName);
        await sim.SayAsync(TestAudio.Fixture("caller_name_he.wav"));

        // The line returns ask_reason 20 dB down and a little late, as a phone's echo does.
        var echo = MuLaw.Decode(Prompts[PromptKeys.AskReason].MuLaw.Span).Select(s => (short)(s / 10)).ToArray();
        Assert.True(await sim.WaitForMarkEchoAsync("r2.0", Patience), "ask_reason did not start playing");
        await sim.SayAsync(MuLaw.Encode(echo));
        await PlayedAsync(sim, 2, PromptKeys.AskReason);
        await sim.SilenceAsync(TimeSpan.FromSeconds(1.5));

        Assert.DoesNotContain(sim.Received, m => m.Kind == BotMessageKind.Clear);
        Assert.Equal(Chunks(PromptKeys.AskReason), MarksOf(sim, 2).Count);
        Assert.Single(worker.Spy.TurnsOf(options.CallSid));
        Assert.Empty(MarksOf(sim, 3));

        await sim.SayAsync(TestAudio.Fixture("caller_reason_he.wav"));
        await PlayedAsync(sim, 3, PromptKeys.AskCallbackTime);
        Assert.Equal(["name", "reason"], (await UtterancesAsync(options.CallSid)).Select(r => r.Slot));
        await sim.HangUpAsync();
    }

    [Fact]
    public async Task PressingStarInRealTimeSendsTheCallerToVoicemail()
    {
        var worker = fixture.Worker;
        var options = await fixture.StartCallAsync(speed: 1);
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);
        Assert.True(await sim.WaitForMarkEchoAsync("r1.1", Patience), "ask_name did not start playing");
        await sim.PressAsync('*');

        await PlayedAsync(sim, 2, PromptKeys.VoicemailTransfer);
        await ClosedByServerAsync(sim);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, sim.CloseStatus);
        Assert.Single(sim.Received, m => m.Kind == BotMessageKind.Clear);
        Assert.Equal("caller_request", await Sql.ScalarAsync<string>(Db, "SELECT fallback_reason FROM calls WHERE call_sid = $1", options.CallSid));
        Assert.True(await Sql.ScalarAsync<bool>(Db, "SELECT fallback_used AND NOT conversation_completed FROM calls WHERE call_sid = $1", options.CallSid));
        Assert.Null(fixture.Twilio.GetCall(options.CallSid));
        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(worker.Logs.Contains($"WS_STOP {options.CallSid}")), Patience));
    }

    [Fact]
    public async Task ASilentCallerIsRepromptedOnceThenToldGoodbyeAndHungUpOn()
    {
        var worker = fixture.StartWorker(new Dictionary<string, string?> { ["MediaStream:IdleReprompt"] = "00:00:01.500" });
        var options = await fixture.StartCallAsync(speed: 4);
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);

        await PlayedAsync(sim, 1, PromptKeys.AskName);
        await PlayedAsync(sim, 2, PromptKeys.Reprompt, PromptKeys.AskName);
        await PlayedAsync(sim, 3, PromptKeys.IdleGoodbye);
        await ClosedByServerAsync(sim);

        Assert.True(worker.Logs.Contains($"IDLE {options.CallSid} count=1"));
        Assert.True(worker.Logs.Contains($"IDLE {options.CallSid} count=2"));
        Assert.Contains(fixture.Twilio.GetCall(options.CallSid)!.Updates, u => u.Contains(new("Status", "completed")));
        Assert.False(await Sql.ScalarAsync<bool>(Db, "SELECT conversation_completed FROM calls WHERE call_sid = $1", options.CallSid));
        Assert.Empty(await UtterancesAsync(options.CallSid));
        Assert.Equal(0, await Sql.CountAsync(Db,
            "SELECT count(*) FROM jobs j JOIN calls c ON j.payload->>'callId' = c.id::text WHERE c.call_sid = $1", options.CallSid));
    }

    [Fact]
    public async Task ACallThatReachesItsMaximumLengthIsToldGoodbyeAndHungUpOn()
    {
        var worker = fixture.StartWorker(new Dictionary<string, string?> { ["MediaStream:MaxCallLength"] = "00:00:05" });
        var options = await fixture.StartCallAsync(speed: 4);
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);

        await PlayedAsync(sim, 1, PromptKeys.AskName);
        await sim.SayAsync(TestAudio.Fixture("caller_name_he.wav"));
        await PlayedAsync(sim, 2, PromptKeys.AskReason);
        await PlayedAsync(sim, 3, PromptKeys.Goodbye);
        await ClosedByServerAsync(sim);

        Assert.True(worker.Logs.Contains($"CALL_ENDING {options.CallSid} end=HangUp reason=max_call_length"));
        Assert.Contains(fixture.Twilio.GetCall(options.CallSid)!.Updates, u => u.Contains(new("Status", "completed")));
        Assert.Equal(["name"], (await UtterancesAsync(options.CallSid)).Select(r => r.Slot));
    }

    private static byte[] Louder(short[] pcm, int gain) =>
        MuLaw.Encode(pcm.Select(s => (short)Math.Clamp(s * gain, short.MinValue, short.MaxValue)).ToArray());

    private sealed record UtteranceRow(int Sequence, string Slot, string Path, int DurationMs, bool LinkedToCaller);

    private async Task<List<UtteranceRow>> UtterancesAsync(string callSid)
    {
        await using var connection = new Npgsql.NpgsqlConnection(Db);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("""
            SELECT u.sequence, u.slot, u.audio_path, u.duration_ms, u.customer_id IS NOT DISTINCT FROM c.customer_id AND u.customer_id IS NOT NULL
            FROM utterances u JOIN calls c ON c.id = u.call_id WHERE c.call_sid = $1 ORDER BY u.sequence
            """, connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = callSid });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<UtteranceRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(new UtteranceRow(reader.GetInt32(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetBoolean(4)));
        }

        return rows;
    }
}
