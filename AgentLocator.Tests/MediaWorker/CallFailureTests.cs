using System.Net.WebSockets;
using AgentLocator.Media;
using AgentLocator.MediaStreams;
using AgentLocator.MediaWorker.Conversation;
using AgentLocator.MediaWorker.MediaStreams;
using AgentLocator.MediaWorker.SpeechDetection;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Tests.Media;
using Microsoft.Extensions.DependencyInjection;
using static AgentLocator.Tests.MediaWorker.PipelineAssertions;

namespace AgentLocator.Tests.MediaWorker;

/// <summary>
/// No silent failure: whenever a live call's send loop, receive loop or engine dies, the call ends
/// visibly: <c>WS_SEND_FAILED</c> / <c>WS_LOOP_FAILED</c> with the reason, the failure counted by reason,
/// the reason recorded as the call's fallback, and the caller redirected to voicemail through the REST API.
/// </summary>
public sealed class CallFailureTests(MediaPipelineFixture fixture) : IClassFixture<MediaPipelineFixture>
{
    private string Db => fixture.ConnectionString;

    [Fact]
    public async Task ASendThatStallsFailsTheCallVisiblyAndSendsTheCallerToVoicemail()
    {
        var faults = new SocketFaults { StallSendsAfter = 12 };
        var worker = fixture.StartWorker(new Dictionary<string, string?> { ["MediaStream:SendTimeout"] = "00:00:00.500" }, faults.Register);
        using var metrics = Failures(worker);
        var options = await fixture.StartCallAsync(speed: 1);
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);

        await sim.Closed.WaitAsync(Patience);
        await AssertSentToVoicemailAsync(worker, metrics, options.CallSid, "send", CallFailure.SendTimeout);
        Assert.True(worker.Logs.Contains($"WS_SEND_FAILED {options.CallSid} {options.StreamSid}: send_timeout"));
    }

    [Fact]
    public async Task AReceiveLoopThatThrowsFailsTheCallVisiblyAndSendsTheCallerToVoicemail()
    {
        var worker = fixture.StartWorker(new Dictionary<string, string?>(),
            services => services.AddSingleton<ISpeechDetectorFactory>(new ThrowingSpeechDetectors(throwOnFrame: 40)));
        using var metrics = Failures(worker);
        var options = await fixture.StartCallAsync(speed: 2);
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);

        await sim.Closed.WaitAsync(Patience);
        Assert.Equal(WebSocketCloseStatus.InternalServerError, sim.CloseStatus);
        await AssertSentToVoicemailAsync(worker, metrics, options.CallSid, "receive", CallFailure.InternalError);
        Assert.True(worker.Logs.Contains($"WS_LOOP_FAILED {options.CallSid} {options.StreamSid} loop=receive: internal_error"));
    }

    [Fact]
    public async Task AnEngineThatThrowsFailsTheCallVisiblyAndSendsTheCallerToVoicemail()
    {
        var worker = fixture.StartWorker(new Dictionary<string, string?>(),
            services => services.AddSingleton<IConversationEngineFactory>(new FailingEngines(hang: false)));
        using var metrics = Failures(worker);
        var options = await fixture.StartCallAsync(speed: 2);
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);
        await PlayedAsync(sim, 1, PromptKeys.AskName);
        await sim.SayAsync(TestAudio.Fixture("caller_name_he.wav"));

        await sim.Closed.WaitAsync(Patience);
        await AssertSentToVoicemailAsync(worker, metrics, options.CallSid, "engine", CallFailure.EngineError);
    }

    [Fact]
    public async Task AnEngineThatNeverAnswersFailsTheCallVisiblyAndSendsTheCallerToVoicemail()
    {
        var worker = fixture.StartWorker(new Dictionary<string, string?> { ["MediaStream:EngineTimeout"] = "00:00:01" },
            services => services.AddSingleton<IConversationEngineFactory>(new FailingEngines(hang: true)));
        using var metrics = Failures(worker);
        var options = await fixture.StartCallAsync(speed: 1);
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);
        await PlayedAsync(sim, 1, PromptKeys.AskName);
        await sim.SayAsync(TestAudio.Fixture("caller_name_he.wav"));

        await sim.Closed.WaitAsync(Patience);
        await AssertSentToVoicemailAsync(worker, metrics, options.CallSid, "engine", CallFailure.EngineTimeout);
    }

    [Fact]
    public async Task ALineThatGoesSilentFailsTheCallVisiblyAndSendsTheCallerToVoicemail()
    {
        var faults = new SocketFaults { StallReceivesAfter = 30 };
        var worker = fixture.StartWorker(new Dictionary<string, string?> { ["MediaStream:ReceiveTimeout"] = "00:00:02" }, faults.Register);
        using var metrics = Failures(worker);
        var options = await fixture.StartCallAsync(speed: 1);
        await using var sim = await CallSimulator.ConnectAsync(worker.MediaUri(), options);

        await sim.Closed.WaitAsync(Patience);
        await AssertSentToVoicemailAsync(worker, metrics, options.CallSid, "receive", CallFailure.ReceiveTimeout);
    }

    [Fact]
    public async Task AMediaSocketDroppedWithoutACloseIsALostConnectionAndTheCallerGoesToVoicemail()
    {
        var worker = fixture.StartWorker(new Dictionary<string, string?>());
        using var metrics = Failures(worker);
        var options = await fixture.StartCallAsync(speed: 1);
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(worker.MediaUri(), CancellationToken.None);
        using var writer = new MediaStreamWriter();
        await socket.SendAsync(writer.WriteConnected(), WebSocketMessageType.Text, true, CancellationToken.None);
        await socket.SendAsync(writer.WriteStart(new StreamStart
        {
            StreamSid = options.StreamSid, AccountSid = options.AccountSid, CallSid = options.CallSid, CustomParameters = options.CustomParameters,
        }, 1), WebSocketMessageType.Text, true, CancellationToken.None);
        for (var i = 0; i < 25; i++)
        {
            await socket.SendAsync(writer.WriteInboundMedia(options.StreamSid, i + 2, i + 1, i * 20, Enumerable.Repeat(MuLaw.Silence, 160).ToArray()),
                WebSocketMessageType.Text, true, CancellationToken.None);
            await Task.Delay(20);
        }

        socket.Abort(); // the TCP connection is gone, no close handshake
        await AssertSentToVoicemailAsync(worker, metrics, options.CallSid, "receive", CallFailure.ConnectionLost);
    }

    /// <summary>The failure was logged, counted and recorded, and (while the call was up) the caller was redirected to the voicemail TwiML.</summary>
    /// <summary><c>agentlocator.media.call_failures</c> of one worker, by loop and reason.</summary>
    private static CounterTotals Failures(PipelineWorker worker)
    {
        var meter = worker.Factory.Services.GetRequiredService<MediaStreamMetrics>().Meter;
        return new CounterTotals(MediaStreamMetrics.CallFailuresName, m => ReferenceEquals(m, meter), "loop", "reason");
    }

    private async Task AssertSentToVoicemailAsync(PipelineWorker worker, CounterTotals metrics, string callSid, string loop, string reason)
    {
        Assert.True(await Sql.EventuallyAsync(async () => await Sql.CountAsync(Db,
            "SELECT count(*) FROM calls WHERE call_sid = $1 AND fallback_used AND fallback_reason = $2 AND stream_stopped_at IS NOT NULL AND stream_error = $2",
            callSid, reason) == 1, Patience), $"the call did not record {reason} as its fallback: {string.Join(" | ", worker.Logs.Lines.Where(l => l.Contains(callSid)))}");
        var logged = loop == "send" ? $"WS_SEND_FAILED {callSid}" : $"WS_LOOP_FAILED {callSid}";
        Assert.True(worker.Logs.Contains(logged) && worker.Logs.Contains(reason),
            $"no {logged} ... {reason}: {string.Join(" | ", worker.Logs.Lines.Where(l => l.Contains(callSid, StringComparison.Ordinal)))}");
        Assert.Equal(1, metrics.Count(loop, reason));
        var redirects = fixture.Twilio.GetCall(callSid)?.Updates.Where(u => u.Contains(new("Url", "https://agentlocator.test/webhook/stream_ended"))).ToList() ?? [];
        Assert.Single(redirects);
        Assert.True(worker.Logs.Contains($"VOICEMAIL_REDIRECT {callSid}"));

        Assert.True(await Sql.EventuallyAsync(() => Task.FromResult(worker.Logs.Contains($"WS_STOP {callSid}")), Patience));
    }


    /// <summary>A speech detector with a bug: it throws on a given frame of each call.</summary>
    private sealed class ThrowingSpeechDetectors(int throwOnFrame) : ISpeechDetectorFactory
    {
        public ISpeechDetector Create(TimeSpan endOfTurnSilence) => new Detector(new EnergySpeechDetectorFactory().Create(endOfTurnSilence), throwOnFrame);

        private sealed class Detector(ISpeechDetector inner, int throwOnFrame) : ISpeechDetector
        {
            private int _frames;

            public bool IsSpeaking => inner.IsSpeaking;

            public bool LastFrameVoiced => inner.LastFrameVoiced;

            public TimeSpan SpeechStartedAt => inner.SpeechStartedAt;

            public double NoiseFloorDbfs => inner.NoiseFloorDbfs;

            public VoiceActivityEvent Process(ReadOnlySpan<byte> muLaw, TimeSpan timestamp) =>
                ++_frames == throwOnFrame ? throw new InvalidOperationException("detector bug") : inner.Process(muLaw, timestamp);

            public void Dispose() => inner.Dispose();
        }
    }

    /// <summary>An engine that asks its first question, then fails the caller's turn: by throwing, or by never answering.</summary>
    private sealed class FailingEngines(bool hang) : IConversationEngineFactory
    {
        public IConversationEngine Create(ConversationContext context) => new Engine(hang);

        private sealed class Engine(bool hang) : IConversationEngine
        {
            public Task<ConversationReply> StartAsync(CancellationToken cancellationToken) =>
                Task.FromResult(new ConversationReply([new ReplySegment(PromptKeys.AskName, Prompts[PromptKeys.AskName].MuLaw)]));

            public async Task<ConversationReply> OnCallerTurnAsync(CallerTurn turn, CancellationToken cancellationToken)
            {
                if (hang)
                {
                    await Task.Delay(Timeout.Infinite, CancellationToken.None); // ignores cancellation, as a stuck provider call does
                }

                throw new HttpRequestException("the provider answered 500");
            }

            public Task<ConversationReply> OnIdleAsync(int idleCount, ReplyHeard? lastReply, CancellationToken cancellationToken) =>
                Task.FromResult(ConversationReply.Silence);

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
