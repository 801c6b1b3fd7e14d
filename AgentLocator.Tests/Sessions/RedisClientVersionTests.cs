using System.Reflection;
using System.Xml.Linq;
using AgentLocator.Tests.Twilio;
using StackExchange.Redis;

namespace AgentLocator.Tests.Sessions;

/// <summary>
/// The services run the StackExchange.Redis the project pins, not the older one Aspire's client integration
/// brings along: 2.13 drove its sockets from its own pool of dedicated threads, whose idle workers spun for work
/// and took about half the Api's CPU under webhook load; 3.x does its I/O on the .NET thread pool.
/// </summary>
public sealed class RedisClientVersionTests
{
    [Fact]
    public void TheMultiplexerIsTheStackExchangeRedisVersionPinnedInDirectoryPackagesProps()
    {
        var props = XDocument.Load(Path.Combine(RepositoryRoot.Path, "Directory.Packages.props"));
        var pinned = props.Descendants("PackageVersion")
            .Single(element => (string?)element.Attribute("Include") == "StackExchange.Redis")
            .Attribute("Version")!.Value;

        var loaded = typeof(ConnectionMultiplexer).Assembly
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

        Assert.StartsWith(pinned, loaded);
        Assert.True(typeof(ConnectionMultiplexer).Assembly.GetName().Version!.Major >= 3, $"StackExchange.Redis {loaded} is loaded");
    }
}
