using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Xml.Linq;
using AgentLocator.Data.Calls;
using AgentLocator.Media;
using AgentLocator.ServiceDefaults.Telemetry;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.Infrastructure;
using AgentLocator.Tests.Media;
using AgentLocator.Tests.MediaWorker;
using static AgentLocator.Tests.MediaWorker.PipelineAssertions;

namespace AgentLocator.Tests.Tracing;

/// <summary>
/// One trace per call without the dashboard: the Api and a MediaWorker in this process on one database, the call
/// played at 1x by the call simulator with exactly the <c>&lt;Parameter&gt;</c>s of the Api's TwiML, and the spans
/// both services finish read off an <see cref="ActivityListener"/>.
/// </summary>
public sealed class CallTraceTests(MediaPipelineFixture fixture) : IClassFixture<MediaPipelineFixture>
{
    private const string PublicBaseUrl = "https://agentlocator.test";
    private const string AuthToken = "trace-test-auth-token";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ACallIsOneTraceFromTheIncomingCallWebhookThroughTheMediaSessionAndItsTurnsToTheFallbackAndTheRecordingJob()
    {
        using var spans = new SpanCollector();
        using var latencies = new ReplyLatencies();
        await using var api = ApiTestHost.Create(fixture.ConnectionString, extra: new Dictionary<string, string?>
        {
            ["Twilio:AuthToken"] = AuthToken,
            ["PublicBaseUrl"] = PublicBaseUrl,
            ["MediaStream:TokenSecret"] = MediaPipelineFixture.TokenSecret,
        });
        var twilio = new TwilioWebhookClient(api.CreateClient(), PublicBaseUrl, AuthToken);
        var callSid = "CA" + Guid.NewGuid().ToString("N");

        using var incoming = await twilio.PostAsync("/webhook/incoming_call", ("CallSid", callSid), ("From", "+972521234567"),
            ("To", fixture.BusinessNumber), ("CallStatus", "ringing"), ("Direction", "inbound"));
        var twiml = await incoming.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, incoming.StatusCode);
        var parameters = XDocument.Parse(twiml).Descendants("Parameter").ToDictionary(p => p.Attribute("name")!.Value, p => p.Attribute("value")!.Value);
        var call = ActivityContext.Parse(parameters[CallTrace.TraceParentParameter], null);
        var traceId = call.TraceId;

        // The TwiML names the webhook's own span; it holds the call's Postgres statements, and the call row keeps it.
        var webhook = await spans.WaitForAsync(traceId, s => s.SpanId == call.SpanId, "incoming_call span", Wait);
        Assert.Equal((ActivityKind.Server, "POST /webhook/incoming_call"), (webhook.Kind, webhook.DisplayName));
        Assert.Contains(spans.InTrace(traceId), s => s.Source.Name == "Npgsql" && s.ParentSpanId == webhook.SpanId);
        Assert.Equal(parameters[CallTrace.TraceParentParameter],
            await Sql.ScalarAsync<string>(fixture.ConnectionString, "SELECT trace_parent FROM calls WHERE call_sid = $1", callSid));

        // Twilio starts the stream with those parameters; the caller answers the first question at line speed.
        var options = new CallSimulatorOptions { CallSid = callSid, Speed = 1 };
        foreach (var (name, value) in parameters)
        {
            options.CustomParameters[name] = value;
        }

        await using (var sim = await CallSimulator.ConnectAsync(fixture.Worker.MediaUri(), options))
        {
            await PlayedAsync(sim, 1, PromptKeys.AskName);
            await sim.SayAsync(TestAudio.Fixture("caller_name_he.wav"));
            await PlayedAsync(sim, 2, PromptKeys.AskReason);
            await sim.HangUpAsync();
        }

        // The media-stream session is the webhook's child, and each turn the session's, from speech end to reply start.
        var session = await spans.WaitForAsync(traceId, s => s.OperationName == CallTrace.SessionSpan, "media-stream session span", Wait);
        Assert.Equal(webhook.SpanId, session.ParentSpanId);
        Assert.Equal(callSid, session.GetTagItem(CallTrace.CallSidTag));
        Assert.Equal(1, session.GetTagItem("media.turns"));
        Assert.Contains(spans.InTrace(traceId), s => s.Source.Name == "Npgsql" && s.ParentSpanId == session.SpanId);
        var turn = Assert.Single(spans.InTrace(traceId), s => s.OperationName == CallTrace.TurnSpan);
        Assert.Equal(session.SpanId, turn.ParentSpanId);
        var latency = Assert.IsType<double>(turn.GetTagItem("reply.latency_ms"));
        Assert.InRange(latency, 1, 5000);
        Assert.IsType<double>(turn.GetTagItem("engine.ms"));
        // The span covers the latency it reports (start set back to the end of speech), give or take the clock reads.
        Assert.InRange(turn.Duration.TotalMilliseconds, latency - 50, latency + 250);
        // The same latency is in the reply latency histogram the dashboard's Metrics page shows.
        Assert.Contains(latencies.Values, v => Math.Abs(v - latency) < 0.1);

        // Twilio asks stream_ended (the stream broke): the fallback joins the call's trace, not only its own request's.
        using var ended = await twilio.PostAsync("/webhook/stream_ended", ("CallSid", callSid), ("CallStatus", "in-progress"));
        Assert.Equal(HttpStatusCode.OK, ended.StatusCode);
        var fallback = await spans.WaitForAsync(traceId, s => s.OperationName == CallTrace.FallbackSpan, "fallback span", Wait);
        Assert.Equal(webhook.SpanId, fallback.ParentSpanId);
        Assert.Equal("stream_broke", fallback.GetTagItem("fallback.reason"));

        // The voicemail's recording job, queued by a later webhook and run by the MediaWorker, is in the call's trace too.
        var wav = new byte[44 + 8000];
        "RIFF"u8.CopyTo(wav);
        var recording = fixture.Twilio.AddRecording(wav);
        using var recorded = await twilio.PostAsync("/webhook/handle_recording", ("CallSid", callSid), ("RecordingUrl", recording.Url.ToString()),
            ("RecordingSid", recording.Sid), ("RecordingDuration", "1"));
        Assert.Equal(HttpStatusCode.OK, recorded.StatusCode);
        var job = await spans.WaitForAsync(traceId, s => s.DisplayName == "job " + RecordingJob.Type, "recording job span", Wait);
        Assert.Equal((ActivityKind.Consumer, webhook.SpanId), (job.Kind, job.ParentSpanId));
        Assert.Equal(ActivityStatusCode.Unset, job.Status);
    }

    /// <summary>Every <c>agentlocator.reply.latency</c> measurement recorded in this process while it listens.</summary>
    private sealed class ReplyLatencies : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<double> _values = [];

        public ReplyLatencies()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "agentlocator.reply.latency")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
            {
                lock (_values)
                {
                    _values.Add(value);
                }
            });
            _listener.Start();
        }

        public IReadOnlyList<double> Values
        {
            get
            {
                lock (_values)
                {
                    return [.. _values];
                }
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
