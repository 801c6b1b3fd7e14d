using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.MediaWorker;
using static AgentLocator.Tests.RealTime.RealTimeLineScenarios;

namespace AgentLocator.Tests.RealTime;

/// <summary>
/// The real-time scenarios start the caller on the line's clock, not the script's: on a loaded machine a script's
/// continuation runs hundreds of ms after the wait it awaited ended, while the line plays on. Here every continuation
/// of the script is held back (<see cref="LateScriptContext"/>), at 4x against the pipeline's worker.
/// </summary>
public sealed class RealTimeScenarioTimingTests(MediaPipelineFixture fixture) : IClassFixture<MediaPipelineFixture>
{
    /// <summary>200 ms of line time at 4x: the echo-barge-in caller's voice would then begin with half the question's last 0.4 s left.</summary>
    private static readonly TimeSpan ScriptLateBy = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task TheCallerAtTheEchosLevelStartsOnTheFrameTheQuestionReachesItsCueHoweverLateTheScriptRuns()
    {
        var (_, line, script) = All.Single(s => s.Name == EchoBargeIn(60));
        var options = await fixture.StartCallAsync(speed: 4);
        options.Line = line;
        await using var sim = await CallSimulator.ConnectAsync(fixture.Worker.MediaUri(), options);

        await LateScriptContext.RunAsync(ScriptLateBy, () => script(sim)).WaitAsync(RealTimeCallsFixture.Patience);

        // The script's first wait is the cue (the question played 0.5 s); its answer is the call's first utterance.
        Assert.Equal(sim.WaitsEndedAt[0], sim.UtteranceStarts[0]);
    }

    /// <summary>Runs each continuation posted to it <c>delay</c> late, on the thread pool, as a loaded machine runs a script.</summary>
    private sealed class LateScriptContext(TimeSpan delay) : SynchronizationContext
    {
        public static Task RunAsync(TimeSpan delay, Func<Task> script)
        {
            var previous = Current;
            SetSynchronizationContext(new LateScriptContext(delay));
            try
            {
                return script();
            }
            finally
            {
                SetSynchronizationContext(previous);
            }
        }

        public override void Post(SendOrPostCallback d, object? state) =>
            _ = Task.Delay(delay).ContinueWith(_ =>
            {
                SetSynchronizationContext(this);
                try
                {
                    d(state);
                }
                finally
                {
                    SetSynchronizationContext(null);
                }
            }, TaskScheduler.Default);

        public override SynchronizationContext CreateCopy() => this;
    }
}
