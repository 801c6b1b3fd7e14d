using System.Diagnostics;
using AgentLocator.MediaWorker.Conversation.Realtime;
using AgentLocator.ServiceDefaults.Telemetry;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Testing.OpenAI;
using AgentLocator.Tests.OpenAI;
using static AgentLocator.Tests.OpenAI.RealtimeCallsFixture;

namespace AgentLocator.Tests.Tracing;

/// <summary>
/// The AI receptionist's turns in the call's trace: a whole call at 1x through <c>/ws/twilio-media</c> with the fake
/// Realtime API, its spans read off an <see cref="ActivityListener"/> as in <see cref="CallTraceTests"/>.
/// </summary>
public sealed class RealtimeCallTraceTests(RealtimeCallsFixture fixture) : IClassFixture<RealtimeCallsFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task EachTurnTheProviderTakesIsAChildSpanOfTheSessionFromTheCallersSpeechEndToTheReplysFirstFrameAndTheHandOverIsOnTheTrace()
    {
        using var spans = new SpanCollector();
        // The caller's reason is answered after a save_lead round trip; the provider fails on their name (an error event).
        await using var call = await fixture.StartCallAsync(RealtimeScenariosFixture.FailureScript(FakeFailure.ErrorEvent));
        var sim = call.Sim;
        await sim.SilenceAsync(TimeSpan.FromSeconds(1));
        await AnswerAsync(sim, Caller("caller_reason_he.wav"));
        await AnswerAsync(sim, Caller("caller_name_he.wav"));
        await sim.HangUpAsync();

        var session = await WaitForSessionAsync(spans, call.CallSid);
        var traceId = session.TraceId;
        var turns = await WaitForAsync(spans, traceId, t => t.Count(s => s.OperationName == CallTrace.TurnSpan && Equals(s.GetTagItem("engine"), "realtime")) >= 2,
            "two realtime turn spans");
        var realtimeTurns = turns.Where(s => s.OperationName == CallTrace.TurnSpan && Equals(s.GetTagItem("engine"), "realtime"))
            .OrderBy(s => s.GetTagItem("turn.number")).ToList();
        Assert.All(realtimeTurns, t => Assert.Equal(session.SpanId, t.ParentSpanId));

        // The first turn: from the end of the caller's speech (the provider's audio_end_ms on the stream clock) to the
        // first frame of the reply that followed the tool round trip, its latency and the provider's time on it.
        var answered = realtimeTurns[0];
        Assert.Equal(1, answered.GetTagItem("turn.number"));
        Assert.InRange(Assert.IsType<int>(answered.GetTagItem("turn.speech_ms")), 300, 10_000);
        var latency = Assert.IsType<double>(answered.GetTagItem("reply.latency_ms"));
        var engine = Assert.IsType<double>(answered.GetTagItem("engine.ms"));
        // The provider's silence (500 ms) before it took the turn, then its reply: under the 2 s the caller may wait.
        Assert.InRange(latency, 400, 2000);
        Assert.InRange(engine, 0, latency);
        Assert.InRange(answered.Duration.TotalMilliseconds, latency - 50, latency + 250);
        Assert.Equal(ActivityStatusCode.Unset, answered.Status);
        // Its reply is the one the caller heard first: reply 1 on the line, the provider's item as its label.
        Assert.Equal(1, answered.GetTagItem("reply.id"));
        Assert.Equal(fixture.SessionOf(call.Business).Responses[^1].ItemId, answered.GetTagItem("reply.label"));

        // The second turn got no reply from the provider: it ends failed, with the hand-over, which is an event on the session.
        var failed = realtimeTurns[1];
        Assert.Equal(2, failed.GetTagItem("turn.number"));
        Assert.Null(failed.GetTagItem("reply.latency_ms"));
        Assert.Equal((ActivityStatusCode.Error, "engine fallback: " + EngineFailures.ProviderError), (failed.Status, failed.StatusDescription));
        var handOver = Assert.Single(session.Events, e => e.Name == "engine fallback");
        Assert.Equal(EngineFailures.ProviderError, handOver.Tags.Single(t => t.Key == "engine.fallback.reason").Value);
        Assert.Equal("intake", handOver.Tags.Single(t => t.Key == "engine.fallback.to").Value);
        // Ended by the hand-over itself (the span's end and the event's time come from different clock reads).
        Assert.InRange(failed.StartTimeUtc + failed.Duration, handOver.Timestamp.UtcDateTime.AddMilliseconds(-50), handOver.Timestamp.UtcDateTime.AddMilliseconds(50));

        // While the provider took the turns the pipeline opened none of its own: every turn span of the call until the
        // hand-over is the engine's.
        Assert.DoesNotContain(spans.InTrace(traceId), s => s.OperationName == CallTrace.TurnSpan && s.GetTagItem("engine") is null
            && s.StartTimeUtc < answered.StartTimeUtc + answered.Duration);
    }

    private static async Task<Activity> WaitForSessionAsync(SpanCollector spans, string callSid)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Wait.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (spans.All.FirstOrDefault(s => s.OperationName == CallTrace.SessionSpan && Equals(s.GetTagItem(CallTrace.CallSidTag), callSid)) is { } found)
            {
                return found;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"no media-stream session span for {callSid} within {Wait.TotalSeconds:0} s");
    }

    private static async Task<IReadOnlyList<Activity>> WaitForAsync(SpanCollector spans, ActivityTraceId traceId, Func<IReadOnlyList<Activity>, bool> done, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Wait.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var trace = spans.InTrace(traceId);
            if (done(trace))
            {
                return trace;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"no {what} in trace {traceId}; it holds: " +
            string.Join(", ", spans.InTrace(traceId).Select(s => $"{s.DisplayName} {string.Join(' ', s.Tags.Select(t => t.Key + "=" + t.Value))}")));
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
