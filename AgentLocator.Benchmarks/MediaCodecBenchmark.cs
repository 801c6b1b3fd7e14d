using System.Diagnostics;
using System.Globalization;
using AgentLocator.Media;
using AgentLocator.MediaStreams;

namespace AgentLocator.Benchmarks;

/// <summary>
/// Per-frame cost of the MediaWorker's audio hot path: inbound (Media Streams JSON → base64 →
/// mu-law → PCM16 → VAD) and outbound (mu-law frame → media JSON with base64 payload).
/// <c>dotnet run -c Release --project AgentLocator.Benchmarks -- media-codec [--frames N]</c>
/// </summary>
public sealed class MediaCodecBenchmark : IBenchmark
{
    private const int FrameBytes = 160;
    private const string StreamSid = "MZ18ad3ab5a668481ce02b83e7395059f0";

    public string Name => "media-codec";

    public string Description => "Media Streams frame: parse + base64 + mu-law + VAD in, JSON + base64 out (ns and bytes per frame)";

    public Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var frames = 500_000;
        var index = Array.IndexOf(args, "--frames");
        if (index >= 0 && (index + 1 >= args.Length || !int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out frames) || frames <= 0))
        {
            Console.Error.WriteLine("--frames needs a positive integer");
            return Task.FromResult(2);
        }

        var inbound = BuildInboundFrames(out var outboundFrames);
        using var writer = new MediaStreamWriter();
        var vad = new VoiceActivityDetector();
        var payload = new byte[FrameBytes];
        var pcm = new short[FrameBytes];

        // Warm up: JIT tiers, table initialisation, the writer's buffer.
        RunInbound(inbound, vad, payload, pcm, 20_000);
        RunOutbound(outboundFrames, writer, 20_000);

        var (inNs, inBytes, events) = Measure(() => RunInbound(inbound, vad, payload, pcm, frames), frames);
        var (outNs, outBytes, written) = Measure(() => RunOutbound(outboundFrames, writer, frames), frames);

        Console.WriteLine($"media-codec: {frames:N0} frames of 20 ms (160 bytes mu-law), {Environment.ProcessorCount} cores, {(Debugger.IsAttached ? "debugger" : "no debugger")}, {(IsOptimized() ? "Release" : "Debug")} build");
        Console.WriteLine($"  inbound  parse+base64+mu-law+VAD : {inNs,8:F1} ns/frame  {inBytes,6:F2} allocated bytes/frame  ({events} VAD events)");
        Console.WriteLine($"  outbound media JSON+base64       : {outNs,8:F1} ns/frame  {outBytes,6:F2} allocated bytes/frame  ({written / frames} bytes/message)");
        Console.WriteLine($"  total                            : {inNs + outNs,8:F1} ns/frame  = {(inNs + outNs) / 20_000_000 * 100:F4} % of one core per call");
        return Task.FromResult(0);
    }

    private static (double NsPerFrame, double BytesPerFrame, long Result) Measure(Func<long> run, int frames)
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var result = run();
        var elapsed = clock.Elapsed;
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        return (elapsed.TotalNanoseconds / frames, (double)allocated / frames, result);
    }

    private static long RunInbound(byte[][] inbound, VoiceActivityDetector vad, byte[] payload, short[] pcm, int frames)
    {
        long events = 0;
        for (var i = 0; i < frames; i++)
        {
            var json = inbound[i % inbound.Length];
            if (MediaStreamParser.TryParse(json, out var message) != MediaStreamParseStatus.Ok
                || !message.TryDecodePayload(payload, out var length))
            {
                throw new InvalidOperationException("The benchmark's own frame did not parse.");
            }

            MuLaw.Decode(payload.AsSpan(0, length), pcm);
            // Stream time advances 20 ms per frame, so the VAD sees a continuous call.
            var e = vad.Process(pcm.AsSpan(0, length), TimeSpan.FromMilliseconds(20L * i));
            events += e.IsNone ? 0 : 1;
        }

        return events;
    }

    private static long RunOutbound(byte[][] frames, MediaStreamWriter writer, int count)
    {
        long written = 0;
        for (var i = 0; i < count; i++)
        {
            written += writer.WriteMedia(StreamSid, frames[i % frames.Length]).Length;
        }

        return written;
    }

    /// <summary>Two seconds of "speech" (tone bursts with pauses) then one of silence, as Twilio frames.</summary>
    private static byte[][] BuildInboundFrames(out byte[][] outbound)
    {
        using var writer = new MediaStreamWriter();
        var inbound = new byte[150][];
        outbound = new byte[150][];
        var pcm = new short[FrameBytes];
        for (var f = 0; f < inbound.Length; f++)
        {
            var voiced = f < 100 && f % 25 < 20;
            for (var i = 0; i < FrameBytes; i++)
            {
                var t = (f * FrameBytes) + i;
                pcm[i] = voiced ? (short)(6000 * Math.Sin(2 * Math.PI * 220 * t / 8000) + 2000 * Math.Sin(2 * Math.PI * 1250 * t / 8000)) : (short)0;
            }

            outbound[f] = MuLaw.Encode(pcm);
            inbound[f] = writer.WriteInboundMedia(StreamSid, f + 2, f + 1, f * 20L, outbound[f]).ToArray();
        }

        return inbound;
    }

    private static bool IsOptimized() =>
        typeof(MediaCodecBenchmark).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false)
            .OfType<DebuggableAttribute>().All(a => !a.IsJITOptimizerDisabled);
}
