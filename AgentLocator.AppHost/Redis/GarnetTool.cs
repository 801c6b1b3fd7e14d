using System.Text.Json.Nodes;
using System.Xml.Linq;
using AgentLocator.AppHost.Orchestration;
using AgentLocator.AppHost.Processes;

namespace AgentLocator.AppHost.Redis;

/// <summary>
/// Locates the <c>garnet-server</c> .NET tool: the version in the repo's tool manifest (<c>.config/dotnet-tools.json</c>),
/// restored with <c>dotnet tool restore</c>. The AppHost then runs its dll directly (<c>dotnet GarnetServer.dll</c>) rather than
/// through <c>dotnet tool run</c>, which would add a process that the parent-death signal does not reach.
/// </summary>
internal static class GarnetTool
{
    private const string PackageId = "garnet-server";

    public static async Task<string> ResolveAsync(AppHostContext context, string resource, CancellationToken cancellationToken)
    {
        var manifestDirectory = context.Options.RepositoryRoot;
        var version = ManifestVersion(manifestDirectory);
        if (version is null)
        {
            // No repo manifest (yet): keep a private one in the cache, pinned by AppHost:Redis:GarnetVersion.
            version = context.Options.GarnetVersion;
            manifestDirectory = Path.Combine(context.Options.CacheDirectory, "garnet");
            var manifest = Path.Combine(manifestDirectory, ".config", "dotnet-tools.json");
            Directory.CreateDirectory(Path.GetDirectoryName(manifest)!);
            await File.WriteAllTextAsync(manifest, new JsonObject
            {
                ["version"] = 1,
                ["isRoot"] = true,
                ["tools"] = new JsonObject
                {
                    [PackageId] = new JsonObject { ["version"] = version, ["commands"] = new JsonArray(PackageId), ["rollForward"] = false },
                },
            }.ToJsonString(), cancellationToken);
        }

        if (FindEntryPoint(version) is { } installed)
        {
            return installed;
        }

        context.Log.Write(resource, $"dotnet tool restore ({PackageId} {version}) in {manifestDirectory}");
        var (exitCode, output) = await context.RunToolAsync(resource, DotnetHost.Path, ["tool", "restore"], cancellationToken, workingDirectory: manifestDirectory);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"dotnet tool restore failed (exit {exitCode}): {output.Trim()}");
        }

        return FindEntryPoint(version) ?? throw new InvalidOperationException(
            $"dotnet tool restore succeeded but {PackageId} {version} was not found in {PackagesFolder()}.");
    }

    private static string? ManifestVersion(string directory)
    {
        var manifest = Path.Combine(directory, ".config", "dotnet-tools.json");
        if (!File.Exists(manifest))
        {
            return null;
        }

        return JsonNode.Parse(File.ReadAllText(manifest))?["tools"]?[PackageId]?["version"]?.GetValue<string>();
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
