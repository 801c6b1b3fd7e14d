using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentLocator.AppHost;

/// <summary>
/// Once every resource is healthy, prints what a newcomer needs in one table: each resource with where it came from and
/// where it answers, the commit and deploy id the services report on /version, and the dashboard's login URL.
/// </summary>
internal sealed partial class StartupSummary(
    DistributedApplicationModel model,
    ResourceNotificationService notifications,
    AppHostSettings settings,
    BuildMetadata build,
    IConfiguration configuration,
    ILogger<StartupSummary> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var resources = model.Resources.Where(IsListed).ToArray();
        try
        {
            foreach (var resource in resources)
            {
                await notifications.WaitForResourceHealthyAsync(resource.Name, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }

        LogSummary(logger, Describe(resources));
    }

    /// <summary>The servers, databases and services; not the dashboard, the init resources or plain parameters.</summary>
    public static bool IsListed(IResource resource) => resource is ProjectResource or IResourceWithConnectionString;

    private string Describe(IEnumerable<IResource> resources)
    {
        var rows = new List<string[]> { new[] { "RESOURCE", "FROM", "ADDRESS" } };
        foreach (var resource in resources)
        {
            rows.Add([resource.Name, From(resource), Address(resource)]);
        }

        var widths = Enumerable.Range(0, 3).Select(column => rows.Max(row => row[column].Length)).ToArray();
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"AgentLocator is up ({settings.Environment}) {StartupTimeline.SinceProcessStarted.TotalSeconds:0.0} s after the AppHost started: commit {build.Commit}, deploy {build.DeployId}")
            .AppendLine()
            .Append(CultureInfo.InvariantCulture, $"  data in {settings.DataDirectory}{(settings.Ephemeral ? " (ephemeral, deleted on exit)" : "")}")
            .AppendLine();
        foreach (var row in rows)
        {
            text.Append("  ").AppendJoin("  ", row.Select((cell, column) => cell.PadRight(widths[column]))).AppendLine();
        }

        if (configuration["ASPNETCORE_URLS"]?.Split(';')[0] is { Length: > 0 } dashboard)
        {
            text.Append(CultureInfo.InvariantCulture, $"  dashboard: {dashboard.TrimEnd('/')}/login?t={configuration["AppHost:BrowserToken"]}").AppendLine();
        }

        return text.Append("  Ctrl+C stops everything.").ToString();
    }

    private string From(IResource resource) => resource switch
    {
        ProjectResource => "project",
        _ when resource.Name is "postgres" or "agentlocator" => settings.Postgres.Mode.ToString().ToLowerInvariant(),
        _ when resource.Name is "redis" => settings.Redis.Mode.ToString().ToLowerInvariant(),
        _ => resource.GetType().Name,
    };

    private static string Address(IResource resource)
    {
        if (resource is IResourceWithEndpoints withEndpoints
            && withEndpoints.Annotations.OfType<EndpointAnnotation>().FirstOrDefault()?.AllocatedEndpoint is { } endpoint)
        {
            return endpoint.UriString;
        }

        return resource is IResourceWithParent { Parent: { } parent } ? $"database on {parent.Name}" : "the given connection string";
    }

    [LoggerMessage(EventId = 1, EventName = "APPHOST_READY", Level = LogLevel.Information, Message = "{Summary}")]
    private static partial void LogSummary(ILogger logger, string summary);
}
