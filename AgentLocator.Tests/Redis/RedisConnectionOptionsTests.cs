using AgentLocator.Redis;

namespace AgentLocator.Tests.Redis;

public class RedisConnectionOptionsTests
{
    [Fact]
    public void AspireConnectionStringWithEveryOptionIsParsed()
    {
        var options = RedisConnectionOptions.Parse(
            "cache.internal:6380,password=s3cr=t,user=svc,ssl=true,defaultDatabase=2,connectTimeout=1500,syncTimeout=250,abortConnect=false,name=api,protocol=resp3,allowAdmin=true");

        Assert.Equal("cache.internal", options.Host);
        Assert.Equal(6380, options.Port);
        Assert.Equal("s3cr=t", options.Password);
        Assert.Equal("svc", options.User);
        Assert.True(options.Ssl);
        Assert.Equal(2, options.DefaultDatabase);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.ConnectTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.SyncTimeout);
        Assert.False(options.AbortConnect);
        Assert.Equal("api", options.ClientName);
        Assert.True(options.UseResp3);
        Assert.DoesNotContain("s3cr", options.ToString());
    }

    [Theory]
    [InlineData("localhost", "localhost", 6379)]
    [InlineData("127.0.0.1:7000", "127.0.0.1", 7000)]
    [InlineData("[::1]:7001", "::1", 7001)]
    [InlineData(" redis:6379 , ssl=false ", "redis", 6379)]
    public void EndpointDefaultsToPort6379(string connectionString, string host, int port)
    {
        var options = RedisConnectionOptions.Parse(connectionString);

        Assert.Equal(host, options.Host);
        Assert.Equal(port, options.Port);
        Assert.False(options.Ssl);
        Assert.Null(options.Password);
        Assert.Equal(0, options.DefaultDatabase);
    }

    [Theory]
    [InlineData("password=x")]
    [InlineData("host:notaport")]
    [InlineData("host:70000")]
    [InlineData("host:1,ssl=maybe")]
    [InlineData("host:1,defaultDatabase=-1")]
    [InlineData("a:1,b:2")]
    [InlineData("host:1,protocol=resp4")]
    public void InvalidConnectionStringIsRejectedWithAFormatException(string connectionString)
    {
        Assert.Throws<FormatException>(() => RedisConnectionOptions.Parse(connectionString));
    }
}
