using AgentLocator.Media;
using AgentLocator.Testing.Audio;
using AgentLocator.Tests.RealTime;
using static AgentLocator.Tests.Media.RoomEchoReply;

namespace AgentLocator.Tests.Media;

/// <summary>
/// The echo check before a barge-in fires (<see cref="EchoCanceller.ExplainsRecentAudioAsEcho"/>) on a call's first reply over a
/// speakerphone in a room (<see cref="EchoPathModel.Room"/>, −6 dB), before the adaptive filter has converged: the spectral
/// echo model, fitted afresh over the last 400 ms, must turn the echo alone down and let a caller at the echo's level through
/// (<see cref="SpectralEchoModel.DoubleTalkFrames"/>: frames the fit leaves mostly unexplained).
/// </summary>
public sealed class RoomEchoDoubleTalkTests
{
    /// <summary>The reply scheduled a second into the call.</summary>
    private const int ReplyAt = 8000;

    /// <summary>
    /// The line of a call's first reply (<see cref="RoomEchoReply.Reply"/> from <see cref="ReplyAt"/>) whose echo comes back through
    /// <paramref name="room"/> <paramref name="delayMs"/> late with −65 dBFS noise, and <paramref name="caller"/> from
    /// <paramref name="callerAt"/> (line samples): mu-law, as Twilio sends it. <paramref name="replyAt"/>: where the reply starts instead;
    /// <paramref name="reply"/>: another reply instead.
    /// </summary>
    private static byte[] FirstReplyLine(EchoPathModel room, int delayMs, byte[]? caller, int callerAt, int replyAt = ReplyAt, byte[]? reply = null)
    {
        var reference = MuLaw.Decode(reply ?? Reply);
        room.Calibrate(reference);
        var speaker = room.Loudspeaker(reference);
        var delay = delayMs * 8;
        var length = (replyAt + reference.Length + delay + room.Tail) / 160 * 160;
        var noise = NoiseSignals.White(8000, -65, delayMs);
        var callerPcm = caller is null ? [] : MuLaw.Decode(caller);
        var line = new short[length];
        for (var n = 0; n < length; n++)
        {
            var sample = noise[n % noise.Length] + EchoGain * room.Echo(speaker, n - replyAt - delay, reference.Length);
            if (n >= callerAt && n - callerAt < callerPcm.Length)
            {
                sample += callerPcm[n - callerAt];
            }

            line[n] = (short)Math.Clamp(Math.Round(sample), short.MinValue, short.MaxValue);
        }

        return MuLaw.Encode(line);
    }

    public static TheoryData<int, int> Rooms => new()
    {
        { 1, 120 }, { 1, 250 }, { 2, 60 }, { 2, 320 }, { 3, 180 }, { 3, 450 }, { 4, 250 }, { 4, 120 },
    };

    /// <summary>
    /// The model alone on the first reply's line, at the echo's true delay; at each of <paramref name="checks"/> whether a fit over the last
    /// 400 ms explains it (with the held-out test, as on a first reply), and the frames it left mostly unexplained (or, when <paramref name="offer"/>, whether it adopts the delay as the
    /// canceller offers it one: <see cref="SpectralEchoModel.Offer"/>).
    /// </summary>
    private static (bool Explained, int Unexplained, float Share)[] Model(EchoPathModel room, int delayMs, int[] checks, byte[]? caller = null, int callerAt = 0,
        SpectralEchoModel? model = null, int replyAt = ReplyAt, bool offer = false)
    {
        var reply = Reply;
        var line = MuLaw.Decode(FirstReplyLine(room, delayMs, caller, callerAt, replyAt)).Select(s => s / 32768f).ToArray();
        var bot = new float[line.Length];
        var reference = MuLaw.Decode(reply);
        for (var n = 0; n < reference.Length && replyAt + n < bot.Length; n++)
        {
            bot[replyAt + n] = reference[n] / 32768f;
        }

        var length = line.Length;
        model ??= new SpectralEchoModel();
        var answers = new (bool, int, float)[checks.Length];
        for (var end = 320; end <= length; end += 160)
        {
            model.Process(line.AsSpan(end - 256, 256), bot.AsSpan(end - 256, 256), referenceSilent: false);
            for (var c = 0; c < checks.Length; c++)
            {
                if (checks[c] == end)
                {
                    var explained = offer ? model.Offer(delayMs * 8, EchoCanceller.SpectralAdoptShare) : model.Explains(delayMs * 8, 20, EchoCanceller.SpectralEchoShare, heldOut: true);
                    answers[c] = (explained, model.LastUnexplainedFrames, model.LastFitShare);
                }
            }
        }

        return answers;
    }

    /// <summary>Line samples from the start of the reply's echo.</summary>
    private static int IntoEcho(int delayMs, int ms, int replyAt = ReplyAt) => (replyAt + (delayMs + ms) * 8) / 160 * 160;

    /// <summary>
    /// A first question that starts as the stream connects (the worker's greeting does): the model adopts the echo's delay once 300 ms
    /// of it have come in and the call is 400 ms old, as it does a second into a call, not only once the call is 800 ms old (its fit
    /// window): the line before the call's first frame is silence. Waiting cost barge-in-eval's room callers on such a first reply (`--lead-in 0`) about 20 in 120.
    /// </summary>
    [Theory]
    [MemberData(nameof(Rooms))]
    public void AFirstQuestionThatStartsAsTheStreamConnectsIsFittedBeforeTheCallIs800MsOld(int roomSeed, int delayMs)
    {
        var check = Math.Max(IntoEcho(delayMs, 300, replyAt: 0), 440 * 8); // a fit needs 400 ms of the call

        var answers = Model(EchoPathModel.Room(roomSeed, rt60Ms: null, clipDrive: 2), delayMs, [check], replyAt: 0, offer: true);

        Assert.True(answers[0].Explained, $"the echo's delay was not adopted {check / 8} ms into the call: {answers[0].Share:P0} unexplained");
    }

    [Theory]
    [MemberData(nameof(Rooms))]
    public void TheSpectralFitExplainsTheEchoAloneThroughoutAFirstReply(int roomSeed, int delayMs)
    {
        var checks = Enumerable.Range(0, 40).Select(k => IntoEcho(delayMs, 400 + 100 * k)).ToArray();

        var answers = Model(EchoPathModel.Room(roomSeed, rt60Ms: null, clipDrive: 2), delayMs, checks);

        Assert.All(answers, a => Assert.True(a.Explained, $"the echo alone was not explained: {a.Share:P0} unexplained, {a.Unexplained} frames mostly unexplained"));
        Assert.All(answers, a => Assert.InRange(a.Unexplained, 0, SpectralEchoModel.DoubleTalkFrames - 1));
    }

    /// <summary>
    /// A caller at the echo's level who begins 150 ms into the first reply's echo: 300–420 ms after their voice began (when a
    /// barge-in is checked), the fit over the last 400 ms leaves frames where their voice stands alone mostly unexplained, in
    /// every room, even where it explains the window on the whole (all but 15 %, which alone turned such callers down).
    /// </summary>
    [Theory]
    [MemberData(nameof(Rooms))]
    public void ACallerOverAFirstRepliesEchoLeavesFramesTheSpectralFitCannotExplain(int roomSeed, int delayMs)
    {
        var answer = RealTimeLineScenarios.AnswerAtEchoLevel;
        var onset = IntoEcho(delayMs, 150);
        var checks = new[] { 300, 360, 420 }.Select(ms => onset + ms * 8).ToArray();

        var answers = Model(EchoPathModel.Room(roomSeed, rt60Ms: null, clipDrive: 2), delayMs, checks, answer, onset - RealTimeScenarios.VoiceStart(answer));

        Assert.All(answers, a => Assert.False(a.Explained, $"the caller was taken for the echo: {a.Share:P0} unexplained, {a.Unexplained} frames mostly unexplained"));
        Assert.All(answers, a => Assert.InRange(a.Unexplained, SpectralEchoModel.DoubleTalkFrames, 20));
    }

    /// <summary>The first reply (<paramref name="reply"/>, or <see cref="RoomEchoReply.Reply"/>) through the listener, as a call runs it, with the caller from <paramref name="callerAt"/>: where the first barge-in fired (line samples; −1: none).</summary>
    private static int Listen(EchoPathModel room, int delayMs, byte[] caller, int callerAt, BargeInOptions? options = null, byte[]? reply = null)
    {
        reply ??= Reply;
        var inbound = FirstReplyLine(room, delayMs, caller, callerAt, reply: reply);
        var length = inbound.Length;
        var listener = new BargeInListener(options);
        for (var o = 0; o + 160 <= length; o += 160)
        {
            var at = o - ReplyAt;
            var scheduled = at >= 0 && at < reply.Length ? reply.AsSpan(at, Math.Min(160, reply.Length - at)) : [];
            if (at == 0)
            {
                listener.Reset();
            }

            listener.Process(inbound.AsSpan(o, 160), scheduled, at >= 0, TimeSpan.FromTicks(o * TimeSpan.TicksPerSecond / 8000), -65, out var bargeIn);
            if (bargeIn)
            {
                return o + 160;
            }
        }

        return -1;
    }

    /// <summary>
    /// A caller at the echo's level who begins as the first reply's echo arrives, before the adaptive filter has anything to
    /// go on: the echo check no longer turns them down with the echo (the fit alone let 3 of these 8 go unheard for the whole
    /// reply), and they are caught within 800 ms of their voice (the level rule's 300 ms of voice, then the check; a
    /// check that turns them down still makes them start over).
    /// </summary>
    [Theory]
    [MemberData(nameof(Rooms))]
    public void ACallerWhoBeginsAsTheFirstRepliesEchoArrivesInterruptsIt(int roomSeed, int delayMs)
    {
        var answer = RealTimeLineScenarios.AnswerAtEchoLevel;
        var onset = IntoEcho(delayMs, 0);

        var fired = Listen(EchoPathModel.Room(roomSeed, rt60Ms: null, clipDrive: 2), delayMs, answer, onset - RealTimeScenarios.VoiceStart(answer));

        Assert.True(fired > 0, "the caller never interrupted the reply");
        Assert.InRange((fired - onset) / 8, 1, 800);
    }

    /// <summary>
    /// A caller at the echo's level 560–600 ms into a first reply, judged on the spectral model's frames (the adaptive filter has not
    /// converged): with the echo remembered by the barge-in bar decaying at 60 dB/s on those frames
    /// (<see cref="BargeInOptions.SpectralEchoReleaseDbPerSecond"/>), as the room's reverberation does, they are caught within 400 ms;
    /// held at 20 dB/s, as before, they were caught only after 480–500 ms. (Over these 8 rooms and callers 300–700 ms in, every 20 ms:
    /// 34 of 168 within 400 ms, was 27; 41 sooner, 14 later.)
    /// </summary>
    [Theory]
    [InlineData(1, 250, 560)]
    [InlineData(2, 320, 560)]
    [InlineData(2, 320, 580)]
    [InlineData(2, 320, 600)]
    public void ACallerOnAFirstRepliesSpectralFramesIsNotHeldUnderTheEchoOfItsLastSyllable(int roomSeed, int delayMs, int intoReplyMs)
    {
        var answer = RealTimeLineScenarios.AnswerAtEchoLevel;
        var onset = (ReplyAt + intoReplyMs * 8) / 160 * 160;
        int Latency(BargeInOptions? options) =>
            (Listen(EchoPathModel.Room(roomSeed, rt60Ms: null, clipDrive: 2), delayMs, answer, onset - RealTimeScenarios.VoiceStart(answer), options) - onset) / 8;

        Assert.InRange(Latency(null), 1, 400);
        Assert.InRange(Latency(new BargeInOptions { SpectralEchoReleaseDbPerSecond = new BargeInOptions().PlaybackReleaseDbPerSecond }), 401, 600);
    }

    /// <summary>
    /// A caller at the echo's level 340–420 ms into a first reply, whose voice the spectral fit over the last 400 ms takes into its gains
    /// (all but 15 % of the window explained, fewer than <see cref="SpectralEchoModel.DoubleTalkFrames"/> frames mostly unexplained), but
    /// who puts power in bands where the bot's audio at that moment has little (<see cref="SpectralEchoModel.DoubleTalkBands"/>): the echo
    /// check no longer turns them down with the echo, and they are caught within 400 ms (without the band count: 540–740 ms).
    /// </summary>
    [Theory]
    [InlineData(1, 250, 360)]
    [InlineData(2, 60, 340)]
    [InlineData(2, 320, 420)]
    [InlineData(4, 250, 380)]
    public void ACallerInBandsTheFirstRepliesEchoLeavesEmptyIsNotTurnedDownWithTheEcho(int roomSeed, int delayMs, int intoReplyMs) =>
        AssertCaughtWithin400Ms(roomSeed, delayMs, intoReplyMs);

    /// <summary>
    /// A caller at the echo's level 340–580 ms into a first reply whom the spectral fit over the last 400 ms takes for the echo (frames and
    /// bands aside), but whose voiced frames, where the bot's audio at the echo's delay is unvoiced or silent, repeat at their own pitch
    /// (<see cref="HarmonicDoubleTalk"/>; the prompts' voice and this caller's are both at about 110 Hz, so it is the moment, not the
    /// voice, that tells them apart): the echo check no longer turns them down with the echo, and they are caught within 400 ms (without
    /// the pitch test: 540–700 ms).
    /// </summary>
    [Theory]
    [InlineData(1, 120, 460)]
    [InlineData(2, 60, 400)]
    [InlineData(4, 250, 340)]
    [InlineData(5, 180, 580)]
    public void ACallerVoicedAtAPitchTheBotsAudioLacksIsNotTurnedDownWithTheEcho(int roomSeed, int delayMs, int intoReplyMs) =>
        AssertCaughtWithin400Ms(roomSeed, delayMs, intoReplyMs);

    /// <summary>
    /// A caller at the echo's level 540–580 ms into a first reply in barge-in-eval's voices (the bot's espeak-ng -p 70 at 95–140 Hz, the
    /// caller's utterance 1 at 85–120 Hz), over frames where the bot's audio at the echo's delay is voiced too: the echo's period dominates
    /// those frames, so the single-voice pitch test finds nothing, and the spectral fit over the last 400 ms takes the caller's power into its
    /// gains. With the bot's periods combed out of each frame (<see cref="HarmonicDoubleTalk.CombForeignFrames"/>) the caller's voice is what is
    /// left, repeating at its own period over consecutive frames: the echo check no longer turns them down with the echo, and they are caught
    /// within 400 ms (without the combs: 740–760 ms).
    /// </summary>
    [Theory]
    [InlineData(1, 120, 580)]
    [InlineData(4, 60, 540)]
    public void ACallerVoicedOverTheBotsVoicedEchoIsNotTurnedDownWithTheEcho(int roomSeed, int delayMs, int intoReplyMs) =>
        AssertCaughtWithin400Ms(roomSeed, delayMs, intoReplyMs, RealTimeScenarios.Audio("eval_caller_plumber_he.wav"), RealTimeScenarios.Audio("eval_bot_reply_p70_he.wav"));

    /// <summary>
    /// A short "ken" at the echo's level 1.2 s into a first reply's echo (rooms 1 and 4, 250 ms), whom the fit over the last 400 ms takes
    /// into its gains (the echo alone by share, frames, bands and pitch) and the reply was never interrupted: gains fitted on the 500 ms of
    /// echo alone before the last 300 ms predict the echo there, and their voice stands over that prediction by at least
    /// <see cref="SpectralEchoModel.HeldOutExcessDb"/> on average (<see cref="SpectralEchoModel.HeldOutTestFrames"/>): caught within 400 ms
    /// (300 ms).
    /// </summary>
    [Theory]
    [InlineData(1, 250, 1470)]
    [InlineData(4, 250, 1430)]
    [InlineData(4, 250, 1470)]
    public void AnAnswerAfterTheFirstRepliesEchoCameBackStandsOverTheEchoFittedBeforeIt(int roomSeed, int delayMs, int intoReplyMs) =>
        AssertCaughtWithin400Ms(roomSeed, delayMs, intoReplyMs, RealTimeLineScenarios.AtEchoLevel("caller_yes_he.wav"));

    /// <summary>
    /// A caller at the echo's level (<paramref name="answer"/>, or <see cref="RealTimeLineScenarios.AnswerAtEchoLevel"/>) from <paramref name="intoReplyMs"/>
    /// into a first reply (<paramref name="reply"/>, or <see cref="RoomEchoReply.Reply"/>) through <paramref name="roomSeed"/>'s room, <paramref name="delayMs"/> late,
    /// interrupts it within 400 ms of their voice.
    /// </summary>
    private static void AssertCaughtWithin400Ms(int roomSeed, int delayMs, int intoReplyMs, byte[]? answer = null, byte[]? reply = null)
    {
        answer ??= RealTimeLineScenarios.AnswerAtEchoLevel;
        var onset = (ReplyAt + intoReplyMs * 8) / 160 * 160;

        var fired = Listen(EchoPathModel.Room(roomSeed, rt60Ms: null, clipDrive: 2), delayMs, answer, onset - RealTimeScenarios.VoiceStart(answer), reply: reply);

        Assert.True(fired > 0, "the caller never interrupted the reply");
        Assert.InRange((fired - onset) / 8, 1, 400);
    }

    /// <summary>
    /// The band count alone: 360 ms after a caller at the echo's level began 560 ms into a first reply (room 3, 180 ms), the fit over the
    /// last 400 ms explains all but 15 % of the window and leaves only one frame mostly unexplained, yet leaves band-frames 12 dB under
    /// what came in (<see cref="SpectralEchoModel.DoubleTalkBands"/>): not the echo alone.
    /// </summary>
    [Fact]
    public void BandsACallerFillsAreDoubleTalkWhereTheFitExplainsTheFramesPower()
    {
        var answer = RealTimeLineScenarios.AnswerAtEchoLevel;
        var onset = (ReplyAt + 560 * 8) / 160 * 160;
        var check = (onset + 360 * 8) / 160 * 160;
        var model = new SpectralEchoModel();

        var answers = Model(EchoPathModel.Room(3, rt60Ms: null, clipDrive: 2), 180, [check], answer, onset - RealTimeScenarios.VoiceStart(answer), model);

        Assert.InRange(answers[0].Share, 0, EchoCanceller.SpectralEchoShare);
        Assert.InRange(answers[0].Unexplained, 0, SpectralEchoModel.DoubleTalkFrames - 1);
        Assert.InRange(model.LastUnexplainedBands, SpectralEchoModel.DoubleTalkBands, 400);
        Assert.False(answers[0].Explained, "the caller was taken for the echo");
    }
}
