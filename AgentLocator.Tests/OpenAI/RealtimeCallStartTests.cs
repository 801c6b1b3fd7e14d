using AgentLocator.Media;
using AgentLocator.MediaWorker.Conversation.Realtime;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Testing.OpenAI;
using AgentLocator.Tests.Infrastructure;
using Npgsql;
using static AgentLocator.Tests.OpenAI.RealtimeCallsFixture;

namespace AgentLocator.Tests.OpenAI;

/// <summary>A MediaWorker with the product's bounds on reading the settings (1 s) and opening a provider session (1.5 s), for the tests that time the start.</summary>
public class ProductConnectTimeoutFixture : RealtimeCallsFixture
{
    protected override string ConnectTimeout => "00:00:01.5";

    protected override string ProfileTimeout => "00:00:01";
}

/// <summary>Whole calls at real speed whose provider cannot be reached at the start.</summary>
public sealed class RealtimeCallStartTests(ProductConnectTimeoutFixture fixture) : IClassFixture<ProductConnectTimeoutFixture>
{
    [Theory]
    [InlineData(FakeConnectBehavior.Unauthorized, EngineFailures.AuthFailed)]
    [InlineData(FakeConnectBehavior.Hang, EngineFailures.ConnectTimeout)]
    public async Task AProviderThatCannotBeReachedHasTheIntakeAskTheFirstQuestionWithinTwoSeconds(FakeConnectBehavior behavior, string reason)
    {
        fixture.Realtime.ConnectBehavior = behavior;
        try
        {
            await using var call = await fixture.StartCallAsync(FakeRealtimeScript.Empty);
            await StartsWithTheIntakeAsync(call, fixture, reason);
        }
        finally
        {
            fixture.Realtime.ConnectBehavior = FakeConnectBehavior.Accept;
        }
    }

    [Fact]
    public async Task SettingsThatCannotBeReadHaveTheIntakeAskTheFirstQuestionWithinTwoSeconds()
    {
        // A migration (or a stuck transaction) holds the businesses table: the settings read waits on the lock.
        await using var blocker = new NpgsqlConnection(fixture.ConnectionString);
        await blocker.OpenAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        await using var call = await fixture.StartCallAsync(FakeRealtimeScript.Empty,
            beforeStream: async () => await new NpgsqlCommand("LOCK TABLE businesses IN ACCESS EXCLUSIVE MODE", blocker, transaction).ExecuteNonQueryAsync());
        await StartsWithTheIntakeAsync(call, fixture, EngineFailures.ProfileUnavailable);
        Assert.True(fixture.Worker.Logs.Contains($"ENGINE_WRITE_FAILED {call.CallSid} read the business's settings"), "the failed read was not logged");
    }

    [Fact]
    public async Task AStreamWhoseCallIdNeverBecameARowRecordsTheCallOnItsRow()
    {
        // The webhook answered before its write (Postgres over budget), and Twilio's retry of it wrote the row under another id.
        var answeredId = Guid.CreateVersion7();
        await using var call = await fixture.StartCallAsync(FakeRealtimeScript.Empty, streamCallId: answeredId);
        Assert.True(await Sql.EventuallyAsync(async () => await fixture.ScalarAsync<string>(
            "SELECT engine FROM calls WHERE id = $1", call.CallId) == ConversationEngines.Realtime, Patience), "the row does not name the call's engine");
        Assert.True(fixture.Worker.Logs.Contains($"CALL_ID_FROM_ROW {call.CallSid}: the stream carried call {answeredId}"), "CALL_ID_FROM_ROW was not logged");
    }

    /// <summary>The intake's first question is on the line within two seconds of the stream's start, and the fallback is recorded.</summary>
    internal static async Task StartsWithTheIntakeAsync(RealtimeCall call, RealtimeCallsFixture fixture, string reason)
    {
        Assert.True(await call.Sim.WaitForBotAudioAsync(Patience), "the caller heard nothing");
        var first = call.Sim.Received.First(m => m.Kind == BotMessageKind.Media);
        Assert.True(first.LineTime < TimeSpan.FromSeconds(2), $"the first question came {first.LineTime.TotalMilliseconds:0} ms into the call");
        await call.Sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(200));
        Assert.Equal(Prompts[PromptKeys.AskName].MuLaw.ToArray(), call.Sim.BotAudio);
        Assert.True(await Sql.EventuallyAsync(async () => await fixture.ScalarAsync<string>(
            "SELECT engine_fallback_reason FROM calls WHERE id = $1", call.CallId) == reason, Patience), $"the call's fallback reason is not {reason}");
        Assert.True(fixture.Worker.Logs.Contains($"ENGINE_FALLBACK {call.CallSid} reason={reason}"), "ENGINE_FALLBACK was not logged");
    }
}

/// <summary>A MediaWorker whose provider endpoint refuses connections.</summary>
public sealed class RefusingProviderFixture : ProductConnectTimeoutFixture
{
    protected override string OpenAIConnectionString => $"Endpoint={FakeRealtimeServer.RefusedEndpoint()};Key=sk-refused";
}

/// <summary>Fifty whole calls with the AI receptionist at once, on a worker of their own.</summary>
[Collection(MachineLoadCollection.Name)]
public sealed class RealtimeLoadTests(RealtimeLoadTests.Fixture fixture) : IClassFixture<RealtimeLoadTests.Fixture>
{
    public sealed class Fixture : RealtimeCallsFixture;

    [Fact]
    public async Task FiftyCallsAtOnceEachHoldTheirOwnConversation()
    {
        const int calls = 50;
        var reply = FakeRealtimeSession.Tone(800);
        var script = new FakeRealtimeScript([new FakeTurn("שלום", new FakeReply(reply, "שלום, איך קוראים לך?"))]);
        var sessionsBefore = fixture.Realtime.Sessions.Count;
        var started = await Task.WhenAll(Enumerable.Range(0, calls).Select(_ => fixture.StartCallAsync(script)));
        try
        {
            var caller = Caller("caller_yes_he.wav");
            await Task.WhenAll(started.Select(async call =>
            {
                await call.Sim.SilenceAsync(TimeSpan.FromSeconds(1));
                await call.Sim.SayAsync(caller);
                Assert.True(await call.Sim.WaitForTurnAsync(1, Patience), $"the call of {call.Business} was not answered");
                await call.Sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(300));
            }));

            var fallbacks = fixture.Worker.Logs.Lines.Where(l => l.Contains("ENGINE_FALLBACK", StringComparison.Ordinal)).ToList();
            Assert.True(fallbacks.Count == 0, $"{fallbacks.Count} calls fell back to the intake: {string.Join(" | ", fallbacks.Take(5))}");
            foreach (var call in started)
            {
                Assert.Empty(call.Sim.ProtocolViolations);
                Assert.Equal(reply, call.Sim.BotAudio);
                var session = fixture.SessionOf(call.Business);
                Assert.Equal(1, session.TurnsCommitted);
                Assert.Empty(session.ErrorsSent);
            }

            Assert.Equal(sessionsBefore + calls, fixture.Realtime.Sessions.Count);
            var latencies = started.Select(c => c.Sim.Turns[0].Latency.TotalMilliseconds).Order().ToList();
            Assert.True(latencies[^1] < 3000, $"the slowest of {calls} calls was answered after {latencies[^1]:0} ms (median {latencies[calls / 2]:0} ms)");
        }
        finally
        {
            await Task.WhenAll(started.Select(c => c.DisposeAsync().AsTask()));
        }
    }
}

public sealed class RealtimeRefusedCallTests(RefusingProviderFixture fixture) : IClassFixture<RefusingProviderFixture>
{
    [Fact]
    public async Task AProviderThatRefusesTheConnectionHasTheIntakeAskTheFirstQuestionAtOnce()
    {
        await using var call = await fixture.StartCallAsync(FakeRealtimeScript.Empty);
        await RealtimeCallStartTests.StartsWithTheIntakeAsync(call, fixture, EngineFailures.ConnectRefused);
    }
}
