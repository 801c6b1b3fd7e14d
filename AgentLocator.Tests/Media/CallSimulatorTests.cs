using System.Diagnostics;
using AgentLocator.Media;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.MediaStreams;

namespace AgentLocator.Tests.Media;

public class CallSimulatorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>A minimal receptionist: greets on start, replies when the VAD ends a turn, hangs up on * or stop.</summary>
    private static async Task ReceptionistBot(BotSession session)
    {
        var vad = new VoiceActivityDetector();
        var replies = 0;
        await foreach (var e in session.Events.ReadAllAsync())
        {
            switch (e.Type)
            {
                case MediaStreamEventType.Start:
                    session.StreamSid = e.Start!.StreamSid;
                    await session.SendMediaAsync(Signals.Tone(350, -14, 400));
                    await session.SendMarkAsync("greeting");
                    break;
                case MediaStreamEventType.Media:
                    if (vad.Process(e.Payload, TimeSpan.FromMilliseconds(e.TimestampMs)).Kind == VoiceActivityEventKind.SpeechEnded)
                    {
                        replies++;
                        await session.SendMediaAsync(Signals.Tone(350, -14, 300));
                        await session.SendMarkAsync($"reply-{replies}");
                    }

                    break;
                case MediaStreamEventType.Dtmf when e.Digit == "*":
                case MediaStreamEventType.Stop:
                    return;
            }
        }
    }

    [Fact]
    public async Task ASimulatedCallFollowsTwilioProtocolAndMeasuresEachTurn()
    {
        await using var server = await FakeBotServer.StartAsync(ReceptionistBot);
        var options = new CallSimulatorOptions { Speed = 4, CustomParameters = { ["token"] = "tok-1", ["business"] = "b-42" } };
        var sim = await CallSimulator.ConnectAsync(server.MediaUri, options);
        await using (sim)
        {
            Assert.True(await sim.WaitForBotAudioAsync(Timeout), "no greeting");
            // The caller speaks once the greeting has played, so line silence comes first.
            Assert.True(await sim.WaitForMarkEchoAsync("greeting", Timeout));
            await sim.SayAsync(TestAudio.Fixture("caller_name_he.wav"));
            Assert.True(await sim.WaitForBotAudioAsync(Timeout), "no reply to the name");
            await sim.SayAsync(TestAudio.Fixture("caller_yes_he.wav"));
            Assert.True(await sim.WaitForBotAudioAsync(Timeout), "no reply to the yes");
            Assert.True(await sim.WaitForMarkEchoAsync("reply-2", Timeout));
            await sim.HangUpAsync();
        }

        var session = await server.NextSessionAsync();
        await session.Completed.Task.WaitAsync(Timeout);
        var events = session.All;

        Assert.Equal(MediaStreamEventType.Connected, events[0].Type);
        var start = events[1];
        Assert.Equal((MediaStreamEventType.Start, 1L), (start.Type, start.SequenceNumber));
        Assert.Equal((options.CallSid, options.AccountSid, options.StreamSid), (start.Start!.CallSid, start.Start.AccountSid, start.Start.StreamSid));
        Assert.Equal("tok-1", start.Start.CustomParameters["token"]);
        Assert.Equal("b-42", start.Start.CustomParameters["business"]);
        Assert.Equal(["inbound"], start.Start.Tracks);
        Assert.True(start.Start.MediaFormat.IsMuLaw8KhzMono);

        // Sequence numbers count every message after connected; chunks and timestamps count frames.
        Assert.Equal(Enumerable.Range(1, events.Count - 1).Select(i => (long)i), events.Skip(1).Select(e => e.SequenceNumber));
        var media = events.Where(e => e.Type == MediaStreamEventType.Media).ToList();
        Assert.Equal(Enumerable.Range(1, media.Count).Select(i => (long)i), media.Select(m => m.Chunk));
        Assert.All(media, m => Assert.Equal((m.Chunk - 1) * 20, m.TimestampMs));
        Assert.All(media, m => Assert.Equal((160, MediaTrack.Inbound, options.StreamSid), (m.Payload!.Length, m.Track, m.StreamSid)));
        Assert.Equal(sim.FramesSent, media.Count);

        // The caller's words went out between silence frames.
        var sent = media.SelectMany(m => m.Payload!).ToArray();
        var name = WavFile.Read(TestAudio.Fixture("caller_name_he.wav")).ToMuLaw();
        Assert.True(sent.AsSpan().IndexOf(name.AsSpan(0, 4000)) > 0, "the name utterance was not sent intact");
        Assert.Equal(MuLaw.Silence, sent[0]);

        var stop = events[^1];
        Assert.Equal((MediaStreamEventType.Stop, options.CallSid), (stop.Type, stop.StopCallSid));
        Assert.Equal(["greeting", "reply-1", "reply-2"], events.Where(e => e.Type == MediaStreamEventType.Mark).Select(e => e.MarkName));
        Assert.Equal(["greeting", "reply-1", "reply-2"], sim.EchoedMarks);

        // Two turns; the bot cannot answer before its 550 ms end-of-turn silence (timed on the line's own
        // clock, the one the bot's VAD runs on, so a late line's catch-up burst cannot squeeze it out).
        Assert.Equal(2, sim.Turns.Count);
        Assert.All(sim.Turns, t =>
        {
            Assert.InRange(t.Latency.TotalMilliseconds, 550, 5000);
            Assert.True(t.WallLatency > TimeSpan.Zero);
        });
        Assert.Equal(3, sim.Received.Count(m => m.Kind == BotMessageKind.Media));
        Assert.Equal(8 * (400 + 300 + 300), sim.BotAudio.Length);
        Assert.Empty(sim.ProtocolViolations);
    }

    [Fact]
    public async Task AMarkIsEchoedOnlyAfterTheAudioQueuedBeforeItHasPlayed()
    {
        var echoDelays = new TaskCompletionSource<(TimeSpan Immediate, TimeSpan AfterAudio)>();
        await using var server = await FakeBotServer.StartAsync(async session =>
        {
            await foreach (var e in session.Events.ReadAllAsync())
            {
                if (e.Type == MediaStreamEventType.Start)
                {
                    session.StreamSid = e.Start!.StreamSid;
                    var sentAt = session.Now;
                    await session.SendMarkAsync("nothing-queued");
                    await session.SendMediaAsync(Signals.Tone(350, -14, 1000));
                    await session.SendMarkAsync("after-1s");
                    TimeSpan? immediate = null;
                    await foreach (var echo in session.Events.ReadAllAsync())
                    {
                        if (echo.Type != MediaStreamEventType.Mark)
                        {
                            continue;
                        }

                        if (echo.MarkName == "nothing-queued")
                        {
                            immediate = echo.At - sentAt;
                        }
                        else
                        {
                            echoDelays.SetResult((immediate!.Value, echo.At - sentAt));
                            return;
                        }
                    }
                }
            }
        });

        await using var sim = await CallSimulator.ConnectAsync(server.MediaUri);
        var (immediateEcho, afterAudio) = await echoDelays.Task.WaitAsync(Timeout);
        // Upper bounds leave a loaded machine room while still telling "at once" from "after the second".
        Assert.InRange(immediateEcho.TotalMilliseconds, 0, 500);
        Assert.InRange(afterAudio.TotalMilliseconds, 950, 3000);
    }

    [Fact]
    public async Task ClearDropsTheBufferedAudioAndEchoesThePendingMarkAtOnce()
    {
        var markEchoAfterClear = new TaskCompletionSource<TimeSpan>();
        await using var server = await FakeBotServer.StartAsync(async session =>
        {
            await foreach (var e in session.Events.ReadAllAsync())
            {
                if (e.Type == MediaStreamEventType.Start)
                {
                    session.StreamSid = e.Start!.StreamSid;
                    await session.SendMediaAsync(Signals.Tone(350, -14, 5000));
                    await session.SendMarkAsync("long-prompt");
                    await Task.Delay(300);
                    var clearedAt = session.Now;
                    await session.SendClearAsync();
                    await session.SendMarkAsync("after-clear");
                    await foreach (var echo in session.Events.ReadAllAsync())
                    {
                        if (echo.Type == MediaStreamEventType.Mark && echo.MarkName == "after-clear")
                        {
                            markEchoAfterClear.SetResult(echo.At - clearedAt);
                            return;
                        }
                    }
                }
            }
        });

        await using var sim = await CallSimulator.ConnectAsync(server.MediaUri);
        var delay = await markEchoAfterClear.Task.WaitAsync(Timeout);
        Assert.InRange(delay.TotalMilliseconds, 0, 2500); // the 4.7 s of audio left were not played first
        Assert.Equal(["long-prompt", "after-clear"], sim.EchoedMarks);
        Assert.Contains(sim.Received, m => m.Kind == BotMessageKind.Clear);
    }

    [Fact]
    public async Task PressingStarReachesTheBotAndTheBotClosingEndsTheCall()
    {
        await using var server = await FakeBotServer.StartAsync(ReceptionistBot);
        await using var sim = await CallSimulator.ConnectAsync(server.MediaUri, new CallSimulatorOptions { Speed = 4 });
        await sim.SilenceAsync(TimeSpan.FromMilliseconds(200));
        await sim.PressAsync('*');
        await sim.Closed.WaitAsync(Timeout);

        var session = await server.NextSessionAsync();
        Assert.Contains(session.All, e => e is { Type: MediaStreamEventType.Dtmf, Digit: "*" });
        Assert.DoesNotContain(session.All, e => e.Type == MediaStreamEventType.Stop);
        await Assert.ThrowsAsync<InvalidOperationException>(() => sim.SayAsync(Signals.Tone(300, -20, 200)));
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = sim.PressAsync('x'); });
    }

    [Fact]
    public async Task EveryScriptStepFinishesWhenTheAppHangsUpTheMomentTheKeyArrives()
    {
        // The app closes while the key press may still be in flight on the simulator's side: the
        // press must complete (it reached the app), never wait forever. Many calls at once make
        // the race between the app's close and the line's bookkeeping likely.
        await using var server = await FakeBotServer.StartAsync(ReceptionistBot);
        async Task<bool> PressAndHangUp()
        {
            await using var sim = await CallSimulator.ConnectAsync(server.MediaUri, new CallSimulatorOptions { Speed = 4 });
            await sim.SilenceAsync(TimeSpan.FromMilliseconds(100)).WaitAsync(Timeout);
            await sim.PressAsync('*').WaitAsync(Timeout);
            await sim.Closed.WaitAsync(Timeout);
            return true;
        }

        var calls = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(PressAndHangUp)));
        Assert.All(calls, Assert.True);
    }

    [Fact]
    public async Task TheLineKeepsRealTimePaceWithoutDrift()
    {
        await using var server = await FakeBotServer.StartAsync(async session =>
        {
            await foreach (var e in session.Events.ReadAllAsync())
            {
                if (e.Type == MediaStreamEventType.Stop)
                {
                    return;
                }
            }
        });
        var sinceConnect = Stopwatch.StartNew();
        await using var sim = await CallSimulator.ConnectAsync(server.MediaUri);
        await sim.SilenceAsync(TimeSpan.FromMilliseconds(200));

        // Drift-free: 2 s of line takes 2 s; a line that slept 20 ms after each send would take
        // 2.07 s or more every time. The best of three tries sets aside a stall of the machine.
        var tries = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            await sim.SilenceAsync(TimeSpan.FromSeconds(2));
            tries.Add(clock.Elapsed.TotalMilliseconds);
        }

        // ...and never ahead of real time, however it catches up (a timer may fire a millisecond early).
        var frames = sim.FramesSent;
        Assert.True(frames <= sinceConnect.Elapsed / TimeSpan.FromMilliseconds(20) + 3, $"{frames} frames in {sinceConnect.ElapsedMilliseconds} ms");
        await sim.HangUpAsync();
        Assert.True(tries.Min() <= 2035, $"2 s of line took {string.Join(", ", tries.Select(t => t.ToString("0")))} ms");
        var session = await server.NextSessionAsync();
        var media = session.All.Where(e => e.Type == MediaStreamEventType.Media).ToList();
        Assert.All(media, m => Assert.Equal(Enumerable.Repeat(MuLaw.Silence, 160), m.Payload!));
    }

    [Fact]
    public async Task MessagesAnAppMayNotSendAreRecordedAsProtocolViolations()
    {
        await using var server = await FakeBotServer.StartAsync(async session =>
        {
            await foreach (var e in session.Events.ReadAllAsync())
            {
                if (e.Type == MediaStreamEventType.Start)
                {
                    session.StreamSid = e.Start!.StreamSid;
                    await session.SendRawAsync("""{"event":"stop","streamSid":"MZ1"}""");
                    await session.SendRawAsync("""{"event":"hello"}""");
                    await session.SendRawAsync("not json");
                    await session.SendRawAsync("{\"event\":\"mark\",\"streamSid\":\"MZother\",\"mark\":{\"name\":\"x\"}}");
                    await session.SendRawAsync("{\"event\":\"media\",\"streamSid\":\"" + session.StreamSid + "\",\"media\":{\"payload\":\"UklGRiQAAABXQVZF\"}}");
                    await session.SendMarkAsync("done");
                }
            }
        });
        await using var sim = await CallSimulator.ConnectAsync(server.MediaUri, new CallSimulatorOptions { Speed = 4 });
        Assert.True(await sim.WaitForMarkEchoAsync("done", Timeout));
        Assert.Equal(5, sim.ProtocolViolations.Count);
        Assert.Contains("31924", sim.ProtocolViolations[0], StringComparison.Ordinal);
        Assert.Contains("hello", sim.ProtocolViolations[1], StringComparison.Ordinal);
        Assert.Contains("malformed JSON", sim.ProtocolViolations[2], StringComparison.Ordinal);
        Assert.Contains("not the stream's", sim.ProtocolViolations[3], StringComparison.Ordinal);
        Assert.Contains("WAV header", sim.ProtocolViolations[4], StringComparison.Ordinal);
        Assert.Equal(["done"], sim.EchoedMarks);
    }
}
