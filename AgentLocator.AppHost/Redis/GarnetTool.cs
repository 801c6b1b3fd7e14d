using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Microsoft.Extensions.Logging;

namespace AgentLocator.AppHost.Redis;

/// <summary>
/// Locates the <c>garnet-server</c> .NET tool pinned in the repository's tool manifest (<c>.config/dotnet-tools.json</c>),
/// restoring it on first use. The server runs as <c>dotnet GarnetServer.dll</c> rather than <c>dotnet tool run</c>, so DCP's
/// stop signal reaches the server itself and not a launcher in between.
/// </summary>
public static class GarnetTool
{
    private const string PackageId = "garnet-server";

    /// <summary>The <c>dotnet</c> running the AppHost (or on PATH).</summary>
    public static string DotnetHost { get; } =
        Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self
        : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : "dotnet";

    public static async Task<string> ResolveAsync(string manifestDirectory, ILogger logger, CancellationToken cancellationToken)
    {
        var manifest = Path.Combine(manifestDirectory, ".config", "dotnet-tools.json");
        var version = File.Exists(manifest)
            ? JsonNode.Parse(await File.ReadAllTextAsync(manifest, cancellationToken).ConfigureAwait(false))?["tools"]?[PackageId]?["version"]?.GetValue<string>()
            : null;
        if (version is null)
        {
            throw new DistributedApplicationException($"{manifest} pins no {PackageId} tool; Redis in embedded mode runs Garnet from it.");
        }

        if (FindEntryPoint(version) is { } installed)
        {
            return installed;
        }

        logger.LogInformation("dotnet tool restore ({Package} {Version}) in {Directory}", PackageId, version, manifestDirectory);
        using var restore = Process.Start(new ProcessStartInfo(DotnetHost, ["tool", "restore"])
        {
            WorkingDirectory = manifestDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var output = restore.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = restore.StandardError.ReadToEndAsync(cancellationToken);
        await restore.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (restore.ExitCode != 0)
        {
            throw new DistributedApplicationException($"dotnet tool restore failed (exit {restore.ExitCode}): {await error.ConfigureAwait(false)}{await output.ConfigureAwait(false)}");
        }

        return FindEntryPoint(version) ?? throw new DistributedApplicationException(
            $"dotnet tool restore succeeded but {PackageId} {version} was not found in {PackagesFolder()}.");
    }

    private static string PackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    /// <summary>The dll named by the tool package's DotnetToolSettings.xml, for the newest target framework it ships.</summary>
    private static string? FindEntryPoint(string version)
    {
        var tools = Path.Combine(PackagesFolder(), PackageId, version.ToLowerInvariant(), "tools");
        if (!Directory.Exists(tools))
        {
            return null;
        }

        foreach (var settings in Directory.GetFiles(tools, "DotnetToolSettings.xml", SearchOption.AllDirectories)
            .OrderByDescending(s => s.Contains($"/net{Environment.Version.Major}.0/", StringComparison.Ordinal)))
        {
            var entryPoint = XDocument.Load(settings).Descendants("Command").FirstOrDefault()?.Attribute("EntryPoint")?.Value;
            var dll = entryPoint is null ? null : Path.Combine(Path.GetDirectoryName(settings)!, entryPoint);
            if (dll is not null && File.Exists(dll))
            {
                return dll;
            }
        }

        return null;
    }
}
