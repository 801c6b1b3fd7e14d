using AgentLocator.Data.Calls;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.Media;
using Microsoft.Extensions.DependencyInjection;
using static AgentLocator.Tests.MediaWorker.PipelineAssertions;

namespace AgentLocator.Tests.MediaWorker;

/// <summary>
/// Live call events (Redis pub/sub) are best effort and never hold up a call: with every publish
/// hanging, a real-time (1x) call still hears each reply whole and in time, with no gap inside it.
/// A publish awaited by the receive loop stops the release of the bot's audio, and the caller hears
/// the reply break off once the playback lead runs out.
/// </summary>
public sealed class StalledLiveEventsTests(MediaPipelineFixture fixture) : IClassFixture<MediaPipelineFixture>
{
    [Fact]
    public async Task APublishThatHangsNeverStarvesTheBotsAudio()
    {
        var events = new HangingLiveEvents();
        var worker = fixture.StartWorker(new Dictionary<string, string?>(), services => services.AddSingleton<ICallSessions>(events));
        var options = await fixture.StartCallAsync(speed: 1);
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);

        Assert.True(await sim.WaitForBotAudioAsync(Patience), "the first question never came");
        await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(200));
        foreach (var (answer, turn) in new[] { ("caller_name_he.wav", 1), ("caller_problem_4s_he.wav", 2) })
        {
            await sim.SilenceAsync(TimeSpan.FromMilliseconds(500));
            await sim.SayAsync(TestAudio.Fixture(answer));
            Assert.True(await sim.WaitForTurnAsync(turn, Patience), $"turn {turn} was never answered");
            await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(200));
        }

        await sim.HangUpAsync();
        Assert.True(events.Attempts >= 3, $"the call published {events.Attempts} events (stream started and two turns expected)");
        Assert.Equal(2, sim.Turns.Count);
        Assert.All(sim.Turns, t => Assert.InRange(t.Latency.TotalMilliseconds, 1, 550 + 300));
        Assert.Equal(0, sim.LateFrames);
        var sent = sim.Received.Where(m => m.Kind == BotMessageKind.Mark).Select(m => m.MarkName!).ToList();
        Assert.Equal(sent, sim.EchoedMarks);
    }

    /// <summary>Redis that takes every publish and never answers (a stalled connection); nothing else is kept.</summary>
    private sealed class HangingLiveEvents : ICallSessions
    {
        private readonly NoCallSessions _none = new();
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public Task<bool> PublishAsync(CallEvent callEvent, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _attempts);
            return new TaskCompletionSource<bool>().Task; // never completes, whatever the token says
        }

        public Task<bool> SaveAsync(CallSession session, TimeSpan ttl, CancellationToken cancellationToken) => _none.SaveAsync(session, ttl, cancellationToken);

        public Task<CallSession?> GetAsync(string callSid, CancellationToken cancellationToken) => _none.GetAsync(callSid, cancellationToken);

        public Task<bool> ArmWatchdogAsync(string callSid, DateTimeOffset deadline, CancellationToken cancellationToken) =>
            _none.ArmWatchdogAsync(callSid, deadline, cancellationToken);

        public Task<bool> DisarmWatchdogAsync(string callSid, CancellationToken cancellationToken) => _none.DisarmWatchdogAsync(callSid, cancellationToken);

        public Task<IReadOnlyList<string>> DueWatchdogsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
            _none.DueWatchdogsAsync(now, limit, cancellationToken);

        public Task<bool> ClaimWatchdogAsync(string callSid, CancellationToken cancellationToken) => _none.ClaimWatchdogAsync(callSid, cancellationToken);

        public Task<bool> RememberResponseAsync(string key, string response, TimeSpan ttl, CancellationToken cancellationToken) =>
            _none.RememberResponseAsync(key, response, ttl, cancellationToken);

        public Task<string?> RecallResponseAsync(string key, CancellationToken cancellationToken) => _none.RecallResponseAsync(key, cancellationToken);
    }
}
