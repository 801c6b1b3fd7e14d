using AgentLocator.Data.Model;
using AgentLocator.Media;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.Conversation.Realtime;
using AgentLocator.Data.Calls;
using AgentLocator.Data.Storage;
using AgentLocator.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

using AgentLocator.Testing.OpenAI;

namespace AgentLocator.Tests.OpenAI;

/// <summary>
/// The AI receptionist against a fake of OpenAI's Realtime API, driven as the pipeline drives it (caller frames on
/// the line's clock in real time), with its CRM writes in a real database.
/// </summary>
public sealed class RealtimeEngineTests(RealtimeEngineFixture fixture) : IClassFixture<RealtimeEngineFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private static readonly byte[] Greeting = RealtimeEngineFixture.Prompts[PromptKeys.AskReason].MuLaw.ToArray();
    private static readonly byte[] Goodbye = RealtimeEngineFixture.Prompts[PromptKeys.Goodbye].MuLaw.ToArray();

    private FakeRealtimeServer Realtime => fixture.Realtime;

    private static FakeTurn Turn(string said, FakeReply reply) => new(said, reply);

    private static FakeReply Reply(byte[] audio, string transcript) => new(audio, transcript);

    private async Task<(IStreamingConversationEngine Engine, RecordingOutput Output, ConversationContext Call, FakeRealtimeSession Session)> StartAsync(
        FakeRealtimeScript script, Business? business = null)
    {
        Realtime.ConnectBehavior = FakeConnectBehavior.Accept;
        Realtime.Script = () => script;
        var sessions = Realtime.Sessions.Count;
        business ??= await fixture.CreateBusinessAsync();
        var call = await fixture.StartCallAsync(business);
        var (engine, output) = fixture.CreateEngine(call);
        var first = await engine.StartAsync(CancellationToken.None);
        Assert.Empty(first.Segments); // the TwiML greeting asked already: the receptionist waits for the caller
        Assert.True(engine.IsStreaming, "the engine did not connect");
        var session = await Realtime.SessionAsync(sessions + 1, Patience);
        return (engine, output, call, session);
    }

    [Fact]
    public async Task TheSessionCarriesPhoneAudioBothWaysTheProvidersTurnDetectionTheHebrewPersonaAndTheTools()
    {
        var business = await fixture.CreateBusinessAsync(voice: "cedar", instructions: "פתוח א׳-ה׳ 9:00-19:00. תספורת 80 ש\"ח.");
        var (engine, _, _, session) = await StartAsync(FakeRealtimeScript.Empty, business);
        await using var _ = engine;
        await Task.Delay(300);

        Assert.Equal("gpt-realtime", session.Model);
        Assert.Equal("session.update", session.ClientEvents[0]);
        Assert.Equal(("audio/pcmu", "audio/pcmu"), (session.InputFormat, session.OutputFormat));
        Assert.Equal("cedar", session.Voice);
        Assert.Equal("server_vad", session.TurnDetection);
        Assert.True(session.CreateResponse, "the provider's turn detection must answer the caller");
        Assert.False(session.InterruptResponse, "barge-in is the pipeline's decision (it knows the bot's echo)");
        Assert.Equal(500, session.SilenceMs);
        Assert.Equal("he", session.TranscriptionLanguage);
        Assert.Equal("gpt-4o-mini-transcribe", session.TranscriptionModel);
        Assert.Equal(["save_lead", "end_call", "leave_voicemail"], session.ToolNames);
        Assert.Contains(business.Name, session.Instructions, StringComparison.Ordinal);
        Assert.Contains("תספורת 80", session.Instructions, StringComparison.Ordinal);
        Assert.Contains("save_lead", session.Instructions, StringComparison.Ordinal);
        Assert.Contains("אל תמציאי מחירים", session.Instructions, StringComparison.Ordinal);
        Assert.Empty(session.ErrorsSent);
    }

    [Fact]
    public async Task ACallerTurnIsAnsweredWithTheProvidersAudioUntouchedAndBothSidesAreTranscribed()
    {
        var script = new FakeRealtimeScript([Turn("שלום, אני רוצה לקבוע תור", Reply(Greeting, "בשמחה, איך קוראים לך?"))]);
        var (engine, output, call, session) = await StartAsync(script);
        await using var _ = engine;

        await CallerLine.SayAsync(engine, output, RealtimeEngineFixture.Caller("caller_reason_he.wav"), TimeSpan.FromSeconds(2), turn: 1);
        await output.WaitAsync(o => o.Ended.Count == 1, Patience, "the reply to end");

        var reply = Assert.Single(output.Replies);
        Assert.Equal(Greeting, output.AudioOf(reply)); // G.711 from the provider to the line, byte for byte
        Assert.Equal(session.Responses[0].ItemId, reply);
        Assert.True(session.AudioBytesReceived >= RealtimeEngineFixture.Caller("caller_reason_he.wav").Length,
            "every caller frame reached the provider");
        Assert.Equal(1, session.TurnsCommitted);
        Assert.Empty(output.PostedStages);
        Assert.True(engine.IsStreaming);

        Assert.True(await Sql.EventuallyAsync(async () => await fixture.ScalarAsync<long>(
            "SELECT count(*) FROM transcript_turns WHERE call_id = $1", call.CallId) == 2, Patience), "both turns were not written");
        Assert.Equal("caller", await fixture.ScalarAsync<string>("SELECT speaker FROM transcript_turns WHERE call_id = $1 AND sequence = 1", call.CallId));
        Assert.Equal("שלום, אני רוצה לקבוע תור", await fixture.ScalarAsync<string>("SELECT text FROM transcript_turns WHERE call_id = $1 AND sequence = 1", call.CallId));
        Assert.Equal("בשמחה, איך קוראים לך?", await fixture.ScalarAsync<string>(
            "SELECT text FROM transcript_turns WHERE call_id = $1 AND sequence = 2 AND speaker = 'assistant'", call.CallId));
        Assert.Equal("realtime", await fixture.ScalarAsync<string>("SELECT engine FROM calls WHERE id = $1", call.CallId));
    }

    [Fact]
    public async Task CallerAudioGoesToTheProviderInHundredMillisecondAppendsExceptFrameByFrameAroundTheEndOfTheCallersSpeech()
    {
        var (engine, output, _, session) = await StartAsync(FakeRealtimeScript.Empty);
        await using var _ = engine;
        const int frame = CallerLine.FrameBytes, batch = RealtimeProviderSession.BatchBytes;

        // A quiet line (the caller listening): 100 ms appends (the send loop may join two that queued up behind a slow send).
        await CallerLine.SilenceAsync(engine, output, TimeSpan.FromSeconds(1));
        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(session.AudioBytesReceived == 8000), Patience),
            $"a second of silence did not reach the provider: {string.Join(' ', session.AppendSizes)}");
        var quiet = session.AppendSizes;
        Assert.All(quiet, size => Assert.Equal(0, size % batch));
        Assert.InRange(quiet.Count, 5, 10);

        // The caller speaks and stops: each frame goes at once while they speak and through the provider's silence window
        // (500 ms) after the local detector stops hearing them, where the provider's turn detection decides; then 100 ms again.
        var speech = RealtimeEngineFixture.Caller("caller_yes_he.wav");
        await CallerLine.SayAsync(engine, output, speech, TimeSpan.FromSeconds(1.6), turn: 1);
        var sent = 8000 + speech.Length + 80 * frame;
        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(session.AudioBytesReceived > sent - batch), Patience),
            $"the provider has {session.AudioBytesReceived} of the {sent} bytes played (less than 100 ms may wait)");
        var sizes = session.AppendSizes.Skip(quiet.Count).ToList();
        var speechFrames = (speech.Length + frame - 1) / frame;
        var lastSmall = sizes.FindLastIndex(size => size < batch);
        // Frame by frame: about one append per frame of the speech and the 500 ms after (25 frames), none of them 100 ms.
        Assert.InRange(sizes.Take(lastSmall + 1).Count(size => size < batch), (speechFrames + 25) / 2, speechFrames + 26);
        Assert.InRange(sizes.Take(lastSmall + 1).Sum(), speech.Length + 15 * frame, speech.Length + 26 * frame);
        // Then the quiet line again: 100 ms appends.
        Assert.NotEmpty(sizes.Skip(lastSmall + 1));
        Assert.All(sizes.Skip(lastSmall + 1), size => Assert.Equal(0, size % batch));
        Assert.Empty(session.ErrorsSent);
    }

    [Fact]
    public async Task SaveLeadNamesTheCustomerFillsTheCallsLeadAndTheModelHearsWhatWasSaved()
    {
        var save = new FakeToolCall("save_lead", """{"name":"דנה לוי","reason":"תספורת","callback_time":"מחר בבוקר"}""");
        var script = new FakeRealtimeScript([Turn("קוראים לי דנה לוי", FakeReply.ToolsOnly(save) with { Then = Reply(Greeting, "תודה דנה") })]);
        var (engine, output, call, session) = await StartAsync(script);
        await using var _ = engine;

        await CallerLine.SayAsync(engine, output, RealtimeEngineFixture.Caller("caller_name_he.wav"), TimeSpan.FromSeconds(2.5), turn: 1);
        await output.WaitAsync(o => o.TotalAudioBytes == Greeting.Length, Patience, "the reply after the tool result");

        var result = Assert.Single(session.FunctionOutputs).Json;
        Assert.True(result.GetProperty("ok").GetBoolean());
        Assert.Equal("דנה לוי", result.GetProperty("saved").GetProperty("name").GetString());
        Assert.Equal("דנה לוי", await fixture.ScalarAsync<string>("SELECT name FROM customers WHERE id = $1", call.CustomerId));
        Assert.Equal("דנה לוי", await fixture.ScalarAsync<string>("SELECT lead_name FROM calls WHERE id = $1", call.CallId));
        Assert.Equal("תספורת", await fixture.ScalarAsync<string>("SELECT lead_reason FROM calls WHERE id = $1", call.CallId));
        Assert.Equal("מחר בבוקר", await fixture.ScalarAsync<string>("SELECT lead_callback_time FROM calls WHERE id = $1", call.CallId));
        Assert.Contains("response.create", session.ClientEvents);
        Assert.Empty(output.PostedStages);
    }

    [Theory]
    [InlineData("save_lead", "{\"name\": 42}", "'name' must be a string")]
    [InlineData("save_lead", "not json", "not valid JSON")]
    [InlineData("save_lead", "{\"phone\":\"050\"}", "unknown field 'phone'")]
    [InlineData("save_lead", "{}", "at least one of")]
    [InlineData("book_appointment", "{}", "no tool named 'book_appointment'")]
    [InlineData("end_call", "{\"summary\":7}", "'summary' must be a string")]
    public async Task ABadToolCallIsAnsweredToTheModelAsAnErrorAndTheConversationGoesOn(string tool, string arguments, string error)
    {
        var script = new FakeRealtimeScript([Turn("כן", FakeReply.ToolsOnly(new FakeToolCall(tool, arguments)) with { Then = Reply(Greeting, "סליחה, אפשר לחזור?") })]);
        var (engine, output, call, session) = await StartAsync(script);
        await using var _ = engine;

        await CallerLine.SayAsync(engine, output, RealtimeEngineFixture.Caller("caller_yes_he.wav"), TimeSpan.FromSeconds(2.5), turn: 1);
        await output.WaitAsync(o => o.TotalAudioBytes == Greeting.Length, Patience, "the reply after the error result");

        var result = Assert.Single(session.FunctionOutputs).Json;
        Assert.False(result.GetProperty("ok").GetBoolean());
        Assert.Contains(error, result.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.True(engine.IsStreaming, "a bad tool call must not end the AI conversation");
        Assert.Empty(output.PostedStages);
        Assert.Null(await fixture.ScalarAsync<string>("SELECT lead_name FROM calls WHERE id = $1", call.CallId));
    }

    [Fact]
    public async Task EndCallLetsTheGoodbyePlayThenCompletesWithTheSummary()
    {
        var end = new FakeToolCall("end_call", """{"summary":"דנה ביקשה תור לתספורת, לחזור מחר בבוקר."}""");
        var script = new FakeRealtimeScript([Turn("תודה, זה הכל", Reply(Goodbye, "תודה שפנית, להתראות") with { ToolCalls = [end] })]);
        var (engine, output, call, _) = await StartAsync(script);
        await using var _ = engine;

        await CallerLine.SayAsync(engine, output, RealtimeEngineFixture.Caller("caller_yes_he.wav"), TimeSpan.FromSeconds(2), turn: 1);
        var (stage, reply) = await output.RunPostedAsync(Patience);

        Assert.Equal("end_call", stage);
        Assert.Equal(CallEnd.Completed, reply.End);
        Assert.Empty(reply.Segments); // the model's own goodbye is what plays; the pipeline waits for it
        Assert.Equal(Goodbye, output.AudioOf(Assert.Single(output.Replies)));
        Assert.Equal("דנה ביקשה תור לתספורת, לחזור מחר בבוקר.", await fixture.ScalarAsync<string>("SELECT summary FROM calls WHERE id = $1", call.CallId));
    }

    [Fact]
    public async Task LeaveVoicemailSendsTheCallerToVoicemailAsTheirOwnRequest()
    {
        var script = new FakeRealtimeScript([Turn("אני רוצה להשאיר הודעה", FakeReply.ToolsOnly(new FakeToolCall("leave_voicemail", "{}")))]);
        var (engine, output, _, _) = await StartAsync(script);
        await using var _ = engine;

        await CallerLine.SayAsync(engine, output, RealtimeEngineFixture.Caller("caller_reason_he.wav"), TimeSpan.FromSeconds(2), turn: 1);
        var (stage, reply) = await output.RunPostedAsync(Patience);

        Assert.Equal("leave_voicemail", stage);
        Assert.Equal(CallEnd.Voicemail, reply.End);
        Assert.Equal("caller_request", reply.Reason);
        Assert.Equal(PromptKeys.VoicemailTransfer, Assert.Single(reply.Segments).Label); // it said nothing itself
    }

    [Fact]
    public async Task AnInterruptedReplyIsTruncatedToWhatTheCallerHeardAndItsTranscriptIsMarked()
    {
        var script = new FakeRealtimeScript([Turn("שלום", Reply(Greeting, "בשמחה, איך קוראים לך?"))]);
        var (engine, output, call, session) = await StartAsync(script);
        await using var _ = engine;

        await CallerLine.SayAsync(engine, output, RealtimeEngineFixture.Caller("caller_yes_he.wav"), TimeSpan.FromSeconds(1.6), turn: 1);
        await output.WaitAsync(o => o.TotalAudioBytes == Greeting.Length, Patience, "the reply");
        var item = Assert.Single(output.Replies);
        var heard = TimeSpan.FromMilliseconds(600);
        engine.OnReplyInterrupted(new ReplyHeard(1, [new SegmentHeard(item, heard, TimeSpan.FromMilliseconds(Greeting.Length / 8.0))], heard,
            TimeSpan.FromMilliseconds(Greeting.Length / 8.0), Interrupted: true));

        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(session.Truncates.Count == 1), Patience), "no truncate reached the provider");
        var truncate = session.Truncates[0];
        Assert.Equal((item, 0, 600), (truncate.ItemId, truncate.ContentIndex, truncate.AudioEndMs));
        Assert.DoesNotContain("invalid_value", session.ErrorsSent);
        Assert.True(await Sql.EventuallyAsync(async () => await fixture.ScalarAsync<bool>(
            "SELECT interrupted FROM transcript_turns WHERE call_id = $1 AND item_id = $2", call.CallId, item), Patience));
        Assert.Equal(600, await fixture.ScalarAsync<int>("SELECT heard_ms FROM transcript_turns WHERE call_id = $1 AND item_id = $2", call.CallId, item));
        Assert.True(engine.IsStreaming);
    }

    [Theory]
    [InlineData(FakeConnectBehavior.Unauthorized, EngineFailures.AuthFailed)]
    [InlineData(FakeConnectBehavior.Hang, EngineFailures.ConnectTimeout)]
    public async Task AProviderThatCannotBeReachedAtStartHandsTheCallToTheIntakeWithinTwoSeconds(FakeConnectBehavior behavior, string reason)
    {
        Realtime.ConnectBehavior = behavior;
        try
        {
            var call = await fixture.StartCallAsync(await fixture.CreateBusinessAsync());
            var (engine, _) = fixture.CreateEngine(call, fixture.FactoryFor(Realtime.ConnectionString));
            await using var _ = engine;
            var started = System.Diagnostics.Stopwatch.GetTimestamp();

            var reply = await engine.StartAsync(CancellationToken.None);

            Assert.InRange(System.Diagnostics.Stopwatch.GetElapsedTime(started), TimeSpan.Zero, TimeSpan.FromSeconds(2));
            Assert.Equal(PromptKeys.AskName, Assert.Single(reply.Segments).Label);
            Assert.False(engine.IsStreaming);
            await AssertFallbackRecordedAsync(call, reason);
        }
        finally
        {
            Realtime.ConnectBehavior = FakeConnectBehavior.Accept;
        }
    }

    [Fact]
    public async Task AHangingProviderAfterASlowStreamStartStillHandsOverWithinTwoSecondsOfTheStream()
    {
        // The call's records took 1.2 s (a busy database) before the engine was asked to start: the 1.5 s bound on
        // opening the session counts from the stream's start, not from the connect, or the caller hears 2.7 s of nothing.
        Realtime.ConnectBehavior = FakeConnectBehavior.Hang;
        try
        {
            var call = await fixture.StartCallAsync(await fixture.CreateBusinessAsync());
            var (engine, output) = fixture.CreateEngine(call, fixture.FactoryFor(Realtime.ConnectionString), streamTime: TimeSpan.FromSeconds(1.2));
            await using var _ = engine;

            var reply = await engine.StartAsync(CancellationToken.None);

            Assert.InRange(output.Now, TimeSpan.Zero, TimeSpan.FromSeconds(2));
            Assert.Equal(PromptKeys.AskName, Assert.Single(reply.Segments).Label);
            await AssertFallbackRecordedAsync(call, EngineFailures.ConnectTimeout);
        }
        finally
        {
            Realtime.ConnectBehavior = FakeConnectBehavior.Accept;
        }
    }

    [Fact]
    public async Task AProviderThatRefusesTheConnectionHandsTheCallToTheIntakeAtOnce()
    {
        var call = await fixture.StartCallAsync(await fixture.CreateBusinessAsync());
        var (engine, _) = fixture.CreateEngine(call, fixture.FactoryFor($"Endpoint={FakeRealtimeServer.RefusedEndpoint()};Key=sk-x"));
        await using var _ = engine;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();

        var reply = await engine.StartAsync(CancellationToken.None);

        Assert.InRange(System.Diagnostics.Stopwatch.GetElapsedTime(started), TimeSpan.Zero, TimeSpan.FromSeconds(2));
        Assert.Equal(PromptKeys.AskName, Assert.Single(reply.Segments).Label);
        await AssertFallbackRecordedAsync(call, EngineFailures.ConnectRefused);
    }

    [Theory]
    [InlineData(FakeFailure.ErrorEvent, EngineFailures.ProviderError)]
    [InlineData(FakeFailure.DropSocket, EngineFailures.ConnectionLost)]
    [InlineData(FakeFailure.DropMidReply, EngineFailures.ConnectionLost)]
    [InlineData(FakeFailure.FailedResponse, EngineFailures.ProviderError)]
    [InlineData(FakeFailure.Silent, EngineFailures.NoAudio)]
    public async Task AProviderThatFailsMidCallHandsOverToTheIntakeFromWhereTheConversationStands(FakeFailure failure, string reason)
    {
        var save = new FakeToolCall("save_lead", """{"name":"דנה לוי"}""");
        var broken = failure == FakeFailure.DropMidReply ? Reply(Greeting, "אני") with { Failure = failure } : FakeReply.Fail(failure);
        var script = new FakeRealtimeScript(
        [
            Turn("קוראים לי דנה לוי", FakeReply.ToolsOnly(save) with { Then = Reply(Greeting, "תודה דנה, במה אפשר לעזור?") }),
            Turn("אני צריכה תספורת", broken),
        ]);
        var (engine, output, call, _) = await StartAsync(script);
        await using var _ = engine;
        await CallerLine.SayAsync(engine, output, RealtimeEngineFixture.Caller("caller_name_he.wav"), TimeSpan.FromSeconds(2.5), turn: 1);
        await output.WaitAsync(o => o.TotalAudioBytes >= Greeting.Length, Patience, "the first reply");

        var answer = await CallerLine.SayAsync(engine, output, RealtimeEngineFixture.Caller("caller_reason_he.wav"), TimeSpan.FromSeconds(3), turn: 2);
        var reply = await output.TakeOverReplyAsync(answer, Patience);

        Assert.False(engine.IsStreaming);
        // The name was taken: the intake goes on with the next question.
        Assert.Equal(PromptKeys.AskReason, Assert.Single(reply.Segments).Label);
        Assert.Equal(CallEnd.None, reply.End);
        await AssertFallbackRecordedAsync(call, reason);
        Assert.Equal([(reason, "intake")], output.HandOvers); // the call's trace shows it
        // Each caller turn the provider took was reported to the pipeline (a turn span), the realtime engine's.
        Assert.InRange(output.TurnsTaken.Count, 1, 2);
        Assert.All(output.TurnsTaken, t => Assert.Equal("realtime", t.Engine));
        Assert.All(output.TurnsTaken, t => Assert.InRange(t.SpeechEndedAt, TimeSpan.Zero, t.ReportedAt));
        // The intake now has the call: the next turn is its to answer.
        var next = await engine.OnCallerTurnAsync(new CallerTurn(3, RealtimeEngineFixture.Caller("caller_reason_he.wav"), TimeSpan.FromSeconds(1), null),
            CancellationToken.None);
        Assert.Equal(PromptKeys.AskCallbackTime, Assert.Single(next.Segments).Label);
    }

    [Fact]
    public async Task ABusinessWhoseFallbackIsVoicemailHasAFailedCallSentThere()
    {
        var script = new FakeRealtimeScript([Turn("שלום", FakeReply.Fail(FakeFailure.ErrorEvent))]);
        var (engine, output, call, _) = await StartAsync(script, await fixture.CreateBusinessAsync(fallback: AiFallbackModes.Voicemail));
        await using var _ = engine;

        var answer = await CallerLine.SayAsync(engine, output, RealtimeEngineFixture.Caller("caller_yes_he.wav"), TimeSpan.FromSeconds(1.5), turn: 1);
        var reply = await output.TakeOverReplyAsync(answer, Patience);

        Assert.Equal(CallEnd.Voicemail, reply.End);
        Assert.Equal("engine_provider_error", reply.Reason);
        Assert.Equal(PromptKeys.VoicemailTransfer, Assert.Single(reply.Segments).Label);
        await AssertFallbackRecordedAsync(call, EngineFailures.ProviderError);
    }

    [Fact]
    public async Task ABusinessWithTheAiOffIsAnsweredByTheIntakeWithoutAProviderSession()
    {
        var sessions = Realtime.Sessions.Count;
        var call = await fixture.StartCallAsync(await fixture.CreateBusinessAsync(aiEnabled: false));
        var (engine, _) = fixture.CreateEngine(call);
        await using var _ = engine;

        var reply = await engine.StartAsync(CancellationToken.None);

        Assert.Equal(PromptKeys.AskName, Assert.Single(reply.Segments).Label);
        Assert.False(engine.IsStreaming);
        Assert.Equal(sessions, Realtime.Sessions.Count);
        Assert.True(await Sql.EventuallyAsync(async () => await fixture.ScalarAsync<string>("SELECT engine FROM calls WHERE id = $1", call.CallId) == "intake", Patience));
        Assert.Null(await fixture.ScalarAsync<string>("SELECT engine_fallback_reason FROM calls WHERE id = $1", call.CallId));
    }

    [Fact]
    public async Task OneProvidersFailureLeavesAnotherCallsConversationUntouched()
    {
        Realtime.ConnectBehavior = FakeConnectBehavior.Accept;
        var healthyScript = new FakeRealtimeScript([Turn("שלום", Reply(Greeting, "שלום, איך קוראים לך?"))]);
        var failingScript = new FakeRealtimeScript([Turn("שלום", FakeReply.Fail(FakeFailure.DropSocket))]);
        var first = true;
        Realtime.Script = () =>
        {
            var script = first ? failingScript : healthyScript;
            first = false;
            return script;
        };
        var business = await fixture.CreateBusinessAsync();
        var (failing, failingOutput) = fixture.CreateEngine(await fixture.StartCallAsync(business));
        await using var _ = failing;
        await failing.StartAsync(CancellationToken.None);
        var (healthy, healthyOutput) = fixture.CreateEngine(await fixture.StartCallAsync(business));
        await using var __ = healthy;
        await healthy.StartAsync(CancellationToken.None);

        var speech = RealtimeEngineFixture.Caller("caller_yes_he.wav");
        await Task.WhenAll(
            CallerLine.SayAsync(failing, failingOutput, speech, TimeSpan.FromSeconds(2), turn: 1),
            CallerLine.SayAsync(healthy, healthyOutput, speech, TimeSpan.FromSeconds(2), turn: 1));
        await healthyOutput.WaitAsync(o => o.TotalAudioBytes == Greeting.Length, Patience, "the healthy call's reply");

        Assert.False(failing.IsStreaming);
        Assert.Equal("fallback", (await failingOutput.RunPostedAsync(Patience)).Stage);
        Assert.True(healthy.IsStreaming);
        Assert.Empty(healthyOutput.PostedStages);
    }

    [Theory]
    [InlineData(200)]
    [InlineData(400)]
    public async Task AStoredVoicemailIsTranscribedInHebrewAndTheNotificationFollowsWithOrWithoutTheText(int providerStatus)
    {
        Realtime.TranscriptionText = "שלום, זאת דנה. תחזרו אליי מחר בבוקר.";
        Realtime.TranscriptionStatus = providerStatus;
        var call = await fixture.StartCallAsync(await fixture.CreateBusinessAsync());
        var storage = fixture.Worker.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
        var relative = $"recordings/test/{call.CallSid}.wav";
        var audio = new byte[44 + 16_000];
        "RIFF"u8.CopyTo(audio);
        Random.Shared.NextBytes(audio.AsSpan(44));
        Directory.CreateDirectory(Path.GetDirectoryName(storage.Resolve(relative))!);
        await File.WriteAllBytesAsync(storage.Resolve(relative), audio);
        var recordingId = Guid.CreateVersion7();
        await fixture.ScalarAsync<int>("""
            INSERT INTO recordings (id, call_id, recording_sid, recording_url, duration_seconds, status, storage_path, content_type, created_at)
            VALUES ($1, $2, $3, 'https://api.twilio.com/rec', 6, 'stored', $4, 'audio/wav', now())
            """, recordingId, call.CallId, "RE" + Guid.NewGuid().ToString("N"), relative);
        var requests = Realtime.Transcriptions.Count;

        await fixture.ScalarAsync<int>("""
            INSERT INTO jobs (type, payload, dedup_key, status, attempts, max_attempts, run_at, created_at, updated_at)
            VALUES ($1, $2::jsonb, $3, 'pending', 0, 8, now(), now(), now())
            """, TranscriptionJob.Type, $$"""{"recordingId":"{{recordingId}}"}""", TranscriptionJob.DedupKey(recordingId));

        Assert.True(await Sql.EventuallyAsync(async () => await fixture.ScalarAsync<long>(
            "SELECT count(*) FROM jobs WHERE dedup_key = $1", LeadNotificationJob.DedupKey(call.CallId)) == 1, Patience), "the notification was not queued");
        var request = Realtime.Transcriptions[requests];
        Assert.Equal(("gpt-4o-mini-transcribe", "he"), (request.Model, request.Language));
        Assert.Equal(audio, request.Audio);
        var transcript = await fixture.ScalarAsync<string>("SELECT transcript FROM recordings WHERE id = $1", recordingId);
        if (providerStatus == 200)
        {
            Assert.Equal("שלום, זאת דנה. תחזרו אליי מחר בבוקר.", transcript);
        }
        else
        {
            // The provider refused the audio: the business still hears about the voicemail, without its text.
            Assert.Null(transcript);
            Assert.True(fixture.Worker.Logs.Contains($"VOICEMAIL_TRANSCRIPTION_FAILED {call.CallSid}"));
        }

        Realtime.TranscriptionStatus = 200;
    }

    private async Task AssertFallbackRecordedAsync(ConversationContext call, string reason)
    {
        Assert.True(await Sql.EventuallyAsync(async () => await fixture.ScalarAsync<string>(
            "SELECT engine_fallback_reason FROM calls WHERE id = $1", call.CallId) == reason, Patience), $"the call's fallback reason is not {reason}");
        Assert.True(fixture.Worker.Logs.Contains($"ENGINE_FALLBACK {call.CallSid} reason={reason}"), "ENGINE_FALLBACK was not logged");
    }
}
