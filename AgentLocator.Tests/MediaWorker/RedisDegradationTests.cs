using AgentLocator.Data.Calls;
using AgentLocator.Data.Sessions;
using AgentLocator.Testing.MediaStreams;
using AgentLocator.Tests.Infrastructure;
using StackExchange.Redis;

namespace AgentLocator.Tests.MediaWorker;

/// <summary>The media stream with the real Redis up (the watchdog is disarmed) and down (the call goes on regardless).</summary>
public sealed class RedisDegradationTests(MediaPipelineFixture fixture) : IClassFixture<MediaPipelineFixture>, IAsyncLifetime
{
    private RedisServer _redis = null!;

    public async Task InitializeAsync() => _redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task TheStreamsStartDisarmsTheWatchdogAndAStreamIsServedEvenWithRedisGone()
    {
        var worker = fixture.StartWorker(new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = _redis.ConnectionString,
            ["MediaStream:IdleReprompt"] = "00:01:00",
        });
        await using var connection = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        var redis = connection.GetDatabase();

        // Redis up: incoming_call armed the watchdog far in the future; the stream's start disarms it.
        var options = await fixture.StartCallAsync(speed: 2);
        await redis.SortedSetAddAsync(RedisCallSessions.WatchdogKey, options.CallSid!, DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeMilliseconds());
        await using (var call = await CallSimulator.ConnectAsync(worker.MediaUri(), options))
        {
            Assert.True(await call.WaitForBotAudioAsync(TimeSpan.FromSeconds(10)), "the bot did not speak");
            Assert.Null(await redis.SortedSetScoreAsync(RedisCallSessions.WatchdogKey, options.CallSid!));
            await call.HangUpAsync();
        }

        // Redis down: no session can be read; the start message's parameters carry the call.
        _redis.Stop();
        var degraded = await fixture.StartCallAsync(speed: 2);
        await using (var call = await CallSimulator.ConnectAsync(worker.MediaUri(), degraded))
        {
            Assert.True(await call.WaitForBotAudioAsync(TimeSpan.FromSeconds(10)), "the bot did not speak with Redis down");
            await call.HangUpAsync();
        }
        Assert.True(worker.Logs.Contains("WS_START " + degraded.CallSid));
        Assert.True(worker.Logs.Contains("REDIS_DEGRADED get_session"));
        Assert.True(await Sql.ScalarAsync<bool>(fixture.ConnectionString, "SELECT stream_started FROM calls WHERE call_sid = $1", degraded.CallSid));
    }
}
