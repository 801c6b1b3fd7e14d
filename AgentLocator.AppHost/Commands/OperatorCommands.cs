using System.Diagnostics;
using AgentLocator.Smoke;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace AgentLocator.AppHost.Commands;

/// <summary>
/// What an operator runs from the dashboard (run mode only): "Simulate a call" on the MediaWorker (a throw-away business,
/// its incoming_call to the Api, then a two-turn call at line speed through the call simulator on the stream that TwiML set
/// up, answered with the call's trace id) and "Run smoke suite" on the Api (the whole GO/NO-GO suite). Both are the smoke
/// suite's own code, run in the AppHost against the services' endpoints, with an operator CRM key the AppHost generates and
/// gives the Api; the report goes to the resource's console log. Budgets are the suite's (override with <c>AppHost:Smoke:*</c>,
/// e.g. <c>AppHost:Smoke:FirstAudioBudget</c>).
/// </summary>
public static class OperatorCommands
{
    public const string SimulateCall = "simulate-call";
    public const string RunSmokeSuite = "run-smoke-suite";

    /// <summary>The operator's CRM key, after any the configuration gives (<c>Crm:ApiKeys</c> binds every index it finds).</summary>
    public const string OperatorKeyVariable = "Crm__ApiKeys__99";

    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan SuiteTimeout = TimeSpan.FromSeconds(180);

    public static IResourceBuilder<ProjectResource> WithOperatorCommands(this IResourceBuilder<ProjectResource> api,
        IResourceBuilder<ProjectResource> mediaworker, AppHostSettings settings, BuildMetadata build)
    {
        if (api.ApplicationBuilder.ExecutionContext.IsPublishMode)
        {
            return api;
        }

        var configuration = api.ApplicationBuilder.Configuration;
        var operatorKey = SecretFile.ReadOrCreate(Path.Combine(settings.DataDirectory, "operator-crm-api.key"), bytes: 24);
        api.WithEnvironment(OperatorKeyVariable, operatorKey);

        SmokeOptions Options()
        {
            var worker = new Uri(mediaworker.GetEndpoint("http").Url);
            var options = new SmokeOptions
            {
                BaseUrl = new Uri(api.GetEndpoint("http").Url),
                // Signatures are computed over the address Twilio is told, when one is configured.
                PublicUrl = configuration["AppHost:PublicBaseUrl"] is { Length: > 0 } ? new Uri(settings.PublicBaseUrl) : null,
                // This graph's MediaWorker, whatever public address the TwiML names.
                MediaUrl = new UriBuilder(worker) { Scheme = "ws", Path = "/ws/twilio-media" }.Uri,
                MediaWorkerUrl = worker,
                ApiKey = operatorKey,
                // What the Api checks webhook signatures with (Production), as the AppHost gives it.
                AuthToken = configuration["AppHost:Resources:api:Env:Twilio__AuthToken"] ?? Environment.GetEnvironmentVariable("Twilio__AuthToken"),
                ExpectCommit = build.Commit,
                ExpectDeployId = build.DeployId,
                // A local graph streams over ws:// whatever its environment.
                AllowInsecureWebSocket = true,
            };
            configuration.GetSection("AppHost:Smoke").Bind(options);
            return options;
        }

        mediaworker.WithCommand(SimulateCall, "Simulate a call", context => SimulateCallAsync(context, Options()), new CommandOptions
        {
            Description = "A throw-away business's incoming_call to the Api, then a two-turn call at line speed on its stream; answers the call's trace id.",
            IconName = "Call",
            UpdateState = WhenHealthy,
        });
        api.WithCommand(RunSmokeSuite, "Run smoke suite", context => RunSmokeSuiteAsync(context, Options()), new CommandOptions
        {
            Description = "The GO/NO-GO smoke suite against this graph: operations, webhooks, a simulated call, prompts, CRM and WhatsApp.",
            IconName = "CheckmarkStarburst",
            UpdateState = WhenHealthy,
        });
        return api;
    }

    private static ResourceCommandState WhenHealthy(UpdateCommandStateContext context) =>
        context.ResourceSnapshot.HealthStatus is HealthStatus.Healthy ? ResourceCommandState.Enabled : ResourceCommandState.Disabled;

    private static async Task<ExecuteCommandResult> SimulateCallAsync(ExecuteCommandContext context, SmokeOptions options)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        timeout.CancelAfter(CallTimeout);
        using var runner = new SmokeRunner(options);
        var report = await runner.RunCallAsync(timeout.Token);
        Log(context, report);
        if (!report.Contains("media.call") || !report["media.call"].Ok || report["media.call"].Skipped)
        {
            return CommandResults.Failure("The simulated call did not go through: " + FirstProblem(report));
        }

        var trace = runner.IncomingCall?.Parameters.TryGetValue("traceparent", out var traceParent) == true
            && ActivityContext.TryParse(traceParent, null, out var parsed) ? parsed.TraceId.ToHexString() : "none";
        return CommandResults.Success($"Call {runner.CallSid}: {report["media.call"].Detail}. Trace {trace}.");
    }

    private static async Task<ExecuteCommandResult> RunSmokeSuiteAsync(ExecuteCommandContext context, SmokeOptions options)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        timeout.CancelAfter(SuiteTimeout);
        var report = await SmokeRunner.RunAsync(options, timeout.Token);
        Log(context, report);
        var counts = $"{report.Checks.Count(c => c.Ok && !c.Skipped)} passed, {report.Failed.Count()} failed, {report.Skipped.Count()} skipped";
        return report.Go
            ? CommandResults.Success($"GO: {counts}.")
            : CommandResults.Failure($"NO-GO: {counts}. {FirstProblem(report)}");
    }

    private static string FirstProblem(SmokeReport report) =>
        report.Failed.FirstOrDefault() is { } failed ? $"{failed.Name}: {failed.Detail}"
        : report.Skipped.FirstOrDefault(c => c.Name.StartsWith("media", StringComparison.Ordinal) || c.Name.StartsWith("webhook", StringComparison.Ordinal)) is { } skipped
            ? $"{skipped.Name} skipped: {skipped.Detail}"
            : "no check failed, but the call was not made";

    /// <summary>The report's table in the resource's console log, where the dashboard shows it.</summary>
    private static void Log(ExecuteCommandContext context, SmokeReport report)
    {
        var logger = context.Services.GetRequiredService<ResourceLoggerService>().GetLogger(context.ResourceName);
        logger.LogInformation("{Report}", SmokeReportWriter.ToTable(report));
    }
}
