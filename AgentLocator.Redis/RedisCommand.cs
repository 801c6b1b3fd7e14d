using AgentLocator.Redis.Protocol;

namespace AgentLocator.Redis;

/// <summary>A command's arguments and how to turn its reply into a typed result.</summary>
public readonly record struct RedisCommand<T>(object[] Args, Func<RespValue, T> Parse);

/// <summary>The typed commands the project uses, shared by the client and transactions.</summary>
public static class RedisCommands
{
    public static RedisCommand<TimeSpan> Ping() => new(["PING"], _ => TimeSpan.Zero);

    public static RedisCommand<string?> Get(string key) => new(["GET", key], static v => v.AsString());

    public static RedisCommand<byte[]?> GetBytes(string key) => new(["GET", key], static v => v.IsNull ? null : v.Bytes ?? throw v.Unexpected("a bulk string"));

    public static RedisCommand<bool> Set(string key, object value, TimeSpan? expiry = null) => new(
        expiry is { } ttl ? ["SET", key, value, "PX", Milliseconds(ttl)] : ["SET", key, value],
        static v => !v.IsNull);

    /// <summary>SET key value NX PX ms: true when the key was set, false when it already existed.</summary>
    public static RedisCommand<bool> SetIfNotExists(string key, object value, TimeSpan expiry) => new(
        ["SET", key, value, "NX", "PX", Milliseconds(expiry)],
        static v => !v.IsNull);

    public static RedisCommand<long> Delete(params string[] keys) => new(["DEL", .. keys], static v => v.AsInt64());

    public static RedisCommand<long> Exists(params string[] keys) => new(["EXISTS", .. keys], static v => v.AsInt64());

    public static RedisCommand<bool> Expire(string key, TimeSpan expiry) =>
        expiry.Ticks % TimeSpan.TicksPerSecond == 0
            ? new(["EXPIRE", key, (long)expiry.TotalSeconds], static v => v.AsInt64() == 1)
            : new(["PEXPIRE", key, Milliseconds(expiry)], static v => v.AsInt64() == 1);

    /// <summary>Remaining time to live; null when the key does not exist or has no expiry.</summary>
    public static RedisCommand<TimeSpan?> TimeToLive(string key) =>
        new(["PTTL", key], static v => v.AsInt64() is var ms and >= 0 ? TimeSpan.FromMilliseconds(ms) : null);

    public static RedisCommand<long> IncrementBy(string key, long by = 1) =>
        by == 1 ? new(["INCR", key], static v => v.AsInt64()) : new(["INCRBY", key, by], static v => v.AsInt64());

    public static RedisCommand<long> HashSet(string key, IEnumerable<KeyValuePair<string, string>> fields)
    {
        var args = new List<object> { "HSET", key };
        foreach (var (field, value) in fields)
        {
            args.Add(field);
            args.Add(value);
        }
        if (args.Count == 2)
        {
            throw new ArgumentException("HSET needs at least one field.", nameof(fields));
        }
        return new([.. args], static v => v.AsInt64());
    }

    public static RedisCommand<string?> HashGet(string key, string field) => new(["HGET", key, field], static v => v.AsString());

    public static RedisCommand<Dictionary<string, string>> HashGetAll(string key) => new(["HGETALL", key], static v =>
    {
        if (v.IsNull)
        {
            return [];
        }
        if (v.Type is not (RespType.Array or RespType.Map) || v.Elements.Count % 2 != 0)
        {
            throw v.Unexpected("a map");
        }
        var result = new Dictionary<string, string>(v.Elements.Count / 2, StringComparer.Ordinal);
        for (var i = 0; i < v.Elements.Count; i += 2)
        {
            result[v.Elements[i].AsString() ?? ""] = v.Elements[i + 1].AsString() ?? "";
        }
        return result;
    });

    public static RedisCommand<long> HashDelete(string key, params string[] fields) => new(["HDEL", key, .. fields], static v => v.AsInt64());

    public static RedisCommand<bool> SortedSetAdd(string key, string member, double score) =>
        new(["ZADD", key, score, member], static v => v.AsInt64() == 1);

    public static RedisCommand<bool> SortedSetRemove(string key, string member) => new(["ZREM", key, member], static v => v.AsInt64() == 1);

    /// <summary>ZRANGEBYSCORE key min max [LIMIT offset count]; <paramref name="count"/> &lt; 0 means no limit.</summary>
    public static RedisCommand<string[]> SortedSetRangeByScore(string key, double min, double max, long offset = 0, long count = -1) => new(
        count < 0 && offset == 0
            ? ["ZRANGEBYSCORE", key, min, max]
            : ["ZRANGEBYSCORE", key, min, max, "LIMIT", offset, count],
        ToStringArray);

    public static RedisCommand<double?> SortedSetScore(string key, string member) =>
        new(["ZSCORE", key, member], static v => v.IsNull ? null : v.AsDouble());

    public static RedisCommand<long> ListLeftPush(string key, params string[] values) => new(["LPUSH", key, .. values], static v => v.AsInt64());

    public static RedisCommand<long> ListRightPush(string key, params string[] values) => new(["RPUSH", key, .. values], static v => v.AsInt64());

    public static RedisCommand<string[]> ListRange(string key, long start, long stop) => new(["LRANGE", key, start, stop], ToStringArray);

    public static RedisCommand<bool> ListTrim(string key, long start, long stop) => new(["LTRIM", key, start, stop], static v => v.AsBoolean());

    public static RedisCommand<long> Publish(string channel, string message) => new(["PUBLISH", channel, message], static v => v.AsInt64());

    private static string[] ToStringArray(RespValue value)
    {
        if (value.IsNull)
        {
            return [];
        }
        if (value.Type is not (RespType.Array or RespType.Set))
        {
            throw value.Unexpected("an array");
        }
        var result = new string[value.Elements.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = value.Elements[i].AsString() ?? "";
        }
        return result;
    }

    private static long Milliseconds(TimeSpan expiry)
    {
        if (expiry <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(expiry), expiry, "Expiry must be positive.");
        }
        return Math.Max(1, (long)Math.Ceiling(expiry.TotalMilliseconds));
    }
}
