using System.Globalization;
using System.Reflection;
using System.Text.Json.Serialization;

namespace AgentLocator.ServiceDefaults.Hosting;

/// <summary>
/// Which code is running: the commit, when it was built, and which deploy started it.
/// Environment variables injected by the AppHost or the image build win; otherwise the
/// values the .NET SDK stamped into the assembly at build time.
/// </summary>
public sealed record BuildInfo(
    [property: JsonPropertyName("app")] string App,
    [property: JsonPropertyName("service")] string Service,
    [property: JsonPropertyName("commit")] string Commit,
    [property: JsonPropertyName("build_time")] string BuildTime,
    [property: JsonPropertyName("deploy_id")] string DeployId,
    [property: JsonPropertyName("environment")] string Environment)
{
    public const string AppName = "AgentLocator";

    public static BuildInfo Create(string service, string environment, Func<string, string?> getVariable, Assembly? assembly)
    {
        var commit = NonEmpty(getVariable("GIT_COMMIT")) ?? CommitFromInformationalVersion(assembly) ?? "dev";
        var buildTime = NonEmpty(getVariable("BUILD_TIME")) ?? AssemblyTimestamp(assembly) ?? "dev";
        var deployId = NonEmpty(getVariable("DEPLOY_ID")) ?? "dev";
        return new BuildInfo(AppName, service, commit, buildTime, deployId, environment);
    }

    /// <summary>The SDK stamps <c>1.0.0+&lt;full sha&gt;</c> when the project is built inside a git checkout.</summary>
    public static string? CommitFromInformationalVersion(Assembly? assembly)
    {
        var version = assembly?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        var plus = version?.IndexOf('+') ?? -1;
        if (version is null || plus < 0 || plus == version.Length - 1)
        {
            return null;
        }
        return version[(plus + 1)..];
    }

    private static string? AssemblyTimestamp(Assembly? assembly)
    {
        if (assembly is null || string.IsNullOrEmpty(assembly.Location) || !File.Exists(assembly.Location))
        {
            return null;
        }
        return File.GetLastWriteTimeUtc(assembly.Location).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
