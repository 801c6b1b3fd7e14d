using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AgentLocator.AppHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgentLocator.Tests.AppHost;

/// <summary>
/// The AppHost's health checks until a resource first passes: one of Aspire's checks keeps trying a port that is not yet
/// listening and passes as soon as it listens, instead of failing and leaving the next try to Aspire's back-off.
/// </summary>
public sealed class PromptHealthChecksTests
{
    [Fact]
    public async Task AServerThatStartsListeningDuringACheckIsSeenHealthyWithinAFewTriesThenAnOutageIsReportedAtOnce()
    {
        // The port is the server's from the start (bound, not listening: a connect is refused), so no other test's server
        // can take it while it is free, as with a port found free and bound again 1.5 s later.
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)server.LocalEndPoint!).Port;
        await using var services = new ServiceCollection()
            .AddLogging()
            .AddHealthChecks().AddAsyncCheck("server", () => AcceptsAsync(port)).Services
            .AddPromptHealthChecks()
            .BuildServiceProvider();
        var health = services.GetRequiredService<HealthCheckService>();

        // The server starts listening 1.5 s into the first check (when that timer fired: it may fire a millisecond early).
        var clock = Stopwatch.StartNew();
        var startsListening = Task.Delay(TimeSpan.FromSeconds(1.5)).ContinueWith(_ =>
        {
            var at = clock.Elapsed;
            server.Listen();
            return at;
        }, TaskScheduler.Default);
        var first = await health.CheckHealthAsync();
        var seenAfter = clock.Elapsed;
        var listening = await startsListening;

        Assert.Equal(HealthStatus.Healthy, first.Status);
        Assert.InRange(seenAfter, listening, listening + PromptHealthChecks.PollInterval * 10);

        // Once it passed, a check is one try: the server going away is reported by the next check, not after a window of tries.
        server.Close();
        clock.Restart();
        var afterOutage = await health.CheckHealthAsync();

        Assert.Equal(HealthStatus.Unhealthy, afterOutage.Status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"the outage took {clock.Elapsed} to report");
    }

    private static async Task<HealthCheckResult> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return HealthCheckResult.Healthy();
        }
        catch (SocketException exception)
        {
            return HealthCheckResult.Unhealthy(exception.SocketErrorCode.ToString());
        }
    }
}
