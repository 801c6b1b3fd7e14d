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
        var port = FreePort();
        await using var services = new ServiceCollection()
            .AddLogging()
            .AddHealthChecks().AddAsyncCheck("server", () => AcceptsAsync(port)).Services
            .AddPromptHealthChecks()
            .BuildServiceProvider();
        var health = services.GetRequiredService<HealthCheckService>();

        // The server starts listening 1.5 s into the first check.
        var listener = new TcpListener(IPAddress.Loopback, port);
        var startsListening = Task.Delay(TimeSpan.FromSeconds(1.5)).ContinueWith(_ => listener.Start(), TaskScheduler.Default);
        var clock = Stopwatch.StartNew();
        var first = await health.CheckHealthAsync();
        await startsListening;

        Assert.Equal(HealthStatus.Healthy, first.Status);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(1.5) + PromptHealthChecks.PollInterval * 10);

        // Once it passed, a check is one try: the server going away is reported by the next check, not after a window of tries.
        listener.Stop();
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

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
