using AgentLocator.AppHost.Processes;
using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AgentLocator.Redis;
using AgentLocator.Redis.Protocol;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.Redis;

/// <summary>Server outages, restarts, timeouts, cancellation and garbage on the wire. Each test owns its server.</summary>
public class RedisResilienceTests
{
    private static readonly string Prefix = RedisServerFixture.NewKeyPrefix(nameof(RedisResilienceTests));

    [Fact]
    public async Task ClientCreatedWhileRedisIsDownFailsFastThenRecoversWhenRedisStarts()
    {
        var port = PortOwners.GetFreePort();
        await using var client = new RedisClient($"127.0.0.1:{port},connectTimeout=1000,syncTimeout=3000");

        for (var attempt = 0; attempt < 3; attempt++)
        {
            var watch = Stopwatch.StartNew();
            await Assert.ThrowsAsync<RedisConnectionException>(() => client.GetAsync(Prefix + "down"));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.5), $"failing took {watch.Elapsed}");
            await Task.Delay(150);
        }

        await using var server = await RedisServer.StartOnPortAsync(port);
        await RedisClientCommandTests.WaitUntilAsync(async () =>
        {
            try
            {
                return await client.SetAsync(Prefix + "up", "1");
            }
            catch (RedisConnectionException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(15));
        Assert.Equal("1", await client.GetAsync(Prefix + "up"));
    }

    [Fact]
    public async Task ServerKilledMidLoadFailsCallsPromptlyAndTheClientRecoversAfterRestart()
    {
        await using var server = await RedisServer.StartAsync();
        var syncTimeout = TimeSpan.FromSeconds(2);
        await using var client = new RedisClient(server.ConnectionString + ",syncTimeout=2000,connectTimeout=1000");
        using (var ready = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            await client.WaitUntilConnectedAsync(ready.Token);
        }

        var outcomes = new ConcurrentBag<(TimeSpan Duration, Exception? Error, DateTime End)>();
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var i = 0;
            while (!stop.IsCancellationRequested)
            {
                var key = $"{Prefix}load:{w}:{i++ % 50}";
                var watch = Stopwatch.StartNew();
                try
                {
                    await client.SetAsync(key, "v" + i);
                    Assert.Equal("v" + i, await client.GetAsync(key));
                    outcomes.Add((watch.Elapsed, null, DateTime.UtcNow));
                }
                catch (Exception ex)
                {
                    outcomes.Add((watch.Elapsed, ex, DateTime.UtcNow));
                    await Task.Delay(20);
                }
            }
        })).ToArray();

        await Task.Delay(500);
        server.Stop();
        await Task.Delay(700);
        await server.StartAsync();
        var restarted = DateTime.UtcNow;
        await RedisClientCommandTests.WaitUntilAsync(
            () => Task.FromResult(outcomes.Any(o => o.Error is null && o.End > restarted)), TimeSpan.FromSeconds(15));
        await Task.Delay(300);
        await stop.CancelAsync();
        var finished = await Task.WhenAny(Task.WhenAll(workers), Task.Delay(TimeSpan.FromSeconds(10)));
        Assert.True(finished != null && workers.All(w => w.IsCompleted), "a worker was still stuck in a call");
        await Task.WhenAll(workers);

        Assert.All(outcomes, o => Assert.True(o.Duration < syncTimeout * 2 + TimeSpan.FromSeconds(1), $"a call took {o.Duration}"));
        var errors = outcomes.Where(o => o.Error is not null).Select(o => o.Error!).ToList();
        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.True(e is RedisConnectionException or RedisTimeoutException, e.ToString()));
        Assert.Contains(errors, e => e is RedisConnectionException);
        Assert.True(client.ConnectionCount >= 2, $"connected {client.ConnectionCount} time(s)");
        Assert.Equal("ok", await client.SetAsync(Prefix + "after", "ok") ? await client.GetAsync(Prefix + "after") : null);
    }

    [Fact]
    public async Task TimedOutCommandsReplyIsDiscardedAndLaterRepliesStayMatched()
    {
        await using var server = await RedisServer.StartAsync();
        await using var client = new RedisClient(server.ConnectionString);
        await client.SetAsync(Prefix + "after-timeout", "expected");

        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAsync<RedisTimeoutException>(() =>
            client.ExecuteAsync(new object[] { "BLPOP", Prefix + "empty-list", "2" }, TimeSpan.FromMilliseconds(200)));
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(1.5));

        // BLPOP's null reply arrives after ~2 s; it must be matched to BLPOP and dropped, not handed to GET.
        var values = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetAsync(Prefix + "after-timeout")));
        Assert.All(values, v => Assert.Equal("expected", v));
        Assert.Equal(1, client.ConnectionCount);
    }

    [Fact]
    public async Task DefaultSyncTimeoutFailsCallsAndAConnectionSilentThatLongIsReplaced()
    {
        await using var server = await RedisServer.StartAsync();
        await using var client = new RedisClient(server.ConnectionString + ",syncTimeout=300");
        await client.SetAsync(Prefix + "after-sweep", "expected");

        var watch = Stopwatch.StartNew();
        var blocked = Task.WhenAll(Enumerable.Range(0, 3).Select(_ => client.ExecuteAsync("BLPOP", Prefix + "empty-list-3", "5")));
        await Assert.ThrowsAsync<RedisTimeoutException>(() => blocked);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(1500));
        Assert.All(blocked.Exception!.InnerExceptions, e => Assert.IsType<RedisTimeoutException>(e));

        // Nothing arrived for a whole syncTimeout, so the connection was presumed dead and replaced:
        // later calls get their own replies on the new connection instead of queueing behind BLPOP.
        await RedisClientCommandTests.WaitUntilAsync(async () =>
        {
            try
            {
                return await client.GetAsync(Prefix + "after-sweep") == "expected";
            }
            catch (RedisConnectionException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(5));
        Assert.Equal(2, client.ConnectionCount);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), $"recovery took {watch.Elapsed}, as long as BLPOP blocks");
    }

    [Fact]
    public async Task CanceledCommandThrowsAndLaterRepliesStayMatched()
    {
        await using var server = await RedisServer.StartAsync();
        await using var client = new RedisClient(server.ConnectionString);
        await client.SetAsync(Prefix + "after-cancel", "expected");

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.ExecuteAsync(new object[] { "BLPOP", Prefix + "empty-list-2", "1" }, null, cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetAsync(Prefix + "after-cancel", cts.Token));

        Assert.Equal("expected", await client.GetAsync(Prefix + "after-cancel"));
        Assert.Equal(1, client.ConnectionCount);
    }

    [Fact]
    public async Task SilentServerIsDetectedAndTheConnectionReplaced()
    {
        await using var fake = new FakeRedisServer(FakeRedisServer.Behaviour.Silent);
        await using var client = new RedisClient($"127.0.0.1:{fake.Port},syncTimeout=300,connectTimeout=500");

        // Nothing answers the handshake-free connection: commands time out, then the connection is replaced.
        await RedisClientCommandTests.WaitUntilAsync(async () =>
        {
            await Assert.ThrowsAnyAsync<RedisException>(() => client.GetAsync(Prefix + "silent"));
            return fake.AcceptedConnections >= 2;
        }, TimeSpan.FromSeconds(10));
    }

    [Theory]
    [InlineData("")]
    [InlineData(",protocol=resp3")]
    public async Task RandomBytesFromTheServerGiveCleanErrorsAndTheClientReconnects(string protocol)
    {
        await using var fake = new FakeRedisServer(FakeRedisServer.Behaviour.Garbage);
        await using var client = new RedisClient($"127.0.0.1:{fake.Port},syncTimeout=300,connectTimeout=500{protocol}");
        var limit = TimeSpan.FromMilliseconds(300) + TimeSpan.FromSeconds(1.5);
        var unexpected = new ConcurrentBag<Exception>();
        var slow = new ConcurrentBag<TimeSpan>();
        var calls = 0;

        var until = DateTime.UtcNow + TimeSpan.FromSeconds(2.5);
        await Task.WhenAll(Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
        {
            var i = 0;
            while (DateTime.UtcNow < until)
            {
                var watch = Stopwatch.StartNew();
                try
                {
                    switch (i++ % 5)
                    {
                        case 0: await client.GetAsync($"{Prefix}fuzz:{w}"); break;
                        case 1: await client.SetAsync($"{Prefix}fuzz:{w}", "x", TimeSpan.FromSeconds(5)); break;
                        case 2: await client.HashGetAllAsync($"{Prefix}fuzz:h"); break;
                        case 3: await client.SortedSetRangeByScoreAsync($"{Prefix}fuzz:z", 0, 10); break;
                        default:
                            var tx = client.CreateTransaction();
                            var counter = tx.IncrementAsync($"{Prefix}fuzz:c");
                            await tx.ExecAsync();
                            await counter;
                            break;
                    }
                }
                catch (RedisException)
                {
                    // Clean failure: connection, timeout, protocol, server or unexpected-reply error.
                }
                catch (Exception ex)
                {
                    unexpected.Add(ex);
                }
                if (watch.Elapsed > limit)
                {
                    slow.Add(watch.Elapsed);
                }
                Interlocked.Increment(ref calls);
                if (watch.Elapsed < TimeSpan.FromMilliseconds(5))
                {
                    await Task.Delay(5);
                }
            }
        })));

        Assert.Empty(unexpected);
        Assert.Empty(slow);
        Assert.True(calls > 50, $"only {calls} calls completed");
        Assert.True(fake.AcceptedConnections >= 2, $"the client never reconnected ({fake.AcceptedConnections} connection)");

        // Once the server speaks RESP again, the client recovers by itself.
        fake.Mode = FakeRedisServer.Behaviour.Pong;
        await RedisClientCommandTests.WaitUntilAsync(async () =>
        {
            try
            {
                await client.PingAsync(TimeSpan.FromSeconds(1));
                return true;
            }
            catch (RedisException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(15));
    }

    [Theory]
    [InlineData("")]
    [InlineData(",protocol=resp3")]
    public async Task SubscriptionIsRestoredAfterTheServerRestarts(string protocol)
    {
        await using var server = await RedisServer.StartAsync();
        await using var client = new RedisClient(server.ConnectionString + ",connectTimeout=1000" + protocol);
        var channel = Prefix + "restart-channel" + protocol;
        var received = new ConcurrentQueue<string>();
        await using var subscription = await client.SubscribeAsync(channel, m =>
        {
            received.Enqueue(m.Message);
            return ValueTask.CompletedTask;
        });
        Assert.Equal(1, await client.PublishAsync(channel, "before"));

        await server.RestartAsync();

        await RedisClientCommandTests.WaitUntilAsync(async () =>
        {
            try
            {
                return await client.PublishAsync(channel, "after") >= 1;
            }
            catch (RedisConnectionException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(15));
        await RedisClientCommandTests.WaitUntilAsync(() => Task.FromResult(received.Contains("after")), TimeSpan.FromSeconds(5));
        Assert.Equal("before", received.First());
        Assert.True(client.SubscriberConnectionCount >= 2);
    }

    /// <summary>A TCP server that answers every read with random bytes, with silence, or with +PONG per command.</summary>
    private sealed class FakeRedisServer : IAsyncDisposable
    {
        public enum Behaviour { Garbage, Silent, Pong }

        private static readonly string[] Fragments =
        [
            "+OK\r\n", "+QUEUED\r\n", ":1\r\n", "$5\r\nhello\r\n", "$-1\r\n", "*2\r\n", "*-1\r\n", "%1\r\n", ">3\r\n",
            "-ERR x\r\n", "$3\r\nab", "_\r\n", ",1.5\r\n", "#t\r\n", "\r\n", "|1\r\n", "*1\r\n", "$999999\r\n",
        ];

        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _acceptLoop;
        private readonly ConcurrentBag<Task> _connections = [];
        private int _accepted;

        public FakeRedisServer(Behaviour mode)
        {
            Mode = mode;
            _listener.Start();
            _acceptLoop = Task.Run(AcceptLoopAsync);
        }

        public volatile Behaviour Mode;

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public int AcceptedConnections => Volatile.Read(ref _accepted);

        private async Task AcceptLoopAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    var seed = Interlocked.Increment(ref _accepted);
                    _connections.Add(Task.Run(() => ServeAsync(socket, new Random(seed))));
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task ServeAsync(Socket socket, Random random)
        {
            using var _ = socket;
            var buffer = new byte[64 * 1024];
            var pending = new ArrayBufferWriter<byte>();
            try
            {
                while (!_stop.IsCancellationRequested)
                {
                    var read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                    if (read == 0)
                    {
                        return;
                    }
                    switch (Mode)
                    {
                        case Behaviour.Silent:
                            break;
                        case Behaviour.Pong:
                            pending.Write(buffer.AsSpan(0, read));
                            var sequence = new ReadOnlySequence<byte>(pending.WrittenMemory);
                            var replies = new StringBuilder();
                            while (RespReader.TryRead(ref sequence, out var command))
                            {
                                var name = command.Elements[0].AsString()!.ToUpperInvariant();
                                replies.Append(name == "PING" ? "+PONG\r\n" : name == "HELLO" ? "%0\r\n" : "+OK\r\n");
                            }
                            var rest = sequence.ToArray();
                            pending.Clear();
                            pending.Write(rest);
                            await socket.SendAsync(Encoding.ASCII.GetBytes(replies.ToString()), SocketFlags.None, _stop.Token);
                            break;
                        default:
                            var reply = new StringBuilder();
                            for (var n = random.Next(1, 6); n > 0; n--)
                            {
                                if (random.Next(2) == 0)
                                {
                                    reply.Append(Fragments[random.Next(Fragments.Length)]);
                                }
                                else
                                {
                                    var noise = new byte[random.Next(1, 40)];
                                    random.NextBytes(noise);
                                    reply.Append(Encoding.Latin1.GetString(noise));
                                }
                            }
                            await socket.SendAsync(Encoding.Latin1.GetBytes(reply.ToString()), SocketFlags.None, _stop.Token);
                            if (random.Next(20) == 0)
                            {
                                return;
                            }
                            break;
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _acceptLoop;
            await Task.WhenAll(_connections);
            _stop.Dispose();
        }
    }
}
