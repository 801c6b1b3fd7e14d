using AgentLocator.Redis;
using AgentLocator.Redis.Protocol;
using AgentLocator.Tests.Infrastructure;

namespace AgentLocator.Tests.Redis;

/// <summary>The typed commands against a real server; run once against redis-server and once against Garnet.</summary>
public abstract class RedisClientCommandTests : IAsyncLifetime
{
    private readonly string _prefix;
    private readonly string _connectionString;

    protected RedisClientCommandTests(RedisServerFixture server, string connectionStringSuffix)
    {
        _prefix = RedisServerFixture.NewKeyPrefix(GetType().Name);
        _connectionString = server.ConnectionString + ",name=command-tests" + connectionStringSuffix;
        Client = new RedisClient(_connectionString + ",syncTimeout=5000");
    }

    protected RedisClient Client { get; }

    /// <summary>Redis answers EXECABORT; Garnet runs the commands it did queue.</summary>
    protected virtual bool ServerAbortsTransactionsWithRejectedCommands => true;

    private string Key(string name) => _prefix + name;

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Client.WaitUntilConnectedAsync(cts.Token);
    }

    public async Task DisposeAsync() => await Client.DisposeAsync();

    [Fact]
    public async Task SetThenGetReturnsTheValueAndMissingKeyIsNull()
    {
        Assert.True(await Client.SetAsync(Key("greeting"), "שלום עולם"));

        Assert.Equal("שלום עולם", await Client.GetAsync(Key("greeting")));
        Assert.Null(await Client.GetAsync(Key("missing")));
        Assert.Equal(new byte[] { 1, 2, 3 }, await Client.SetAsync(Key("bytes"), new byte[] { 1, 2, 3 }) ? await Client.GetBytesAsync(Key("bytes")) : null);
    }

    [Fact]
    public async Task SetWithExpiryExpiresTheKey()
    {
        await Client.SetAsync(Key("short"), "v", TimeSpan.FromMilliseconds(1500));
        var ttl = await Client.TimeToLiveAsync(Key("short"));
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1500));

        await WaitUntilAsync(async () => await Client.GetAsync(Key("short")) is null, TimeSpan.FromSeconds(5));
        Assert.False(await Client.ExistsAsync(Key("short")));
    }

    [Fact]
    public async Task SetIfNotExistsSucceedsOnlyForTheFirstCaller()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Client.SetIfNotExistsAsync(Key("lock"), $"owner-{i}", TimeSpan.FromSeconds(30))));

        Assert.Single(results, won => won);
        var owner = await Client.GetAsync(Key("lock"));
        Assert.Equal($"owner-{Array.IndexOf(results, true)}", owner);
        Assert.NotNull(await Client.TimeToLiveAsync(Key("lock")));
    }

    [Fact]
    public async Task DeleteExistsAndExpireReportWhatTheyDid()
    {
        await Client.SetAsync(Key("a"), "1");
        await Client.SetAsync(Key("b"), "2");

        Assert.True(await Client.ExistsAsync(Key("a")));
        Assert.True(await Client.ExpireAsync(Key("a"), TimeSpan.FromSeconds(100)));
        Assert.True(await Client.ExpireAsync(Key("b"), TimeSpan.FromMilliseconds(100_500)));
        Assert.False(await Client.ExpireAsync(Key("none"), TimeSpan.FromSeconds(1)));
        Assert.InRange((await Client.TimeToLiveAsync(Key("a")))!.Value, TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(100));
        Assert.Equal(2, await Client.DeleteAsync([Key("a"), Key("b"), Key("none")]));
        Assert.False(await Client.ExistsAsync(Key("a")));
    }

    [Fact]
    public async Task IncrementWithExpiryStartsAWindowThatLaterIncrementsDoNotExtend()
    {
        var counter = Key("rate");

        Assert.Equal(1, await Client.IncrementAsync(counter, expiry: TimeSpan.FromSeconds(60)));
        var firstTtl = await Client.TimeToLiveAsync(counter);
        Assert.Equal(6, await Client.IncrementAsync(counter, 5, TimeSpan.FromSeconds(600)));
        Assert.Equal(7, await Client.IncrementAsync(counter));

        var ttl = await Client.TimeToLiveAsync(counter);
        Assert.NotNull(firstTtl);
        Assert.NotNull(ttl);
        Assert.True(ttl <= firstTtl, $"window was extended from {firstTtl} to {ttl}");
    }

    [Fact]
    public async Task HashCommandsRoundTripSeveralFields()
    {
        var hash = Key("session");
        var added = await Client.HashSetAsync(hash, new Dictionary<string, string>
        {
            ["callSid"] = "CA123",
            ["business"] = "42",
            ["state"] = "greeting",
        });

        Assert.Equal(3, added);
        Assert.Equal(0, await Client.HashSetAsync(hash, "state", "listening"));
        Assert.Equal("listening", await Client.HashGetAsync(hash, "state"));
        Assert.Null(await Client.HashGetAsync(hash, "nope"));
        Assert.Equal(1, await Client.HashDeleteAsync(hash, ["business", "nope"]));
        var all = await Client.HashGetAllAsync(hash);
        Assert.Equal(new Dictionary<string, string> { ["callSid"] = "CA123", ["state"] = "listening" }, all);
        Assert.Empty(await Client.HashGetAllAsync(Key("no-hash")));
    }

    [Fact]
    public async Task SortedSetRangeByScoreHonoursBoundsAndLimit()
    {
        var timers = Key("watchdog");
        for (var i = 1; i <= 5; i++)
        {
            Assert.True(await Client.SortedSetAddAsync(timers, $"call-{i}", i * 10.5));
        }
        Assert.False(await Client.SortedSetAddAsync(timers, "call-1", 1));

        Assert.Equal(["call-1", "call-2", "call-3"], await Client.SortedSetRangeByScoreAsync(timers, double.NegativeInfinity, 31.5));
        Assert.Equal(["call-3", "call-4"], await Client.SortedSetRangeByScoreAsync(timers, 0, double.PositiveInfinity, offset: 2, count: 2));
        Assert.Equal(1, await Client.SortedSetScoreAsync(timers, "call-1"));
        Assert.Null(await Client.SortedSetScoreAsync(timers, "nobody"));
        Assert.True(await Client.SortedSetRemoveAsync(timers, "call-1"));
        Assert.False(await Client.SortedSetRemoveAsync(timers, "call-1"));
    }

    [Fact]
    public async Task ListPushRangeAndTrimKeepTheNewestEntries()
    {
        var events = Key("events");
        Assert.Equal(3, await Client.ListRightPushAsync(events, ["b", "c", "d"]));
        Assert.Equal(4, await Client.ListLeftPushAsync(events, ["a"]));

        Assert.Equal(["a", "b", "c", "d"], await Client.ListRangeAsync(events));
        Assert.True(await Client.ListTrimAsync(events, -2, -1));
        Assert.Equal(["c", "d"], await Client.ListRangeAsync(events, 0, -1));
    }

    [Fact]
    public async Task GenericExecuteReturnsTheRawReplyAndServerErrorsThrow()
    {
        var reply = await Client.ExecuteAsync("ECHO", "hello");
        Assert.Equal(RespType.BulkString, reply.Type);
        Assert.Equal("hello", reply.AsString());

        await Client.SetAsync(Key("string"), "x");
        var error = await Assert.ThrowsAsync<RedisServerException>(() => Client.HashGetAllAsync(Key("string")));
        Assert.Contains("WRONGTYPE", error.Message);

        // The connection is still in step after the error.
        Assert.Equal("x", await Client.GetAsync(Key("string")));
        Assert.True((await Client.PingAsync()) < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task ThousandsOfConcurrentCallersEachGetTheirOwnReply()
    {
        // What is checked is that replies are matched to their callers, not how fast: a machine busy
        // with the rest of the suite may take seconds to run 4,000 continuations, so the timeout is long.
        await using var client = new RedisClient(_connectionString + ",syncTimeout=30000");
        var tasks = Enumerable.Range(0, 2000).Select(async i =>
        {
            var key = Key($"pipe:{i % 100}:{i}");
            await client.SetAsync(key, $"value-{i}");
            return (i, value: await client.GetAsync(key));
        });

        foreach (var (i, value) in await Task.WhenAll(tasks))
        {
            Assert.Equal($"value-{i}", value);
        }
        Assert.Equal(1, client.ConnectionCount);
    }

    [Fact]
    public async Task TransactionIsAtomicUnderConcurrentTraffic()
    {
        var list = Key("tx-list");
        var plain = Enumerable.Range(0, 400).Select(async i =>
        {
            var key = Key($"plain:{i}");
            await Client.SetAsync(key, $"p{i}");
            Assert.Equal($"p{i}", await Client.GetAsync(key));
            await Client.ListRightPushAsync(list, ["x"]);
        });
        var transactions = Enumerable.Range(0, 100).Select(async i =>
        {
            var tx = Client.CreateTransaction();
            var first = tx.ListRightPushAsync(list, [$"t{i}-a"]);
            var second = tx.ListRightPushAsync(list, [$"t{i}-b"]);
            var counter = tx.IncrementAsync(Key("tx-counter"));
            await tx.ExecAsync();
            Assert.True(await second > await first);
            return await counter;
        });

        await Task.WhenAll(plain);
        var counters = await Task.WhenAll(transactions);

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), counters.Order());
        var items = await Client.ListRangeAsync(list);
        Assert.Equal(600, items.Length);
        for (var i = 0; i < items.Length; i++)
        {
            if (items[i].EndsWith("-a", StringComparison.Ordinal))
            {
                Assert.Equal(items[i][..^2] + "-b", items[i + 1]);
            }
        }
    }

    [Fact]
    public async Task TransactionWithARejectedCommandFailsAsAWholeAndAppliesNothing()
    {
        var tx = Client.CreateTransaction();
        var set = tx.SetAsync(Key("tx-bad"), "should-not-exist");
        var bad = tx.ExecuteAsync("NOSUCHCOMMAND", "x");

        await Assert.ThrowsAsync<RedisServerException>(() => tx.ExecAsync());
        await Assert.ThrowsAsync<RedisServerException>(() => set);
        await Assert.ThrowsAsync<RedisServerException>(() => bad);
        if (ServerAbortsTransactionsWithRejectedCommands)
        {
            Assert.Null(await Client.GetAsync(Key("tx-bad")));
        }

        // Whatever the server did, later replies are matched to the right commands.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Client.WaitUntilConnectedAsync(cts.Token);
        var values = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            await Client.SetAsync(Key($"after:{i}"), $"ok{i}");
            return await Client.GetAsync(Key($"after:{i}"));
        }));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"ok{i}"), values);
    }

    [Fact]
    public async Task PublishedMessagesReachTheSubscriberUntilItUnsubscribes()
    {
        var channel = Key("events-channel");
        var received = new System.Collections.Concurrent.ConcurrentQueue<RedisMessage>();
        var subscription = await Client.SubscribeAsync(channel, m =>
        {
            received.Enqueue(m);
            return ValueTask.CompletedTask;
        });

        Assert.Equal(1, await Client.PublishAsync(channel, "call-started"));
        Assert.Equal(1, await Client.PublishAsync(channel, "שלום"));
        await WaitUntilAsync(() => Task.FromResult(received.Count == 2), TimeSpan.FromSeconds(5));
        Assert.Equal(["call-started", "שלום"], received.Select(m => m.Message));
        Assert.All(received, m => Assert.Equal(channel, m.Channel));

        await subscription.DisposeAsync();
        await WaitUntilAsync(async () => await Client.PublishAsync(channel, "after") == 0, TimeSpan.FromSeconds(5));
        Assert.Equal(2, received.Count);
    }

    [Fact]
    public async Task PatternSubscriptionReceivesMessagesOfMatchingChannels()
    {
        var pattern = Key("calls:*");
        var received = new System.Collections.Concurrent.ConcurrentQueue<RedisMessage>();
        await using var subscription = await Client.PatternSubscribeAsync(pattern, m =>
        {
            received.Enqueue(m);
            return ValueTask.CompletedTask;
        });

        Assert.True(subscription.IsPattern);
        Assert.Equal(1, await Client.PublishAsync(Key("calls:CA1"), "started"));
        Assert.Equal(0, await Client.PublishAsync(Key("other:CA1"), "ignored"));
        await WaitUntilAsync(() => Task.FromResult(received.Count == 1), TimeSpan.FromSeconds(5));

        var message = Assert.Single(received);
        Assert.Equal(new RedisMessage(Key("calls:CA1"), "started", pattern), message);
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Condition not met within {timeout.TotalSeconds} s.");
            }
            await Task.Delay(25);
        }
    }
}

public sealed class RedisServerCommandTests(RedisServerFixture server)
    : RedisClientCommandTests(server, ""), IClassFixture<RedisServerFixture>;

public sealed class RedisServerResp3CommandTests(RedisServerFixture server)
    : RedisClientCommandTests(server, ",protocol=resp3"), IClassFixture<RedisServerFixture>;

public sealed class RedisGarnetCommandTests(RedisGarnetServerFixture server)
    : RedisClientCommandTests(server, ""), IClassFixture<RedisGarnetServerFixture>
{
    protected override bool ServerAbortsTransactionsWithRejectedCommands => false;
}
