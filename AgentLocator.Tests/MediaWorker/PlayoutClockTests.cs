using AgentLocator.Media;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.SpeechDetection;
using AgentLocator.Testing.MediaStreams;
using Microsoft.Extensions.DependencyInjection;
using static AgentLocator.Tests.MediaWorker.PipelineAssertions;

namespace AgentLocator.Tests.MediaWorker;

/// <summary>
/// The bot's audio keeps flowing while the receive loop does not read: on a loaded machine its frames wait in the thread
/// pool's queue (0.5–0.6 s in the media-pipeline benchmark), longer than the 600 ms the peer has buffered. The playout clock
/// releases reply audio on the wall clock from a thread of its own. 1x, through the real <c>/ws/twilio-media</c>, in the
/// middle of a 5.8 s reply: the receive loop stalls <see cref="Hold"/> (<see cref="Slowdown.Stalled"/>), or reads one frame
/// every 30 ms for <see cref="SlowFrames"/> frames while Twilio sends one every 20 ms, so a backlog of a second builds up
/// unread (<see cref="Slowdown.Backlogged"/>: a loop that runs but behind, whose last frame read is not where the line is).
/// The caller hears the reply whole, at 8,000 bytes/s, without a gap, and the marks account for every chunk. With the clock
/// off the same slowdown makes the line run dry, so each scenario does exercise what the clock guards against.
/// </summary>
public sealed class PlayoutClockTests(MediaPipelineFixture fixture) : IClassFixture<MediaPipelineFixture>
{
    /// <summary>Stream time of the caller frame whose processing is held (the reply has played about a second by then).</summary>
    private static readonly TimeSpan HoldAt = TimeSpan.FromMilliseconds(1500);

    /// <summary>How long the receive loop is held: past the 600 ms lead, under the simulator's 500 ms bound on a gap inside a reply + the lead.</summary>
    private static readonly TimeSpan Hold = TimeSpan.FromMilliseconds(900);

    /// <summary>How many frames a backlogged receive loop reads at one per <see cref="SlowFrame"/>: 3 s of wall for 2 s of line.</summary>
    private const int SlowFrames = 100;

    private static readonly TimeSpan SlowFrame = TimeSpan.FromMilliseconds(30);

    public enum Slowdown
    {
        /// <summary>The receive loop reads nothing for <see cref="Hold"/>.</summary>
        Stalled,

        /// <summary>The receive loop reads a frame every 30 ms for <see cref="SlowFrames"/> frames: it runs, a second behind the line at worst.</summary>
        Backlogged,
    }

    [Theory]
    [InlineData(Slowdown.Stalled)]
    [InlineData(Slowdown.Backlogged)]
    public async Task AReceiveLoopFallingBehindByMoreThanThePlaybackLeadLeavesNoGapInTheReply(Slowdown slowdown)
    {
        var (sim, held) = await CallWithASlowReceiveLoopAsync(slowdown, playoutClock: true);

        Assert.True(held.HeldAt is { } at && at >= HoldAt, "the receive loop was never held");
        var reply = Prompts[PromptKeys.Greeting].MuLaw.Length;
        var spans = sim.BotSpans;
        var gaps = string.Join(", ", sim.LateGaps.Select(g => $"{g.Frames * 20} ms at {g.LineTime.TotalMilliseconds:0} ms"));
        Assert.True(sim.LateFrames == 0 && spans.Count == 1,
            $"the reply broke off: {sim.LateFrames} late frames ({gaps}), {spans.Count} stretches of playback");
        Assert.True(spans[0].StartedAt < held.HeldAt && spans[0].EndedAt > held.HeldAt + Hold * 2, "the slowdown was not inside the reply");

        // Whole, at 8,000 bytes/s: it played exactly its own length, from its first byte to its last.
        Assert.Equal(reply, sim.BotBytesPlayed);
        Assert.InRange((spans[0].EndedAt - spans[0].StartedAt).TotalMilliseconds, reply / 8.0 - 1, reply / 8.0 + 1);
        var sent = sim.Received.Where(m => m.Kind == BotMessageKind.Mark).Select(m => m.MarkName!).ToList();
        Assert.Equal(sent, sim.EchoedMarks);
        Assert.Equal(Chunks(PromptKeys.Greeting) + 1, sent.Count); // the start mark and one per chunk
    }

    [Theory]
    [InlineData(Slowdown.Stalled)]
    [InlineData(Slowdown.Backlogged)]
    public async Task WithoutThePlayoutClockTheSameSlowdownRunsTheLineDry(Slowdown slowdown)
    {
        var (sim, held) = await CallWithASlowReceiveLoopAsync(slowdown, playoutClock: false);

        Assert.True(held.HeldAt is not null, "the receive loop was never slowed");
        Assert.True(sim.LateFrames > 0 || sim.BotSpans.Count > 1,
            $"the reply played without a gap though the receive loop fell behind ({slowdown}) with nothing else releasing it");
    }

    /// <summary>One call whose only reply is the 5.8 s greeting; the receive loop slows down once, at <see cref="HoldAt"/>.</summary>
    private async Task<(CallSimulator Sim, SlowOnce Held)> CallWithASlowReceiveLoopAsync(Slowdown slowdown, bool playoutClock)
    {
        var held = new SlowOnce(slowdown);
        var worker = fixture.StartWorker(new Dictionary<string, string?>
        {
            ["MediaStream:PlayoutClock"] = playoutClock ? "true" : "false",
            ["SpeechDetection:ModelPath"] = Path.Combine(Path.GetTempPath(), "no-silero-model", SpeechDetectionOptions.ModelFileName),
        }, services =>
        {
            services.AddSingleton<ISpeechDetectorFactory>(held);
            services.AddSingleton<IConversationEngineFactory>(sp => new GreetingOnly(sp.GetRequiredService<PromptLibrary>()));
        });
        var options = await fixture.StartCallAsync(speed: 1);
        var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);
        Assert.True(await sim.WaitForBotAudioAsync(Patience), "the greeting never came");
        await sim.UntilBotQuietAsync(TimeSpan.FromMilliseconds(600)).WaitAsync(Patience);
        await sim.HangUpAsync();
        await sim.DisposeAsync();
        return (sim, held);
    }

    /// <summary>
    /// The energy detector, except that from the first frame at or after <see cref="HoldAt"/> it blocks the receive loop as
    /// <paramref name="slowdown"/> says (Twilio's frames queue unread meanwhile, as behind a backed-up thread pool).
    /// </summary>
    private sealed class SlowOnce(Slowdown slowdown) : ISpeechDetectorFactory
    {
        private readonly EnergySpeechDetectorFactory _energy = new();
        private long _heldAtTicks = -1;
        private readonly Slowdown _slowdown = slowdown;
        private int _slowFramesLeft = SlowFrames;

        public TimeSpan? HeldAt => Interlocked.Read(ref _heldAtTicks) is var ticks and >= 0 ? TimeSpan.FromTicks(ticks) : null;

        public ISpeechDetector Create(TimeSpan endOfTurnSilence) => new Detector(_energy.Create(endOfTurnSilence), this);

        private sealed class Detector(ISpeechDetector inner, SlowOnce owner) : ISpeechDetector
        {
            public bool IsSpeaking => inner.IsSpeaking;

            public bool LastFrameVoiced => inner.LastFrameVoiced;

            public TimeSpan SpeechStartedAt => inner.SpeechStartedAt;

            public double NoiseFloorDbfs => inner.NoiseFloorDbfs;

            public VoiceActivityEvent Process(ReadOnlySpan<byte> muLaw, TimeSpan timestamp)
            {
                var first = timestamp >= HoldAt && Interlocked.CompareExchange(ref owner._heldAtTicks, timestamp.Ticks, -1) == -1;
                if (first && owner._slowdown == Slowdown.Stalled)
                {
                    Thread.Sleep(Hold);
                }
                else if (owner._slowdown == Slowdown.Backlogged && owner.HeldAt is not null && owner._slowFramesLeft > 0)
                {
                    owner._slowFramesLeft--;
                    Thread.Sleep(SlowFrame);
                }

                return inner.Process(muLaw, timestamp);
            }

            public void Dispose() => inner.Dispose();
        }
    }

    /// <summary>Greets (5.8 s, one reply) and never ends the call.</summary>
    private sealed class GreetingOnly(PromptLibrary prompts) : IConversationEngineFactory
    {
        public IConversationEngine Create(ConversationContext context) => new Engine(prompts);

        private sealed class Engine(PromptLibrary prompts) : IConversationEngine
        {
            public Task<ConversationReply> StartAsync(CancellationToken cancellationToken) => Task.FromResult(Greeting());

            public Task<ConversationReply> OnCallerTurnAsync(CallerTurn turn, CancellationToken cancellationToken) => Task.FromResult(Greeting());

            public Task<ConversationReply> OnIdleAsync(int idleCount, ReplyHeard? lastReply, CancellationToken cancellationToken) =>
                Task.FromResult(Greeting());

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;

            private ConversationReply Greeting() => new([new ReplySegment(PromptKeys.Greeting, prompts[PromptKeys.Greeting].MuLaw)]);
        }
    }
}
