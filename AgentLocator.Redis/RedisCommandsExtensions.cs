namespace AgentLocator.Redis;

/// <summary>Typed helpers for the commands the project uses; they work on the client and in transactions.</summary>
public static class RedisCommandsExtensions
{
    public static Task<string?> GetAsync(this IRedisCommands redis, string key, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.Get(key), cancellationToken);

    public static Task<byte[]?> GetBytesAsync(this IRedisCommands redis, string key, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.GetBytes(key), cancellationToken);

    /// <summary>SET key value [PX ms].</summary>
    public static Task<bool> SetAsync(this IRedisCommands redis, string key, string value, TimeSpan? expiry = null, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.Set(key, value, expiry), cancellationToken);

    public static Task<bool> SetAsync(this IRedisCommands redis, string key, byte[] value, TimeSpan? expiry = null, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.Set(key, value, expiry), cancellationToken);

    /// <summary>SET key value NX PX ms: true when this call created the key (a lock, a dedup key).</summary>
    public static Task<bool> SetIfNotExistsAsync(this IRedisCommands redis, string key, string value, TimeSpan expiry, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.SetIfNotExists(key, value, expiry), cancellationToken);

    public static Task<long> DeleteAsync(this IRedisCommands redis, string key, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.Delete(key), cancellationToken);

    public static Task<long> DeleteAsync(this IRedisCommands redis, string[] keys, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.Delete(keys), cancellationToken);

    public static async Task<bool> ExistsAsync(this IRedisCommands redis, string key, CancellationToken cancellationToken = default) =>
        await redis.ExecuteAsync(RedisCommands.Exists(key), cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>EXPIRE (whole seconds) or PEXPIRE; false when the key does not exist.</summary>
    public static Task<bool> ExpireAsync(this IRedisCommands redis, string key, TimeSpan expiry, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.Expire(key, expiry), cancellationToken);

    public static Task<TimeSpan?> TimeToLiveAsync(this IRedisCommands redis, string key, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.TimeToLive(key), cancellationToken);

    /// <summary>
    /// INCRBY. With <paramref name="expiry"/> (a rate-limit window) the counter's expiry is set when the
    /// window starts and never extended: <c>MULTI; SET key 0 NX PX ms; INCRBY key by; EXEC</c>.
    /// </summary>
    public static async Task<long> IncrementAsync(this IRedisCommands redis, string key, long by = 1, TimeSpan? expiry = null, CancellationToken cancellationToken = default)
    {
        if (expiry is not { } window)
        {
            return await redis.ExecuteAsync(RedisCommands.IncrementBy(key, by), cancellationToken).ConfigureAwait(false);
        }
        if (redis is IRedisClient client)
        {
            var transaction = client.CreateTransaction();
            var started = transaction.ExecuteAsync(RedisCommands.SetIfNotExists(key, 0, window), cancellationToken);
            var counter = transaction.ExecuteAsync(RedisCommands.IncrementBy(key, by), cancellationToken);
            await transaction.ExecAsync(cancellationToken).ConfigureAwait(false);
            await started.ConfigureAwait(false);
            return await counter.ConfigureAwait(false);
        }
        _ = redis.ExecuteAsync(RedisCommands.SetIfNotExists(key, 0, window), cancellationToken);
        return await redis.ExecuteAsync(RedisCommands.IncrementBy(key, by), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>HSET key field value [field value …]; returns how many fields were new.</summary>
    public static Task<long> HashSetAsync(this IRedisCommands redis, string key, IEnumerable<KeyValuePair<string, string>> fields, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.HashSet(key, fields), cancellationToken);

    public static Task<long> HashSetAsync(this IRedisCommands redis, string key, string field, string value, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.HashSet(key, [new(field, value)]), cancellationToken);

    public static Task<string?> HashGetAsync(this IRedisCommands redis, string key, string field, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.HashGet(key, field), cancellationToken);

    public static Task<Dictionary<string, string>> HashGetAllAsync(this IRedisCommands redis, string key, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.HashGetAll(key), cancellationToken);

    public static Task<long> HashDeleteAsync(this IRedisCommands redis, string key, string[] fields, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.HashDelete(key, fields), cancellationToken);

    public static Task<bool> SortedSetAddAsync(this IRedisCommands redis, string key, string member, double score, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.SortedSetAdd(key, member, score), cancellationToken);

    public static Task<bool> SortedSetRemoveAsync(this IRedisCommands redis, string key, string member, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.SortedSetRemove(key, member), cancellationToken);

    /// <summary>ZRANGEBYSCORE key min max [LIMIT offset count]; a negative count means no limit.</summary>
    public static Task<string[]> SortedSetRangeByScoreAsync(this IRedisCommands redis, string key, double min, double max, long offset = 0, long count = -1, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.SortedSetRangeByScore(key, min, max, offset, count), cancellationToken);

    public static Task<double?> SortedSetScoreAsync(this IRedisCommands redis, string key, string member, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.SortedSetScore(key, member), cancellationToken);

    public static Task<long> ListLeftPushAsync(this IRedisCommands redis, string key, string[] values, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.ListLeftPush(key, values), cancellationToken);

    public static Task<long> ListRightPushAsync(this IRedisCommands redis, string key, string[] values, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.ListRightPush(key, values), cancellationToken);

    public static Task<string[]> ListRangeAsync(this IRedisCommands redis, string key, long start = 0, long stop = -1, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.ListRange(key, start, stop), cancellationToken);

    public static Task<bool> ListTrimAsync(this IRedisCommands redis, string key, long start, long stop, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.ListTrim(key, start, stop), cancellationToken);

    /// <summary>PUBLISH; returns how many subscribers received the message.</summary>
    public static Task<long> PublishAsync(this IRedisCommands redis, string channel, string message, CancellationToken cancellationToken = default) =>
        redis.ExecuteAsync(RedisCommands.Publish(channel, message), cancellationToken);
}
