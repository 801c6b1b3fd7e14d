using System.Text.Json;
using AgentLocator.ServiceDefaults.Hosting;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>Logs the one <c>APP_START</c> line operators grep for after a deploy.</summary>
internal sealed partial class AppStartLogger(BuildInfo build, ILogger<AppStartLogger> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var payload = JsonSerializer.Serialize(new
        {
            service = build.Service,
            commit = build.Commit,
            build_time = build.BuildTime,
            deploy_id = build.DeployId,
            environment = build.Environment,
        });
        LogAppStart(logger, payload);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1001, EventName = "APP_START", Level = LogLevel.Information, Message = "APP_START {Payload}")]
    private static partial void LogAppStart(ILogger logger, string payload);
}
